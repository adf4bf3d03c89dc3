package store

import (
	"bytes"
	"fmt"
	"io/fs"
	"testing/fstest"
)

// migrationsFor returns the migrations for a dialect. The files are written
// for PostgreSQL; the one difference SQLite needs is handled here: its driver
// recognises time columns only by the plain type name TIMESTAMP.
func migrationsFor(d Dialect) (fs.FS, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if d != SQLite {
		return sub, nil
	}
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(sub, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		b = bytes.ReplaceAll(b, []byte("TIMESTAMP WITH TIME ZONE"), []byte("TIMESTAMP"))
		out[e.Name()] = &fstest.MapFile{Data: b, Mode: 0o444}
	}
	return out, nil
}
