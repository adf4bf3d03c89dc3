package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"reallabor/api"
	"reallabor/internal/store"
	"reallabor/models"
)

func mustAdmin(t testing.TB, st *store.Store, token string) models.User {
	t.Helper()
	u := models.User{ID: uuid.NewString(), Name: "admin", Role: models.RoleAdmin, TokenHash: api.HashToken(token), CreatedAt: time.Now()}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// mustUser creates a user in the store and returns its token.
func mustUser(t testing.TB, st *store.Store, role, org string) string {
	t.Helper()
	_, token, err := api.NewUser(context.Background(), st, "", role, models.Role(role), "", org, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func do(srv *api.Server, method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	return rec
}
