package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"reallabor/internal/store"
)

const idempotencyHeader = "Idempotency-Key"

// redactSecrets keeps a new user's token out of the stored response: tokens
// are shown once and stored only hashed. A replay answers without it.
func redactSecrets(route string, body []byte) string {
	switch route {
	case "/api/v1/users", "/api/v1/users/:id/token", "/api/v1/me/token", "/api/v1/me/tokens", "/api/v1/users/:id/tokens",
		"/api/v1/me/tokens/:token_id/rotation", "/api/v1/webhooks":
	default:
		return string(body)
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return string(body)
	}
	delete(m, "token")
	delete(m, "secret")
	out, _ := json.Marshal(m)
	return string(out)
}

// capture keeps a copy of what a handler writes.
type capture struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *capture) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

// idempotent makes a POST with an Idempotency-Key answer a repeat with the
// first response; the same key with another body is a 422, and a repeat while
// the first is still running a 409.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(idempotencyHeader)
		if c.Request().Method != http.MethodPost || key == "" {
			return next(c)
		}
		if len(key) > 200 {
			return problem(http.StatusBadRequest, "Idempotency-Key is longer than 200 characters")
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return problem(http.StatusRequestEntityTooLarge, "request body too large")
			}
			return err
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(append([]byte(c.Request().Method+" "+c.Request().URL.Path+"\n"), body...))
		hash := hex.EncodeToString(sum[:])
		u := userOf(c)
		ctx := c.Request().Context()
		rec, found, err := s.cfg.Store.ClaimIdempotencyKey(ctx, u.ID, key, hash)
		if err != nil {
			return err
		}
		if found {
			switch {
			case rec.RequestHash != hash:
				return problem(http.StatusUnprocessableEntity, "this Idempotency-Key was used with a different request")
			case rec.StatusCode == 0:
				c.Response().Header().Set("Retry-After", "1")
				return problem(http.StatusConflict, "a request with this Idempotency-Key is still in progress")
			}
			if rec.Location != "" {
				c.Response().Header().Set(echo.HeaderLocation, rec.Location)
			}
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.Blob(rec.StatusCode, rec.ContentType, []byte(rec.Response))
		}
		// Hold the claim while the request runs: if this process dies, the
		// lease runs out and a retry takes the key over within seconds.
		stop := make(chan struct{})
		renewed := make(chan struct{})
		go func() {
			defer close(renewed)
			t := time.NewTicker(store.ClaimLease / 3)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if err := s.cfg.Store.RenewIdempotencyKey(context.WithoutCancel(ctx), u.ID, key, rec.CreatedAt); err != nil {
						s.log.Warn("renew idempotency claim", "error", err)
					}
				}
			}
		}()
		w := &capture{ResponseWriter: c.Response().Writer}
		c.Response().Writer = w
		herr := next(c)
		close(stop)
		<-renewed
		if herr != nil {
			s.handleError(herr, c)
		}
		// The outcome is stored even if the client has gone away meanwhile.
		ctx = context.WithoutCancel(ctx)
		status := c.Response().Status
		if status >= 500 || status == 499 || status == http.StatusConflict && herr != nil || status == http.StatusAccepted {
			// 202 too: the action is still running; the retry re-drives the
			// same update and answers with its result.
			// Let the client retry with the same key.
			_ = s.cfg.Store.ReleaseIdempotencyKey(ctx, u.ID, key, rec.CreatedAt)
			return nil
		}
		return s.cfg.Store.CompleteIdempotencyKey(ctx, store.IdempotencyRecord{UserID: u.ID, Key: key, CreatedAt: rec.CreatedAt,
			StatusCode: status, Response: redactSecrets(c.Path(), w.buf.Bytes()),
			ContentType: c.Response().Header().Get(echo.HeaderContentType),
			Location:    c.Response().Header().Get(echo.HeaderLocation)})
	}
}
