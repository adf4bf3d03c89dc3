package models

import (
	"strings"
	"unicode"
)

// NormaliseIBAN returns the IBAN in its electronic form: all whitespace
// removed, upper-case: "de89 3704 0044 0532 0130 00" → "DE89370400440532013000".
func NormaliseIBAN(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
}

// ValidIBAN reports whether s, once normalised with NormaliseIBAN (so the
// printed form with spaces is accepted), is a well-formed IBAN under ISO
// 13616: 15 to 34 characters A–Z and 0–9, a two-letter country code, two
// check digits between 02 and 98, and the ISO 7064 MOD 97-10 check (the
// account part followed by the first four characters, letters as 10..35,
// taken as a number, is 1 modulo 97). Country-specific lengths are not
// checked. Store NormaliseIBAN(s), not s.
func ValidIBAN(s string) bool {
	s = NormaliseIBAN(s)
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	if !isUpper(s[0]) || !isUpper(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) {
		return false
	}
	if check := s[2:4]; check == "00" || check == "01" || check == "99" {
		return false
	}
	rem := 0
	for _, c := range []byte(s[4:] + s[:4]) {
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case isUpper(c):
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isUpper reports whether c is an ASCII upper-case letter.
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
