package authz

import (
	"errors"
	"testing"
	"time"
)

type action struct {
	Actor string `json:"actor"`
	Role  string `json:"role"`
	Score int    `json:"score"`
}

func TestSealAndVerify(t *testing.T) {
	k1 := Generate("k1")
	old, err := Parse(k1)
	if err != nil {
		t.Fatal(err)
	}
	both, err := Parse(Generate("k2") + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
	in := action{Actor: "u-rita", Role: "reviewer", Score: 4}
	s, err := old.Seal("application-1", "submit-review", in, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Verify("application-1", "submit-review", in, s, now); err != nil {
		t.Fatalf("Verify(sealed action) = %v, want nil", err)
	}
	tests := []struct {
		name     string
		keys     *Keys
		wf, act  string
		in       action
		seal     Seal
		at       time.Time
		wantFail bool
	}{
		{"same", old, "application-1", "submit-review", in, s, now, false},
		{"another actor", old, "application-1", "submit-review", action{"u-eve", "reviewer", 4}, s, now, true},
		{"another role", old, "application-1", "submit-review", action{"u-rita", "admin", 4}, s, now, true},
		{"another score", old, "application-1", "submit-review", action{"u-rita", "reviewer", 5}, s, now, true},
		{"another application", old, "application-2", "submit-review", in, s, now, true},
		{"another action", old, "application-1", "cancel", in, s, now, true},
		{"expired", old, "application-1", "submit-review", in, s, now.Add(2 * time.Minute), true},
		{"expiry moved", old, "application-1", "submit-review", in, Seal{KeyID: s.KeyID, Expires: now.Add(time.Hour), MAC: s.MAC}, now, true},
		{"unsealed", old, "application-1", "submit-review", in, Seal{}, now, true},
		{"no keys", nil, "application-1", "submit-review", in, s, now, true},
		{"old key still listed after rotation", both, "application-1", "submit-review", in, s, now, false},
	}
	for _, tt := range tests {
		err := tt.keys.Verify(tt.wf, tt.act, tt.in, tt.seal, tt.at)
		if (err != nil) != tt.wantFail {
			t.Errorf("%s: Verify = %v, want failure %v", tt.name, err, tt.wantFail)
		}
		if err != nil && !errors.Is(err, ErrUnsealed) {
			t.Errorf("%s: Verify = %v, want ErrUnsealed", tt.name, err)
		}
	}
	rotated, _ := both.Seal("application-1", "submit-review", in, time.Time{})
	if rotated.KeyID != "k2" {
		t.Errorf("seal after rotation made with %s, want the current key k2", rotated.KeyID)
	}
	if err := old.Verify("application-1", "submit-review", in, rotated, now); err == nil {
		t.Errorf("a seal of a key the verifier does not hold verified")
	}
	for _, bad := range []string{"", "k1", "k1:short", Generate("k1") + "," + Generate("k1")} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = nil error, want refused", bad)
		}
	}
}
