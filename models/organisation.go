package models

import (
	"strings"
	"time"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Organisation is an entry of the registry: a company, association or
// public body. Users belong to one by id, groups name their members by id,
// and conflicts of interest are decided by id.
type Organisation struct {
	ID        string `gorm:"primaryKey" json:"id"`
	Name      string `json:"name"`
	LegalForm string `json:"legal_form,omitempty"`
	// RegisterNumber is the commercial register entry, e.g. "HRB 12345,
	// Amtsgericht Berlin (Charlottenburg)"; unique when given.
	RegisterNumber string    `json:"register_number,omitempty"`
	Key            string    `json:"-"`
	CreatedAt      time.Time `json:"created_at"`
}

// NormaliseRegisterNumber is the form register numbers are compared in:
// NFKC, upper case, runs of spaces as one.
func NormaliseRegisterNumber(s string) string {
	return strings.Join(strings.Fields(strings.ToUpper(norm.NFKC.String(s))), " ")
}

// legalForms are the suffixes (and a few prefixes) that name a company's legal
// form, not the company: "Bäckerei Schmidt GmbH" is "Bäckerei Schmidt".
// Each is a sequence of tokens after punctuation is dropped.
var legalForms = [][]string{
	{"gmbh", "co", "kg"}, {"gmbh", "co", "kgaa"}, {"ug", "haftungsbeschrankt"}, {"ug", "haftungsbeschraenkt"},
	{"gmbh"}, {"mbh"}, {"ag"}, {"kg"}, {"kgaa"}, {"ohg"}, {"gbr"}, {"ug"}, {"ek"}, {"e", "k"}, {"ev"}, {"e", "v"},
	{"eg"}, {"e", "g"}, {"se"}, {"partg"}, {"partgmbb"}, {"ltd"}, {"limited"}, {"llc"}, {"inc"}, {"plc"}, {"co"}, {"corp"},
	{"sarl"}, {"sa"}, {"bv"}, {"nv"}, {"srl"}, {"spa"}, {"oy"}, {"ab"}, {"as"}, {"aps"},
}

// germanFold writes umlauts as German does without them (ß is folded by
// case folding already).
var germanFold = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue")

// OrganisationKey is the form in which two names are matched as the same
// organisation, so a conflict of interest cannot be dodged by spelling:
// Unicode NFKC, format characters dropped (zero-width spaces, soft hyphens,
// joiners), case folded, umlauts written out, punctuation dropped, legal-form
// suffixes stripped, and each word reduced to its confusable skeleton
// (Unicode TR39: a Cyrillic "а" is a Latin "a").
func OrganisationKey(name string) string {
	s := norm.NFKC.String(name)
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	s = germanFold.Replace(cases.Fold().String(s))
	// Letters and digits only; everything else separates words.
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) })
	for i, w := range words {
		// The skeleton maps look-alikes onto one prototype; compare in the
		// skeleton's case-folded NFKC form, so "а" and "a" meet.
		words[i] = germanFold.Replace(cases.Fold().String(norm.NFKC.String(confusables.Skeleton(w))))
	}
	words = stripLegalForms(words)
	return strings.Join(words, " ")
}

// stripLegalForms drops legal forms at the end (repeatedly: "GmbH & Co. KG")
// and at the start of the words, unless nothing would be left.
func stripLegalForms(words []string) []string {
	for changed := true; changed; {
		changed = false
		for _, f := range legalForms {
			if len(words) > len(f) && equalWords(words[len(words)-len(f):], f) {
				words, changed = words[:len(words)-len(f)], true
				break
			}
			if len(words) > len(f) && equalWords(words[:len(f)], f) {
				words, changed = words[len(f):], true
				break
			}
		}
	}
	return words
}

func equalWords(a []string, b []string) bool {
	for i := range a {
		if a[i] != skeletonOf(b[i]) {
			return false
		}
	}
	return true
}

// skeletonOf is a legal-form word as OrganisationKey writes words.
func skeletonOf(w string) string {
	return germanFold.Replace(cases.Fold().String(norm.NFKC.String(confusables.Skeleton(w))))
}

// SameOrganisation says whether two names name one organisation.
func SameOrganisation(a, b string) bool {
	ka, kb := OrganisationKey(a), OrganisationKey(b)
	return ka != "" && ka == kb
}

// Touches says whether the organisation is one of the group's, matched by
// OrganisationKey: what decides a reviewer's conflict of interest.
func (g Group) Touches(organisation string) bool {
	for _, n := range g.Organisations() {
		if SameOrganisation(n, organisation) {
			return true
		}
	}
	return false
}
