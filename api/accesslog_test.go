package api_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"reallabor/api"
	"reallabor/internal/store/storetest"
)

// lockedBuffer is a log sink the handler may write from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAccessLogTellsTheStatus: the access log's line of a request the API
// answers with an error carries that status, as the metrics count it.
func TestAccessLogTellsTheStatus(t *testing.T) {
	var out lockedBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := api.New(api.Config{Store: storetest.New(t), Temporal: downTemporal{}, Keys: testKeys(t), Logger: log})
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/api/v1/me", ""},              // 401
		{"GET", "/api/v1/nothing-here", ""},    // 401 before routing to nothing
		{"GET", "/healthz", ""},                // 200
		{"POST", "/api/v1/programmes", "{bad"}, // 401 (no token)
	} {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		line := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, "msg=request") && strings.Contains(l, "path="+tt.path+" ") {
				line = l
			}
		}
		if want := "status=" + strconv.Itoa(rec.Code); !strings.Contains(line, want) {
			t.Errorf("%s %s answered %d; the access log says %q", tt.method, tt.path, rec.Code, line)
		}
	}
}
