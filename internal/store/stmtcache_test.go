package store

import (
	"context"
	"path/filepath"
	"testing"

	"gorm.io/gorm"
)

// TestSQLiteParsesAStatementOncePerConnection: the same statements run in
// one transaction after another are prepared once on the writer, not once
// per transaction (as GORM's PrepareStmt did), and give the same answers.
func TestSQLiteParsesAStatementOncePerConnection(t *testing.T) {
	st, err := Open("sqlite:" + filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	if err := st.DB.Exec("CREATE TABLE counters (id TEXT PRIMARY KEY, n INTEGER NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	if err := st.DB.Exec("INSERT INTO counters (id, n) VALUES ('a', 0)").Error; err != nil {
		t.Fatal(err)
	}
	before := statementsPrepared.Load()
	for i := 1; i <= 20; i++ {
		err := st.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("UPDATE counters SET n = n + 1 WHERE id = ?", "a").Error; err != nil {
				return err
			}
			var n int
			if err := tx.Raw("SELECT n FROM counters WHERE id = ?", "a").Scan(&n).Error; err != nil {
				return err
			}
			if n != i {
				t.Errorf("transaction %d reads n = %d", i, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := statementsPrepared.Load() - before; got != 2 {
		t.Errorf("20 transactions of 2 statements prepared %d statements, want 2 (once each)", got)
	}
}

// TestSQLiteRunsAStatementInsideItsOwnRows: a statement run again while its
// own rows are still open (a query inside another's loop) gets a statement
// of its own and both answer in full.
func TestSQLiteRunsAStatementInsideItsOwnRows(t *testing.T) {
	st, err := Open("sqlite:" + filepath.Join(t.TempDir(), "nested.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.DB.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY)").Error; err != nil {
		t.Fatal(err)
	}
	if err := st.DB.Exec("INSERT INTO items (id) VALUES (1), (2), (3)").Error; err != nil {
		t.Fatal(err)
	}
	const q = "SELECT id FROM items WHERE id >= ? ORDER BY id"
	err = st.DB.Transaction(func(tx *gorm.DB) error {
		rows, err := tx.Raw(q, 1).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		var outer, inner []int
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				return err
			}
			outer = append(outer, id)
			var ids []int
			if err := tx.Raw(q, id).Scan(&ids).Error; err != nil {
				return err
			}
			inner = append(inner, len(ids))
		}
		if len(outer) != 3 || inner[0] != 3 || inner[1] != 2 || inner[2] != 1 {
			t.Errorf("outer rows %v, inner counts %v; want [1 2 3] and [3 2 1]", outer, inner)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}
