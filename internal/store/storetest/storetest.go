// Package storetest gives tests a fresh, migrated database of their own on
// the real PostgreSQL (TEST_DATABASE_URL, default 127.0.0.1:5432), or an
// SQLite file for the dialect tests. PostgreSQL being unreachable fails the
// test loudly: tests never skip it silently.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the driver GORM's postgres dialector uses

	"reallabor/internal/store"
)

// AdminURL is the PostgreSQL server the tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewPostgresURL creates an empty database for this test and drops it when
// the test ends; it returns its URL.
func NewPostgresURL(tb testing.TB) string {
	tb.Helper()
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		tb.Fatalf("open %s: %v", AdminURL(), err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		tb.Fatalf("PostgreSQL at %s is unreachable (start it, or set TEST_DATABASE_URL): %v", AdminURL(), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "reallabor_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", AdminURL())
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// New returns a migrated store on a fresh PostgreSQL database.
func New(tb testing.TB) *store.Store {
	tb.Helper()
	return open(tb, NewPostgresURL(tb))
}

// NewSQLite returns a migrated store on a fresh SQLite file.
func NewSQLite(tb testing.TB) *store.Store {
	tb.Helper()
	return open(tb, "sqlite:"+filepath.Join(tb.TempDir(), "test.db"))
}

func open(tb testing.TB, dsn string) *store.Store {
	tb.Helper()
	st, err := store.Open(dsn)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return st
}

// Must fails the test on err.
func Must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(fmt.Errorf("unexpected error: %w", err))
	}
}

// Unavailable makes the store's PostgreSQL database refuse every connection
// and ends the open ones, as a database that went away would; the returned
// function lets connections in again.
func Unavailable(tb testing.TB, st *store.Store) (restore func()) {
	tb.Helper()
	var name string
	if err := st.DB.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		tb.Fatalf("database name: %v", err)
	}
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		tb.Fatalf("open %s: %v", AdminURL(), err)
	}
	if _, err := admin.Exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false"); err != nil {
		tb.Fatalf("close %s: %v", name, err)
	}
	if _, err := admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		tb.Fatalf("end connections to %s: %v", name, err)
	}
	return func() {
		defer admin.Close()
		if _, err := admin.Exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true"); err != nil {
			tb.Errorf("reopen %s: %v", name, err)
		}
	}
}

// Unmigrated returns a store on a fresh database (PostgreSQL, or SQLite if
// sqlite) with no migration applied.
func Unmigrated(tb testing.TB, sqlite bool) *store.Store {
	tb.Helper()
	dsn := "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
	if !sqlite {
		dsn = NewPostgresURL(tb)
	}
	st, err := store.Open(dsn)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}
