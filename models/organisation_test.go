package models

import "testing"

func TestSameOrganisation(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"Bäckerei Schmidt", "Bäckerei Schmidt", true},
		{"Bäckerei Schmidt", "  bäckerei   SCHMIDT ", true},
		{"Bäckerei Schmidt", "Bäcke\u200brei Schmidt", true}, // zero-width space
		{"Bäckerei Schmidt", "Bäcke\u00adrei Schmidt", true}, // soft hyphen
		{"Bäckerei Schmidt", "Bäckerei Schmidt\u200d", true}, // zero-width joiner
		{"Cafe Mitte", "C\u0430fe Mitte", true},              // Cyrillic а
		{"Cafe Mitte", "Cafe Mitte GmbH", true},              // legal form
		{"Bäckerei Schmidt GmbH", "Bäckerei Schmidt GmbH & Co. KG", true},
		{"Bäckerei Schmidt", "Baeckerei Schmidt e.K.", true}, // umlaut written out, e.K.
		{"Buchladen Eck", "Buchladen Eck UG (haftungsbeschränkt)", true},
		{"Stadtwerke Musterstadt", "Stadtwerke Musterstadt AG", true},
		{"Straßenbau Nord", "STRASSENBAU NORD GMBH", true},
		{"Ｃａｆｅ Ｍｉｔｔｅ", "Cafe Mitte", true},       // full-width letters (NFKC)
		{"Café Mitte", "Cafe\u0301 Mitte", true}, // composed and combining accent
		{"Cafe Mitte", "Cafe Mitte Süd", false},
		{"Bäckerei Schmidt", "Bäckerei Schmitt", false},
		{"Stadtwerke", "IHK", false},
		{"GmbH", "AG", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := SameOrganisation(tt.a, tt.b); got != tt.same {
			t.Errorf("SameOrganisation(%q, %q) = %v, want %v (keys %q, %q)", tt.a, tt.b, got, tt.same, OrganisationKey(tt.a), OrganisationKey(tt.b))
		}
	}
}
