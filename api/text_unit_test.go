package api

import "testing"

func TestBadText(t *testing.T) {
	tests := []struct {
		in        string
		multiline bool
		bad       bool
	}{
		{"Click & Collect Altstadt", false, false},
		{"Bäckerei Schmidt — „Stadt“ €", false, false},
		{"line one\nline two\ttabbed\r\n", true, false},
		{"line one\nline two", false, true},
		{"tab\tin a title", false, true},
		{"nul\x00", true, true},
		{"bell\x07", true, true},
		{"del\x7f", true, true},
		{"c1\u0085", true, true},
		{"not utf-8 \xff", true, true},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := badText(tt.in, tt.multiline) != ""; got != tt.bad {
			t.Errorf("badText(%q, multiline=%v) bad = %v, want %v", tt.in, tt.multiline, got, tt.bad)
		}
	}
}
