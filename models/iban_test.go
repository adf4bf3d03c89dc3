package models

import "testing"

func TestValidIBAN(t *testing.T) {
	tests := []struct {
		iban string
		want bool
	}{
		{"DE89370400440532013000", true},
		{"GB82WEST12345698765432", true},
		{"FR1420041010050500013M02606", true},
		{"NL91ABNA0417164300", true},
		{"NO9386011117947", true},                 // 15, the shortest
		{"MT84MALT011000012345MTLCAST001S", true}, // 31, letters in the account
		{"de89 3704 0044 0532 0130 00", true},     // printed form
		{"DE89370400440532013001", false},         // last digit wrong
		{"DE89370400440532031000", false},         // digits swapped
		{"GB82WEST12345698765423", false},
		{"DE8937040044053201300", false}, // digit missing
		{"", false},
		{"garbage", false},
		{"DE89", false},
		{"1289370400440532013000", false},              // country not letters
		{"DEAB370400440532013000", false},              // check digits not digits
		{"DE89370400440532013-00", false},              // not alphanumeric
		{"DE89370400440532013ä00", false},              // not ASCII
		{"DE893704004405320130001234567890123", false}, // 35 characters
		{"DE00370400440532013000", false},              // check digits 00 never valid
	}
	for _, tt := range tests {
		if got := ValidIBAN(tt.iban); got != tt.want {
			t.Errorf("ValidIBAN(%q) = %v, want %v", tt.iban, got, tt.want)
		}
	}
}

func TestNormaliseIBAN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"DE89370400440532013000", "DE89370400440532013000"},
		{" de89 3704\t0044 0532 0130 00 ", "DE89370400440532013000"},
		{"gb82 west 1234 5698 7654 32", "GB82WEST12345698765432"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormaliseIBAN(tt.in); got != tt.want {
			t.Errorf("NormaliseIBAN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
