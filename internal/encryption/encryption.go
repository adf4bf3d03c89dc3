// Package encryption keeps what workflows carry (IBANs, votes, comments,
// reports) unreadable in Temporal: a payload codec (AES-256-GCM) that the
// API's and the workers' Temporal clients encode and decode every payload
// with, keys by id so they can be rotated, and the codec endpoint the
// Temporal Web UI calls to show payloads to operators who may see them.
// Payloads written before encryption pass through unchanged, so earlier
// histories replay.
package encryption

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"reallabor/internal/keyring"
)

// Metadata of an encrypted payload.
const (
	metadataEncoding = "encoding"
	encodingName     = "binary/encrypted"
	metadataKeyID    = "encryption-key-id"
)

// Codec encrypts payloads with the current key and decrypts with any listed.
type Codec struct {
	current string
	aeads   map[string]cipher.AEAD
}

// Parse reads keys written as "id:base64key[,id:base64key...]" (32-byte
// keys, AES-256), the first being the one new payloads are encrypted with
// (REALLABOR_PAYLOAD_KEYS).
func Parse(s string) (*Codec, error) {
	list, err := keyring.Parse("payload key", s, keyring.Size, keyring.Size)
	if err != nil {
		return nil, err
	}
	c := &Codec{current: list[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, key := range list {
		block, err := aes.NewCipher(key.Raw)
		if err != nil {
			return nil, err
		}
		if c.aeads[key.ID], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Generate makes a fresh key with the given id, written as Parse reads it.
func Generate(id string) string { return keyring.Generate(id) }

// Encode encrypts each payload whole (its metadata included).
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("encode payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{metadataEncoding: []byte(encodingName), metadataKeyID: []byte(c.current)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(c.current)),
		}
	}
	return out, nil
}

// Decode decrypts what Encode wrote; other payloads pass through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metadataEncoding]) != encodingName {
			out[i] = p
			continue
		}
		id := string(p.Metadata[metadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("payload encrypted with key %q, which is not listed", id)
		}
		if len(p.Data) < aead.NonceSize() {
			return payloads, fmt.Errorf("encrypted payload too short")
		}
		nonce, sealed := p.Data[:aead.NonceSize()], p.Data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, []byte(id))
		if err != nil {
			return payloads, fmt.Errorf("decrypt payload: %w", err)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return payloads, fmt.Errorf("decode payload: %w", err)
		}
		out[i] = &dec
	}
	return out, nil
}

// DataConverter is the SDK's default converter with payloads encrypted.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// Handler is the codec endpoint the Temporal Web UI (or `temporal
// --codec-endpoint`) sends payloads to for display: POST /decode and
// /encode. Only for operators: serve it where only they reach it. Browsers
// call it from the UI's origins, which allowOrigins name (CORS).
func (c *Codec) Handler(allowOrigins ...string) http.Handler {
	h := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(allowOrigins, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Vary", "Origin")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}
