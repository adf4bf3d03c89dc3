package encryption

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func TestCodec(t *testing.T) {
	k1 := Generate("k1")
	old, err := Parse(k1)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := Parse(Generate("k2") + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"iban": "DE89370400440532013000"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := old.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc[0].Data, []byte("DE89")) {
		t.Fatalf("encoded payload holds the IBAN in clear")
	}
	for name, c := range map[string]*Codec{"same key": old, "after rotation": rotated} {
		dec, err := c.Decode(enc)
		if err != nil || !bytes.Equal(dec[0].Data, plain.Data) || string(dec[0].Metadata["encoding"]) != "json/plain" {
			t.Errorf("%s: Decode = %v %v, want the plain payload back", name, dec, err)
		}
	}
	// New payloads use the first key; a codec without it cannot read them.
	enc2, _ := rotated.Encode([]*commonpb.Payload{plain})
	if string(enc2[0].Metadata["encryption-key-id"]) != "k2" {
		t.Errorf("rotated codec encrypts with %s, want k2", enc2[0].Metadata["encryption-key-id"])
	}
	if _, err := old.Decode(enc2); err == nil {
		t.Errorf("a codec without k2 decoded a k2 payload")
	}
	// Payloads from before encryption pass through (earlier histories replay).
	if dec, err := old.Decode([]*commonpb.Payload{plain}); err != nil || dec[0] != plain {
		t.Errorf("plain payload through Decode = %v %v, want it unchanged", dec, err)
	}
	// Tampering is detected.
	enc[0].Data[len(enc[0].Data)-1] ^= 1
	if _, err := old.Decode(enc); err == nil {
		t.Errorf("tampered payload decoded")
	}
	for _, bad := range []string{"", "k1", "k1:c2hvcnQ=", k1 + "," + k1} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestCodecEndpoint(t *testing.T) {
	c, _ := Parse(Generate("k1"))
	plain, _ := converter.GetDefaultDataConverter().ToPayload("Rita votes approve")
	enc, _ := c.Encode([]*commonpb.Payload{plain})
	srv := httptest.NewServer(c.Handler("http://127.0.0.1:8233"))
	defer srv.Close()
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: srv.URL})
	dec, err := remote.Decode(enc)
	if err != nil || !bytes.Equal(dec[0].Data, plain.Data) {
		t.Fatalf("codec endpoint decode = %v %v, want the plain payload", dec, err)
	}
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", "http://127.0.0.1:8233")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Origin"), "8233") {
		t.Errorf("preflight = %d %v, want 204 allowing the UI", resp.StatusCode, resp.Header)
	}
}
