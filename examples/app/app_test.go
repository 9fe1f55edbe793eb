package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/jobs"
)

func TestDatabaseSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, wantDriver, wantPath string
	}{
		{"", "sqlite", "file:data/app.db?"},
		{"sqlite:///var/lib/app.db", "sqlite", "file:/var/lib/app.db?"},
		{"sqlite://rel.db", "sqlite", "file:rel.db?"},
		{"sqlite3:///tmp/x.db?cache=shared", "sqlite", "file:/tmp/x.db?"},
		{"file:local.db", "sqlite", "file:local.db?"},
		{"postgres://u@db:5432/app?sslmode=disable", "pgx", "postgres://u@db:5432/app?sslmode=disable"},
	}
	for _, tt := range tests {
		d, dsn, err := crud.DataSource(databaseURL(tt.url, "data"))
		driver := map[crud.Dialect]string{crud.Postgres: "pgx", crud.SQLite: "sqlite"}[d]
		if err != nil || driver != tt.wantDriver || !strings.HasPrefix(dsn, tt.wantPath) || strings.Count(dsn, "?") > 1 {
			t.Errorf("DataSource(databaseURL(%q)) = %q, %q, %v; want %q, %q…", tt.url, driver, dsn, err, tt.wantDriver, tt.wantPath)
		}
	}
}

func TestQueueWeights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    map[string]jobs.QueueConfig
		wantErr string
	}{
		{spec: "email=3, default", want: map[string]jobs.QueueConfig{"email": {Priority: 3}, "default": {Priority: 1}}},
		{spec: "image=2,,", want: map[string]jobs.QueueConfig{"image": {Priority: 2}}},
		{spec: "email=0", wantErr: "positive integer"},
		{spec: "email=x", wantErr: "positive integer"},
		{spec: " , ", wantErr: "names no queue"},
	}
	for _, tt := range tests {
		got, err := queueWeights(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("queueWeights(%q) = %v, %v; want error %q", tt.spec, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("queueWeights(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
		}
	}
}
