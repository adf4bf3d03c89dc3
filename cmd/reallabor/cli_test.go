package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
	var out bytes.Buffer
	p := &program{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if err := p.run(context.Background(), []string{"frobnicate"}); err == nil {
		t.Errorf("an unknown command succeeded")
	}
}
