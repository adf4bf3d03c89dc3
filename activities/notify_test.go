package activities

import (
	"strings"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/models"
)

// TestRenderEscapesAndSpeaksTheUsersLanguage: a mail is German unless the
// user chose English, carries text and HTML, and a title cannot inject
// markup into the HTML.
func TestRenderEscapesAndSpeaksTheUsersLanguage(t *testing.T) {
	due := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	n := store.Notification{ID: "ntf-1", ApplicationID: "app-1", Kind: "review_reminder", Title: `<script>alert(1)</script> Café`,
		Expected: "vote before the review deadline", DueAt: &due}
	de := render(n, models.User{Name: "Rita", Email: "rita@x.test"}, "https://grants.example")
	if !strings.Contains(de.Subject, "Erinnerung: Votum ausstehend") || !strings.Contains(de.Text, "Guten Tag Rita") ||
		!strings.Contains(de.Text, "bis 2027-03-01") || !strings.Contains(de.Text, "https://grants.example/api/v1/applications/app-1") {
		t.Errorf("German mail:\n%s\n%s", de.Subject, de.Text)
	}
	if strings.Contains(de.HTML, "<script>") || !strings.Contains(de.HTML, "&lt;script&gt;") {
		t.Errorf("HTML not escaped:\n%s", de.HTML)
	}
	en := render(n, models.User{Name: "Rita", Email: "rita@x.test", Language: "en"}, "https://grants.example")
	if !strings.Contains(en.Subject, "Reminder: your vote is due") || !strings.Contains(en.Text, "Hello Rita") {
		t.Errorf("English mail:\n%s\n%s", en.Subject, en.Text)
	}
	for _, kind := range store.NotifiedKinds() {
		if _, ok := kindTexts[kind]; !ok {
			t.Errorf("notified kind %s has no mail text", kind)
		}
	}
}
