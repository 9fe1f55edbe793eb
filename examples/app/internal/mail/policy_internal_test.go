package mail

import (
	"testing"

	gomail "github.com/wneessen/go-mail"
)

// TestTLSPolicyResolution checks the policy each configuration speaks with;
// a non-loopback server cannot be reached from the tests, so this is where
// "STARTTLS required away from loopback" is pinned down.
func TestTLSPolicyResolution(t *testing.T) {
	tests := []struct {
		host   string
		policy TLSPolicy
		want   gomail.TLSPolicy
	}{
		{host: "smtp.example.com", policy: TLSAuto, want: gomail.TLSMandatory},
		{host: "10.0.0.5", policy: TLSAuto, want: gomail.TLSMandatory},
		{host: "localhost", policy: TLSAuto, want: gomail.TLSOpportunistic},
		{host: "LOCALHOST", policy: TLSAuto, want: gomail.TLSOpportunistic},
		{host: "127.0.0.1", policy: TLSAuto, want: gomail.TLSOpportunistic},
		{host: "127.8.9.10", policy: TLSAuto, want: gomail.TLSOpportunistic},
		{host: "::1", policy: TLSAuto, want: gomail.TLSOpportunistic},
		{host: "localhost.example.com", policy: TLSAuto, want: gomail.TLSMandatory},
		{host: "127.0.0.1", policy: TLSRequired, want: gomail.TLSMandatory},
		{host: "smtp.example.com", policy: TLSDisabled, want: gomail.NoTLS},
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.policy.String(), func(t *testing.T) {
			s, err := NewSMTP(SMTPConfig{Host: tt.host, From: "a@example.com", TLS: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			if s.policy != tt.want {
				t.Errorf("NewSMTP(%s, %s) speaks %s; want %s", tt.host, tt.policy, s.policy, tt.want)
			}
		})
	}
}
