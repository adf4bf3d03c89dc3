package store_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// TestSQLiteReadsBesideAWrite: on SQLite a read is answered while a write
// is still open (it does not queue behind the one writer), sees what was
// committed before it and not what the open write has yet to commit; once
// committed, the next read sees it.
func TestSQLiteReadsBesideAWrite(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	p := seedProgramme(t, st, 10_000)
	id := p.ID + "-r"
	seedApplication(t, st, p.ID, id, 1)
	writing, read := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- st.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&models.ApplicationRecord{}).Where("id = ?", id).Update("title", "changed").Error; err != nil {
				return err
			}
			close(writing)
			select { // held open until the read is answered
			case <-read:
				return nil
			case <-time.After(30 * time.Second):
				return context.DeadlineExceeded
			}
		})
	}()
	<-writing
	before, err := st.Application(ctx, id, store.Scope{})
	close(read)
	storetest.Must(t, err)
	if before.Title != "t "+id {
		t.Errorf("read during the write = %q, want the title committed before it", before.Title)
	}
	if err := <-done; err != nil {
		t.Fatalf("the write waited for the read to end: %v (the read queued behind it)", err)
	}
	after, err := st.Application(ctx, id, store.Scope{})
	storetest.Must(t, err)
	if after.Title != "changed" {
		t.Errorf("read after the write = %q, want the committed title", after.Title)
	}
}
