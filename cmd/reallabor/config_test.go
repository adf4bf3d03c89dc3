package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"reallabor/internal/authz"
	"reallabor/internal/encryption"
	"reallabor/internal/store/storetest"
)

// TestBadSettingsFailClearly: a bad setting ends start-up with one error that
// names the setting, not a stack trace, and without waiting forever.
func TestBadSettingsFailClearly(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	pg := storetest.NewPostgresURL(t)
	keys := authz.Generate("k1")
	payload := encryption.Generate("p1")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unparsable database url", []string{"serve"}, map[string]string{"DATABASE_URL": "mysql://nope", "REALLABOR_SIGNING_KEYS": keys, "REALLABOR_PAYLOAD_KEYS": payload}, "DATABASE_URL"},
		{"serve without database", []string{"serve"}, nil, "DATABASE_URL is required"},
		{"serve without signing keys", []string{"serve"}, map[string]string{"DATABASE_URL": pg}, "REALLABOR_SIGNING_KEYS is required"},
		{"worker without signing keys", []string{"worker"}, map[string]string{"DATABASE_URL": pg}, "REALLABOR_SIGNING_KEYS is required"},
		{"short signing key", []string{"worker"}, map[string]string{"DATABASE_URL": pg, "REALLABOR_SIGNING_KEYS": "k1:c2hvcnQ="}, "REALLABOR_SIGNING_KEYS"},
		{"worker without payload keys", []string{"worker"}, map[string]string{"DATABASE_URL": pg, "REALLABOR_SIGNING_KEYS": keys}, "REALLABOR_PAYLOAD_KEYS is required"},
		{"database unreachable", []string{"worker", "--startup-timeout=1s"},
			map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x?sslmode=disable", "REALLABOR_SIGNING_KEYS": keys, "REALLABOR_PAYLOAD_KEYS": payload}, "DATABASE_URL: database unreachable"},
		// A database that answers and refuses the setting: at once, not after
		// the start-up timeout.
		{"no such database", []string{"worker", "--startup-timeout=10m"},
			map[string]string{"DATABASE_URL": noSuchDatabase(pg), "REALLABOR_SIGNING_KEYS": keys, "REALLABOR_PAYLOAD_KEYS": payload}, "does not exist"},
		{"no such role", []string{"migrate", "--startup-timeout=10m"},
			map[string]string{"DATABASE_URL": noSuchRole(pg)}, "nobody_here"},
		{"temporal unreachable", []string{"serve", "--http=127.0.0.1:0", "--startup-timeout=1s", "--temporal-address=127.0.0.1:1"},
			map[string]string{"DATABASE_URL": pg, "REALLABOR_SIGNING_KEYS": keys, "REALLABOR_PAYLOAD_KEYS": payload}, "TEMPORAL_ADDRESS 127.0.0.1:1: temporal unreachable"},
		{"http port in use", []string{"dev", "--http=" + busy.Addr().String(), "--data-dir=" + t.TempDir()}, nil, "HTTP_ADDR"},
		{"temporal port in use", []string{"dev", "--http=127.0.0.1:0", "--temporal-address=" + busy.Addr().String(), "--data-dir=" + t.TempDir()}, nil,
			"temporal frontend address"},
		{"bad log level", []string{"dev", "--log-level=loud"}, nil, "LOG_LEVEL"},
		{"short admin token", []string{"dev"}, map[string]string{"REALLABOR_ADMIN_TOKEN": "short"}, "REALLABOR_ADMIN_TOKEN"},
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			p := &program{stdout: &out, stderr: &out, getenv: func(k string) string { return tt.env[k] }}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := p.run(ctx, tt.args)
			if err == nil {
				t.Fatalf("run(%v) succeeded, want an error naming %q", tt.args, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%v) = %q, want it to name %q", tt.args, err, tt.want)
			}
			if strings.HasPrefix(tt.name, "no such") && strings.Contains(err.Error(), "unreachable") {
				t.Errorf("a database that refused the setting was retried: %q", err)
			}
			if strings.Contains(err.Error(), "goroutine") || strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error is not one clear line: %q", err)
			}
		})
	}
}

// TestGrpcCompression: no gzip towards this host, gzip towards another,
// unless TEMPORAL_GRPC_COMPRESSION says; a bad value is refused.
func TestGrpcCompression(t *testing.T) {
	for _, c := range []struct {
		addr, setting string
		none          bool
	}{
		{"127.0.0.1:7233", "", true}, {"localhost:7233", "", true}, {"[::1]:7233", "", true},
		{"temporal:7233", "", false}, {"10.0.0.5:7233", "", false},
		{"temporal:7233", "none", true}, {"127.0.0.1:7233", "gzip", false},
	} {
		_, none := grpcCompression(config{TemporalAddress: c.addr, TemporalCompression: c.setting}).(*client.GrpcCompressionNone)
		if none != c.none {
			t.Errorf("%s with %q: no compression = %v, want %v", c.addr, c.setting, none, c.none)
		}
	}
	env := map[string]string{"TEMPORAL_GRPC_COMPRESSION": "brotli"}
	if _, err := parseConfig("dev", nil, func(k string) string { return env[k] }, io.Discard); err == nil {
		t.Error("TEMPORAL_GRPC_COMPRESSION=brotli accepted")
	}
}

// noSuchDatabase is url with a database that does not exist.
func noSuchDatabase(url string) string {
	i := strings.LastIndex(url, "/")
	rest := ""
	if q := strings.IndexByte(url[i:], '?'); q >= 0 {
		rest = url[i+q:]
	}
	return url[:i] + "/no_such_database_here" + rest
}

// noSuchRole is url with a user that does not exist.
func noSuchRole(url string) string {
	scheme, rest, _ := strings.Cut(url, "://")
	if at := strings.IndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://nobody_here@" + rest
}
