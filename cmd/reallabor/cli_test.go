package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gofrs/flock"
)

// TestVersionAndHelp: --version names the build; a subcommand's -h prints
// its flags and succeeds (exit 0), as does help.
func TestVersionAndHelp(t *testing.T) {
	for _, tt := range []struct {
		args       []string
		out, notIn string
	}{
		{[]string{"--version"}, "reallabor ", ""},
		{[]string{"version"}, "(go1.", ""},
		{[]string{"help"}, "commands:", ""},
		{[]string{"serve", "-h"}, "-database-url", ""},
		{[]string{"migrate", "--help"}, "-database-url", ""},
	} {
		var out bytes.Buffer
		p := &program{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		if err := p.run(context.Background(), tt.args); err != nil {
			t.Errorf("%v: %v, want success", tt.args, err)
		}
		if !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v printed %q, want %q in it", tt.args, out.String(), tt.out)
		}
	}
	// Each command's help lists its own flags, not the others'.
	for _, tt := range []struct {
		cmd       string
		has, hasn []string
	}{
		{"dev", []string{"-data-dir", "-ui-address", "-seed", "-http"}, []string{"-health-address", "-codec-address", "-startup-timeout"}},
		{"serve", []string{"-http", "-codec-address", "-startup-timeout", "-rate-limit"}, []string{"-data-dir", "-seed", "-health-address", "-ui-address"}},
		{"worker", []string{"-health-address", "-database-url", "-temporal-address"}, []string{"-http", "-rate-limit", "-data-dir", "-codec-address"}},
		{"migrate", []string{"-database-url", "-log-level"}, []string{"-http", "-temporal-address", "-health-address", "-seed"}},
	} {
		var out bytes.Buffer
		p := &program{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		if err := p.run(context.Background(), []string{tt.cmd, "-h"}); err != nil {
			t.Errorf("%s -h: %v, want success", tt.cmd, err)
		}
		lists := func(f string) bool { return regexp.MustCompile(`(?m)^\s+` + f + `(\s|$)`).MatchString(out.String()) }
		for _, f := range tt.has {
			if !lists(f) {
				t.Errorf("%s -h does not list %s:\n%s", tt.cmd, f, out.String())
			}
		}
		for _, f := range tt.hasn {
			if lists(f) {
				t.Errorf("%s -h lists %s, a flag it does not take", tt.cmd, f)
			}
		}
	}
	var out bytes.Buffer
	p := &program{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if err := p.run(context.Background(), []string{"frobnicate"}); err == nil {
		t.Errorf("an unknown command succeeded")
	}
}

// TestSecondDevRefused: a second dev on the same data directory refuses to
// start, naming the directory, instead of sharing its SQLite files.
func TestSecondDevRefused(t *testing.T) {
	dir := t.TempDir()
	first := flock.New(filepath.Join(dir, "dev.lock"))
	if ok, err := first.TryLock(); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	defer first.Unlock()
	var out bytes.Buffer
	p := &program{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	err := p.run(context.Background(), []string{"dev", "--data-dir=" + dir, "--http=127.0.0.1:0", "--log-level=error"})
	if err == nil || !strings.Contains(err.Error(), "in use by another reallabor dev") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second dev: %v", err)
	}
}
