// Package keyring reads and makes the key lists the product's secrets are
// set as: "id:base64key[,id:base64key...]". The first key is current (it
// makes new seals and ciphertexts); the others stay listed so what they made
// stays readable while a key is rotated out.
package keyring

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// Size is the length of the keys Generate makes (bytes).
const Size = 32

// Key is one key of a list.
type Key struct {
	ID  string
	Raw []byte
}

// Parse reads a key list named what (for messages; the keys themselves are
// never shown) whose keys are minBytes to maxBytes long.
func Parse(what, s string, minBytes, maxBytes int) ([]Key, error) {
	var out []Key
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("%s %q: want id:base64key", what, id+":…")
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(b64)
		}
		if err != nil || len(raw) < minBytes || len(raw) > maxBytes {
			return nil, fmt.Errorf("%s %s: want %s, base64", what, id, sizes(minBytes, maxBytes))
		}
		if seen[id] {
			return nil, fmt.Errorf("%s id %s given twice", what, id)
		}
		seen[id] = true
		out = append(out, Key{ID: id, Raw: raw})
	}
	return out, nil
}

func sizes(lo, hi int) string {
	if lo == hi {
		return fmt.Sprintf("%d bytes", lo)
	}
	return fmt.Sprintf("at least %d bytes", lo)
}

// Generate makes a fresh key with the given id, written as Parse reads it.
func Generate(id string) string {
	b := make([]byte, Size)
	_, _ = rand.Read(b)
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}
