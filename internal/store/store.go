// Package store holds the GORM queries that activities (writes) and the API
// (reads) share, and the versioned schema migrations. It runs on PostgreSQL
// and, for `reallabor dev`, on SQLite, with the same SQL.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"

	"reallabor/internal/telemetry"
	"reallabor/models"

	// modernc.org/sqlite is the pure-Go SQLite driver the embedded Temporal
	// server already links; GORM's SQLite dialector reuses it by driver name.
	_ "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is the SQL database behind a Store.
type Dialect string

// Supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store is the application's database.
type Store struct {
	DB      *gorm.DB
	Dialect Dialect
	// locks are Serialise's locks on SQLite.
	locks sync.Map
	// readers: SQLite's connections for reads outside transactions.
	readers *sql.DB
}

// sqliteReaders is how many reads SQLite serves at once beside its writer.
const sqliteReaders = 4

// Open connects to dsn: a postgres:// URL (or key=value DSN) for PostgreSQL,
// or sqlite:path / file:path for an embedded SQLite file. It does not migrate.
func Open(dsn string) (*Store, error) {
	cfg := &gorm.Config{Logger: logger.Discard, NowFunc: func() time.Time { return time.Now().UTC() },
		// The caller pings, retrying a briefly unreachable database.
		DisableAutomaticPing: true,
		// GORM's performance settings: a single write needs no transaction
		// of its own (those that must be atomic open one). Statements are
		// prepared once per connection by the drivers' caches, in
		// transactions too, which GORM's PrepareStmt is not (stmtcache.go).
		SkipDefaultTransaction: true}
	switch {
	case strings.HasPrefix(dsn, "sqlite:") || strings.HasPrefix(dsn, "file:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if path == "" {
			return nil, fmt.Errorf("DATABASE_URL %q names no SQLite file", dsn)
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_txlock", "immediate")
		db, err := gorm.Open(sqlite.Dialector{DriverName: cachedSQLite(), DSN: "file:" + filepath.ToSlash(path) + "?" + q.Encode()}, cfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		// One writer at a time is SQLite's model; one connection keeps
		// transactions strictly serialised.
		sqlDB.SetMaxOpenConns(1)
		// Reads outside a transaction go to connections of their own, which
		// WAL lets read beside the writer (each sees what was committed
		// before it began): behind the one writer they queued for its
		// commits, a third of the time an action waited (docs/measurements.md).
		// GORM's own read/write splitting (dbresolver) routes them.
		r := url.Values{}
		r.Add("_pragma", "busy_timeout(10000)")
		r.Add("_pragma", "query_only(1)")
		readers, err := sql.Open(cachedSQLite(), "file:"+filepath.ToSlash(path)+"?"+r.Encode())
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s for reading: %w", path, err)
		}
		readers.SetMaxOpenConns(sqliteReaders)
		readers.SetMaxIdleConns(sqliteReaders)
		if err := db.Use(dbresolver.Register(dbresolver.Config{
			Replicas: []gorm.Dialector{sqlite.Dialector{DriverName: cachedSQLite(), Conn: readers}},
		})); err != nil {
			return nil, fmt.Errorf("sqlite readers: %w", err)
		}
		countStatements(db)
		return &Store{DB: db, Dialect: SQLite, readers: readers}, nil
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") || strings.Contains(dsn, "host="):
		if _, err := url.Parse(dsn); err != nil && !strings.Contains(dsn, "host=") {
			return nil, fmt.Errorf("DATABASE_URL is not a valid URL: %w", err)
		}
		db, err := gorm.Open(postgres.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		countStatements(db)
		return &Store{DB: db, Dialect: Postgres}, nil
	default:
		return nil, fmt.Errorf("DATABASE_URL must start with postgres://, postgresql:// or sqlite: (got %s)", redact(dsn))
	}
}

// redact hides a password in a connection string for error messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if len(dsn) > 12 {
			return dsn[:12] + "…"
		}
		return dsn
	}
	return u.Redacted()
}

// Close closes the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	if s.readers != nil {
		_ = s.readers.Close()
	}
	return sqlDB.Close()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Migrate applies every pending migration and returns how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return 0, err
	}
	n, err := migrate(ctx, sqlDB, s.Dialect)
	if err != nil {
		return n, err
	}
	if err := s.backfillOrganisations(ctx); err != nil {
		return n, fmt.Errorf("organisations from names: %w", err)
	}
	if err := s.backfillNextDue(ctx); err != nil {
		return n, fmt.Errorf("next due dates from states: %w", err)
	}
	if err := s.backfillCalls(ctx); err != nil {
		return n, fmt.Errorf("calls from states: %w", err)
	}
	return n, nil
}

// MigrateTo applies the migrations up to version only (no backfill): for
// tests that write data as an earlier version did, then migrate it.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	p, err := provider(sqlDB, s.Dialect)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	dialect := goose.DialectPostgres
	if d == SQLite {
		dialect = goose.DialectSQLite3
	}
	fsys, err := migrationsFor(d)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

func migrate(ctx context.Context, db *sql.DB, d Dialect) (int, error) {
	p, err := provider(db, d)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	return len(res), nil
}

// classifyDB marks what the database refused for its content (SQLSTATE
// classes 22, data exceptions, and 23, integrity constraint violations, on
// PostgreSQL; constraint, size and type errors on SQLite) as models.ErrData:
// retrying cannot fix them, so no caller should.
func classifyDB(err error) error {
	if err == nil || errors.Is(err, models.ErrData) {
		return err
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23")) {
		return fmt.Errorf("%w: %w", models.ErrData, err)
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff { // primary result code
		case 18, 19, 20: // SQLITE_TOOBIG, SQLITE_CONSTRAINT, SQLITE_MISMATCH
			return fmt.Errorf("%w: %w", models.ErrData, err)
		}
	}
	return err
}

// translate maps storage errors to domain sentinels.
func translate(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.ErrNotFound
	}
	return err
}

// Serialise runs fn while holding the lock named key, across every process
// on the database (a PostgreSQL advisory lock for the length of a
// transaction; on SQLite, which one process serves, a lock in this
// process). fn does its own reads and writes (the transaction only holds
// the lock).
func (s *Store) Serialise(ctx context.Context, key string, fn func() error) error {
	if s.Dialect != Postgres {
		v, _ := s.locks.LoadOrStore(key, &sync.Mutex{})
		mu := v.(*sync.Mutex)
		mu.Lock()
		defer mu.Unlock()
		return fn()
	}
	var fnErr error
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", key).Error; err != nil {
			return fmt.Errorf("lock %s: %w", key, err)
		}
		fnErr = fn()
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// countStatements counts every statement GORM sends (telemetry), not the
// BEGIN and COMMIT around transactions.
func countStatements(db *gorm.DB) {
	count := func(db *gorm.DB) { telemetry.StatementSQL(db.Statement.SQL.String()) }
	cb := db.Callback()
	_ = cb.Create().After("gorm:create").Register("telemetry:create", count)
	_ = cb.Query().After("gorm:query").Register("telemetry:query", count)
	_ = cb.Update().After("gorm:update").Register("telemetry:update", count)
	_ = cb.Delete().After("gorm:delete").Register("telemetry:delete", count)
	_ = cb.Row().After("gorm:row").Register("telemetry:row", count)
	_ = cb.Raw().After("gorm:raw").Register("telemetry:raw", count)
}
