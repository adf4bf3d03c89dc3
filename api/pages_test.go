package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"reallabor/api"
	"reallabor/internal/store/storetest"
)

// TestListsPageByCursor: /disbursements and /users come in pages; walking
// the cursor yields every row once; the disbursement totals describe the
// whole filter on every page; a bad limit is 422.
func TestListsPageByCursor(t *testing.T) {
	st := storetest.New(t)
	if err := st.SeedScale(context.Background(), 2, 30); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Store: st, Temporal: downTemporal{}, Keys: testKeys(t)})
	admin, _ := api.NewToken()
	mustAdmin(t, st, admin)
	for i := range 4 {
		mustUser(t, st, "reviewer", fmt.Sprintf("Kammer %d", i))
	}
	type page struct {
		Items []struct {
			ID          string `json:"id"`
			AmountCents int64  `json:"amount_cents"`
		} `json:"items"`
		Next  string `json:"next_cursor"`
		Count int64  `json:"count"`
		Total int64  `json:"total_cents"`
	}
	walk := func(path string) (ids []string, pages []page) {
		cursor := ""
		for range 100 {
			rec := do(srv, "GET", path+"&cursor="+cursor, admin, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d: %s", path, rec.Code, rec.Body)
			}
			var p page
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				ids = append(ids, it.ID)
			}
			pages = append(pages, p)
			if p.Next == "" {
				return ids, pages
			}
			cursor = p.Next
		}
		t.Fatalf("GET %s never reached its last page", path)
		return nil, nil
	}
	ids, pages := walk("/api/v1/disbursements?limit=7")
	seen := map[string]bool{}
	var sum int64
	for i, id := range ids {
		if seen[id] || (i > 0 && ids[i-1] >= id) {
			t.Errorf("disbursement %s repeated or out of order", id)
		}
		seen[id] = true
	}
	for _, p := range pages {
		for _, it := range p.Items {
			sum += it.AmountCents
		}
		if p.Count != 90 || p.Total != 90*33333 {
			t.Errorf("page totals = %d / %d, want 90 disbursements and %d cents on every page", p.Count, p.Total, 90*33333)
		}
	}
	if len(ids) != 90 || len(pages) != 13 || sum != 90*33333 {
		t.Errorf("walked %d disbursements in %d pages (sum %d), want 90 in 13", len(ids), len(pages), sum)
	}
	users, upages := walk("/api/v1/users?limit=2")
	if len(users) != 5 || len(upages) != 3 {
		t.Errorf("walked %d users in %d pages, want 5 in 3", len(users), len(upages))
	}
	for _, bad := range []string{"/api/v1/disbursements?limit=0", "/api/v1/disbursements?limit=501", "/api/v1/users?limit=x"} {
		if rec := do(srv, "GET", bad, admin, ""); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("GET %s = %d, want 422", bad, rec.Code)
		}
	}
}
