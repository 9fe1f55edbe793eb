package middleware

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// IPExtractor returns the [echo.IPExtractor] a server must set on
// echo.Echo.IPExtractor (leaving it unset makes echo believe any
// X-Forwarded-For a client sends).
//
// With no trusted proxies it returns echo's ExtractIPDirect: the client is
// the TCP peer. With trusted proxies (CIDRs such as "10.0.0.0/8" or single
// addresses) X-Forwarded-For is read only when the TCP peer is one of them,
// walking the header from the right and stopping at the first address that
// is not a trusted proxy (echo's ExtractIPFromXFFHeader with loopback,
// link-local and private ranges NOT trusted by default). A request without
// the header, or from an untrusted peer, costs no parsing at all.
//
// It returns an error wrapping [ErrInvalidConfig] for an unparsable entry.
func IPExtractor(trustedProxies []string) (echo.IPExtractor, error) {
	if len(trustedProxies) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	nets := make([]*net.IPNet, 0, len(trustedProxies))
	for _, p := range trustedProxies {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			ip := net.ParseIP(p)
			if ip == nil {
				return nil, fmt.Errorf("%w: trusted proxy %q is not an IP or CIDR", ErrInvalidConfig, p)
			}
			bits := 128
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("%w: trusted proxy %q: %v", ErrInvalidConfig, p, err)
		}
		nets = append(nets, n)
	}
	if len(nets) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range nets {
		opts = append(opts, echo.TrustIPRange(n))
	}
	xff := echo.ExtractIPFromXFFHeader(opts...)
	direct := echo.ExtractIPDirect()
	return func(req *http.Request) string {
		ip := direct(req)
		if len(req.Header[echo.HeaderXForwardedFor]) == 0 {
			return ip
		}
		if parsed := net.ParseIP(ip); parsed == nil || !trusted(nets, parsed) {
			return ip // an untrusted peer's header is ignored
		}
		return xff(req)
	}, nil
}

func trusted(nets []*net.IPNet, ip net.IP) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ipKey is the rate-limit key of the address ip: IPv4 by its first v4Bits
// bits, IPv6 by its first v6Bits, IPv4-mapped IPv6 as IPv4. A full IPv4
// address (the common case) costs no parsing; a string that is not an
// address is returned as it is (the limiter bounds its length).
func ipKey(ip string, v4Bits, v6Bits int) string {
	v6 := strings.IndexByte(ip, ':') >= 0
	if !v6 && v4Bits == 32 {
		return ip
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.WithZone("").Unmap()
	bits := v6Bits
	if a.Is4() {
		if v4Bits == 32 {
			return a.String()
		}
		bits = v4Bits
	} else if bits == 128 {
		return a.String()
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}
