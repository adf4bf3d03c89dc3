package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"reallabor/internal/documents"
	"reallabor/internal/store"
	"reallabor/models"
)

// uploadRoute is the route of uploads, whose bodies may be larger.
const uploadRoute = "/api/v1/applications/:id/documents"

// bodyLimits caps request bodies: an upload's at the largest file and room
// for the multipart envelope, every other at limit.
func bodyLimits(limit string, maxFile int64) echo.MiddlewareFunc {
	normal := middleware.BodyLimit(limit)
	upload := middleware.BodyLimit(strconv.FormatInt(maxFile+64<<10, 10)) // bytes
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		n, u := normal(next), upload(next)
		return func(c echo.Context) error {
			if c.Path() == uploadRoute && c.Request().Method == http.MethodPost {
				return u(c)
			}
			return n(c)
		}
	}
}

// DocumentList is an application's documents, oldest first.
type DocumentList struct {
	Items []store.Document `json:"items"`
}

// documentsOff answers when no bucket is configured.
func (s *Server) documentsOff() error {
	return problem(http.StatusServiceUnavailable, "document storage is not configured (DOCUMENTS_URL)")
}

// uploadDocument stores a file attached to an application (multipart field
// "file", with "kind" and, for a report's annex or an amendment's evidence,
// "report_id" or "amendment_id"): the group's
// applicants and the admin may attach while the application runs. The type
// is what the content shows (PDF, images, text, office files), never what
// the client declares; a scanner, if configured, passes it first. The same
// file sent again (same kind, report and content) is answered with the
// document stored the first time.
func (s *Server) uploadDocument(c echo.Context) error {
	if s.cfg.Documents == nil {
		return s.documentsOff()
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	st, err := projectedState(rec)
	if err != nil {
		return err
	}
	var fields []models.FieldError
	kind := c.FormValue("kind")
	if !slices.Contains(store.DocumentKinds, kind) {
		fields = append(fields, models.FieldError{Field: "kind", Message: "must be one of " + strings.Join(store.DocumentKinds, ", ")})
	}
	reportID := c.FormValue("report_id")
	if reportID != "" && !slices.ContainsFunc(st.Reports, func(r models.Report) bool { return r.ID == reportID }) {
		fields = append(fields, models.FieldError{Field: "report_id", Message: "names no report of this application"})
	}
	amendmentID := c.FormValue("amendment_id")
	if amendmentID != "" && !slices.ContainsFunc(st.Amendments, func(a models.Amendment) bool { return a.ID == amendmentID }) {
		fields = append(fields, models.FieldError{Field: "amendment_id", Message: "names no amendment of this application"})
	}
	if reportID != "" && amendmentID != "" {
		fields = append(fields, models.FieldError{Field: "amendment_id", Message: "a document goes with a report or an amendment, not both"})
	}
	fh, ferr := c.FormFile("file")
	if ferr != nil {
		fields = append(fields, models.FieldError{Field: "file", Message: "is required (multipart/form-data)"})
	}
	var name string
	if fh != nil {
		name = path.Base(strings.ReplaceAll(fh.Filename, `\`, "/"))
		if msg := filenameProblem(name); msg != "" {
			fields = append(fields, models.FieldError{Field: "file", Message: "filename " + msg})
		}
		if fh.Size > s.cfg.DocumentMaxBytes {
			fields = append(fields, models.FieldError{Field: "file", Message: fmt.Sprintf("is larger than %d bytes", s.cfg.DocumentMaxBytes)})
		}
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	if st.Status.Final() && !st.Demand.Owes() {
		return problem(http.StatusConflict, "application is "+string(st.Status)+": no more documents")
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, s.cfg.DocumentMaxBytes+1))
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	if int64(len(data)) > s.cfg.DocumentMaxBytes {
		return invalidFields(models.FieldError{Field: "file", Message: fmt.Sprintf("is larger than %d bytes", s.cfg.DocumentMaxBytes)})
	}
	if len(data) == 0 {
		return invalidFields(models.FieldError{Field: "file", Message: "is empty"})
	}
	contentType, err := documents.Detect(data)
	if err != nil {
		return problem(http.StatusUnsupportedMediaType, err.Error())
	}
	sum := sha256.Sum256(data)
	u := userOf(c)
	doc := store.Document{ApplicationID: rec.ID, ReportID: reportID, AmendmentID: amendmentID, Kind: kind, Filename: name, ContentType: contentType,
		SizeBytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), UploadedBy: u.ID, UploadedAt: s.cfg.Now().UTC()}
	ctx := c.Request().Context()
	if same, ok, err := s.cfg.Store.SameDocument(ctx, doc); err != nil {
		return err
	} else if ok {
		return c.JSON(http.StatusOK, same)
	}
	id, _ := uuid.NewV7()
	doc.ID = "doc-" + id.String()
	// The bytes first: a row never names a file that is not there (a file
	// whose row failed is an orphan in the bucket, never shown).
	if err := s.cfg.Documents.Put(ctx, doc.ID, data, contentType); err != nil {
		if errors.Is(err, documents.ErrInfected) {
			return invalidFields(models.FieldError{Field: "file", Message: err.Error()})
		}
		return err
	}
	if err := s.cfg.Store.AddDocument(ctx, doc); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, doc)
}

// filenameProblem says what is wrong with an uploaded file's name.
func filenameProblem(name string) string {
	switch {
	case name == "" || name == "." || name == "/":
		return "is required"
	case len(name) > 200:
		return "is longer than 200 bytes"
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '"' {
			return "holds a control character or a quote"
		}
	}
	return ""
}

// listDocuments lists an application's documents for whoever may see it.
func (s *Server) listDocuments(c echo.Context) error {
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	items, err := s.cfg.Store.Documents(c.Request().Context(), rec.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, DocumentList{Items: items})
}

// getDocument downloads a document, as an attachment of the type its
// content showed at upload (never rendered in the API's origin).
func (s *Server) getDocument(c echo.Context) error {
	if s.cfg.Documents == nil {
		return s.documentsOff()
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := s.cfg.Store.Document(ctx, rec.ID, c.Param("doc_id"))
	if err != nil {
		return err
	}
	data, err := s.cfg.Documents.Get(ctx, d.ID)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": d.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("ETag", `"`+d.SHA256+`"`)
	return c.Blob(http.StatusOK, d.ContentType, data)
}
