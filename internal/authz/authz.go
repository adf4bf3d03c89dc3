// Package authz seals the actions the API has authorised, so the workflows
// act only on those: Temporal itself trusts whoever can reach its frontend.
// A seal is an HMAC-SHA256, under a key shared by API and worker, over the
// workflow id, the action's name, its expiry and the action's content (who
// acts, in which role, with what). Keys have ids, so a key can be rotated:
// seals are made with the current key and checked with any key still listed.
package authz

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"reallabor/internal/keyring"
)

// Seal is an action's authorisation by the API.
type Seal struct {
	KeyID string `json:"key_id,omitempty"`
	// Expires: after it the seal is void (zero: never, for the start of an
	// application, which the workflow checks once and records).
	Expires time.Time `json:"expires,omitempty"`
	MAC     string    `json:"mac,omitempty"`
}

// ErrUnsealed reports that the action carries no valid seal of ours.
var ErrUnsealed = errors.New("not authorised by the API")

// Keys are the HMAC keys by id; the first is the one seals are made with.
type Keys struct {
	current string
	keys    map[string][]byte
}

// Parse reads keys written as "id:base64key[,id:base64key...]" (at least
// 32 bytes each), the first being current (REALLABOR_SIGNING_KEYS).
func Parse(s string) (*Keys, error) {
	list, err := keyring.Parse("signing key", s, keyring.Size, 1<<10)
	if err != nil {
		return nil, err
	}
	k := &Keys{current: list[0].ID, keys: map[string][]byte{}}
	for _, key := range list {
		k.keys[key.ID] = key.Raw
	}
	return k, nil
}

// Derive is a key for another purpose (the console's session cookies, say)
// from each signing key, the current one's first: what one signing key
// made, only it reads, and a retired key's cookies still read until it is
// taken off the list.
func (k *Keys) Derive(purpose string) [][]byte {
	if k == nil {
		return nil
	}
	derive := func(key []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("reallabor derived key\x00" + purpose))
		return m.Sum(nil)
	}
	out := [][]byte{derive(k.keys[k.current])}
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		if id != k.current {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		out = append(out, derive(k.keys[id]))
	}
	return out
}

// Generate makes a fresh key with the given id, written as Parse reads it.
func Generate(id string) string { return keyring.Generate(id) }

// mac is the seal's code over what it binds.
func mac(key []byte, workflowID, action string, expires time.Time, content any) (string, error) {
	body, err := json.Marshal(content)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", action, err)
	}
	h := hmac.New(sha256.New, key)
	exp := ""
	if !expires.IsZero() {
		exp = expires.UTC().Format(time.RFC3339Nano)
	}
	for _, part := range [][]byte{[]byte(workflowID), []byte(action), []byte(exp), body} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)), nil
}

// Seal authorises action on the workflow with content (which must not hold
// the seal itself), until expires (zero: no expiry).
func (k *Keys) Seal(workflowID, action string, content any, expires time.Time) (Seal, error) {
	if k == nil {
		return Seal{}, errors.New("no signing keys")
	}
	m, err := mac(k.keys[k.current], workflowID, action, expires, content)
	if err != nil {
		return Seal{}, err
	}
	return Seal{KeyID: k.current, Expires: expires, MAC: m}, nil
}

// Verify checks s authorises action on the workflow with content at now.
func (k *Keys) Verify(workflowID, action string, content any, s Seal, now time.Time) error {
	if k == nil || s.MAC == "" {
		return ErrUnsealed
	}
	key, ok := k.keys[s.KeyID]
	if !ok {
		return fmt.Errorf("%w: unknown key %q", ErrUnsealed, s.KeyID)
	}
	want, err := mac(key, workflowID, action, s.Expires, content)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(want), []byte(s.MAC)) {
		return fmt.Errorf("%w: the seal does not match the action", ErrUnsealed)
	}
	if !s.Expires.IsZero() && now.After(s.Expires) {
		return fmt.Errorf("%w: the seal expired at %s", ErrUnsealed, s.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}
