package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"sync/atomic"
)

// SQLite's statements are parsed once per connection, in transactions too.
//
// GORM's PrepareStmt caches a statement first prepared inside a
// transaction on that transaction, and database/sql prepares such a
// statement again in every later transaction (Tx.StmtContext re-prepares
// a statement that belongs to a transaction: go-gorm/gorm#4644,
// golang/go#28130). Every write of an application is a transaction, so in
// a CPU profile a tenth of the product's time went to SQLite's parser.
// modernc.org/sqlite's connections parse each statement they execute
// directly; this wrapper keeps each connection's prepared statements by
// their text, the way pgx's statement cache does for PostgreSQL, so GORM
// runs without PrepareStmt on both databases.

// sqliteCachedDriver is the driver name of modernc.org/sqlite behind the cache.
const sqliteCachedDriver = "sqlite-cached"

// stmtCacheSize bounds the statements one connection keeps (the product's
// writes use about sixty texts; an IN list's length makes a new one).
const stmtCacheSize = 256

var registerCached sync.Once

// cachedSQLite registers the caching driver once and returns its name.
func cachedSQLite() string {
	registerCached.Do(func() {
		db, err := sql.Open("sqlite", "")
		if err != nil {
			panic("modernc.org/sqlite is not registered: " + err.Error())
		}
		sql.Register(sqliteCachedDriver, cachingDriver{inner: db.Driver()})
		_ = db.Close()
	})
	return sqliteCachedDriver
}

// statementsPrepared counts the statements the cache prepared (tests).
var statementsPrepared atomic.Int64

type cachingDriver struct{ inner driver.Driver }

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	sc, ok := c.(sqliteConn)
	if !ok {
		return c, nil
	}
	return &cachingConn{sqliteConn: sc, stmts: map[string]*cachedStmt{}}, nil
}

// sqliteConn is what modernc.org/sqlite's connection offers database/sql.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// sqliteRows is what modernc.org/sqlite's rows offer database/sql.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachingConn is one connection with its statements. database/sql never
// uses a connection from two goroutines at once (rows included), so the
// map needs no lock.
type cachingConn struct {
	sqliteConn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt sqliteStmt
	// busy: its rows are still open (a query inside another's loop runs
	// on a statement of its own).
	busy bool
}

// cached returns the connection's statement for query, prepared on first
// use; nil when it is in use or cannot be kept.
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	s, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ss, ok := s.(sqliteStmt)
	if !ok {
		_ = s.Close()
		return nil, nil
	}
	statementsPrepared.Add(1)
	if len(c.stmts) >= stmtCacheSize {
		for q, old := range c.stmts {
			if !old.busy {
				_ = old.stmt.Close()
				delete(c.stmts, q)
				break
			}
		}
	}
	cs := &cachedStmt{stmt: ss}
	c.stmts[query] = cs
	return cs, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	sr, ok := rows.(sqliteRows)
	if !ok {
		// Rows that would hide their column types: answered uncached.
		_ = rows.Close()
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	cs.busy = true
	return &cachedRows{sqliteRows: sr, cs: cs}, nil
}

// Close closes the connection's statements, then the connection.
func (c *cachingConn) Close() error {
	for q, cs := range c.stmts {
		_ = cs.stmt.Close()
		delete(c.stmts, q)
	}
	return c.sqliteConn.Close()
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	sqliteRows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	r.cs.busy = false
	return err
}
