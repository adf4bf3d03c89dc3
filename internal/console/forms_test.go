package console

import "testing"

// TestParseEuro: amounts as people type them, in German and English, to
// the cent; anything else is refused, never guessed.
func TestParseEuro(t *testing.T) {
	for _, tt := range []struct {
		in    string
		cents int64
		ok    bool
	}{
		{"20000", 2_000_000, true},
		{"20.000,00", 2_000_000, true},
		{"20,000.00", 2_000_000, true},
		{"20.000", 2_000_000, true},
		{"1234,5", 123_450, true},
		{"0,01", 1, true},
		{"€ 1.500,25", 150_025, true},
		{"1 500,25 EUR", 150_025, true},
		{"", 0, false},
		{"12a", 0, false},
		{"-5", 0, false},
		{"1,2,3", 0, false},
		{"1.234.567,89", 123_456_789, true},
		{"12.34.56", 0, false},
		{"99999999999999", 0, false},
	} {
		got, ok := parseEuro(tt.in)
		if ok != tt.ok || (ok && got != tt.cents) {
			t.Errorf("parseEuro(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.cents, tt.ok)
		}
	}
}
