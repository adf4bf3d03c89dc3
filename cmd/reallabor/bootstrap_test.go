package main

import (
	"context"
	"errors"
	"testing"

	"reallabor/api"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// TestBootstrapTokenOnlyWhileSet: the bootstrap admin token signs in while
// REALLABOR_ADMIN_TOKEN is set, and no longer once the setting is removed.
func TestBootstrapTokenOnlyWhileSet(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	if err := ensureAdminToken(ctx, st, adminToken); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UserByTokenHash(ctx, api.HashToken(adminToken)); err != nil {
		t.Fatalf("bootstrap token while set: %v, want it to sign in", err)
	}
	if err := ensureAdminToken(ctx, st, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UserByTokenHash(ctx, api.HashToken(adminToken)); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("bootstrap token after the setting was removed: %v, want unknown", err)
	}
	// Set again, it works again.
	if err := ensureAdminToken(ctx, st, adminToken); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UserByTokenHash(ctx, api.HashToken(adminToken)); err != nil {
		t.Fatalf("bootstrap token set again: %v", err)
	}
	// Changed, the old value stops working and the new one signs in.
	if err := ensureAdminToken(ctx, st, adminToken+"-rotated"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UserByTokenHash(ctx, api.HashToken(adminToken)); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("old bootstrap token after the setting changed: %v, want unknown", err)
	}
	if _, _, err := st.UserByTokenHash(ctx, api.HashToken(adminToken+"-rotated")); err != nil {
		t.Fatalf("new bootstrap token: %v", err)
	}
}
