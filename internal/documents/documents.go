// Package documents keeps the files attached to applications (proposal
// PDFs, signed agreements, receipts, report annexes) in a blob bucket through
// gocloud.dev/blob: a directory in `dev` (file://), S3 or an S3-compatible
// store in production (s3://bucket?region=...&endpoint=...), or Google Cloud
// Storage / Azure where the driver is linked. The database holds what a
// document is; the bucket holds its bytes under the document's id.
package documents

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gabriel-vasile/mimetype"
	"gocloud.dev/blob"

	// The drivers a deployment can name in DOCUMENTS_URL.
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// DefaultMaxBytes is the largest file accepted, unless configured.
const DefaultMaxBytes = 20 << 20

// Allowed are the file types accepted, by the type their content shows
// (never by the name or the type the client declares).
var Allowed = []string{
	"application/pdf",
	"image/png",
	"image/jpeg",
	"text/plain",
	"text/csv",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.oasis.opendocument.text",
	"application/vnd.oasis.opendocument.spreadsheet",
}

// ErrType says the content is of a type not accepted.
var ErrType = errors.New("file type not accepted")

// ErrInfected says the virus scanner found something.
var ErrInfected = errors.New("the virus scanner refused the file")

// ErrNotFound says the bucket has no such file.
var ErrNotFound = errors.New("document content not found")

// Store is the bucket the files live in.
type Store struct {
	bucket *blob.Bucket
	// Scanner, if set, checks every file before it is stored.
	Scanner Scanner
}

// Open opens the bucket a URL names (gocloud.dev URL syntax).
func Open(ctx context.Context, url string) (*Store, error) {
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open document bucket %s: %w", redact(url), err)
	}
	return &Store{bucket: b}, nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Detect is the type the content shows, and whether it is accepted.
func Detect(data []byte) (string, error) {
	// The detected type itself, never a parent: HTML is text, and must not
	// pass as such.
	mt := mimetype.Detect(data)
	for _, a := range Allowed {
		if mt.Is(a) {
			return a, nil
		}
	}
	return mt.String(), fmt.Errorf("%w: %s (accepted: PDF, PNG, JPEG, text, CSV, XLSX, DOCX, ODT, ODS)", ErrType, mt.String())
}

// Put stores data under key, after the scanner (if any) passed it.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	if s.Scanner != nil {
		if err := s.Scanner.Scan(ctx, data); err != nil {
			return err
		}
	}
	if err := s.bucket.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: contentType}); err != nil {
		return fmt.Errorf("store document %s: %w", key, err)
	}
	return nil
}

// Get reads the file stored under key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := s.bucket.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("read document %s: %w", key, err)
	}
	return data, nil
}

// Scanner checks a file for malware before it is stored.
type Scanner interface {
	Scan(ctx context.Context, data []byte) error
}

// Clamd scans through a ClamAV daemon's INSTREAM command (TCP, e.g.
// "clamav:3310"): the file in chunks, then the daemon's verdict.
type Clamd struct {
	Address string
	Timeout time.Duration
}

// Scan sends data to clamd; ErrInfected if it finds anything, another
// error if it cannot be asked (the upload is refused then too: no file is
// stored unscanned where a scanner is configured).
func (c Clamd) Scan(ctx context.Context, data []byte) error {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", c.Address)
	if err != nil {
		return fmt.Errorf("virus scanner %s: %w", c.Address, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	w := bufio.NewWriter(conn)
	if _, err := w.WriteString("zINSTREAM\x00"); err != nil {
		return fmt.Errorf("virus scanner: %w", err)
	}
	const chunk = 64 << 10
	for off := 0; off < len(data); off += chunk {
		part := data[off:min(off+chunk, len(data))]
		n := len(part)
		if _, err := w.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}); err != nil {
			return fmt.Errorf("virus scanner: %w", err)
		}
		if _, err := w.Write(part); err != nil {
			return fmt.Errorf("virus scanner: %w", err)
		}
	}
	if _, err := w.Write([]byte{0, 0, 0, 0}); err != nil {
		return fmt.Errorf("virus scanner: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("virus scanner: %w", err)
	}
	reply, err := io.ReadAll(io.LimitReader(conn, 4096))
	if err != nil && len(reply) == 0 {
		return fmt.Errorf("virus scanner: %w", err)
	}
	verdict := strings.TrimSpace(string(bytes.TrimRight(reply, "\x00")))
	switch {
	case strings.HasSuffix(verdict, " OK"):
		return nil
	case strings.HasSuffix(verdict, " FOUND"):
		return fmt.Errorf("%w: %s", ErrInfected, strings.TrimSuffix(strings.TrimPrefix(verdict, "stream: "), " FOUND"))
	default:
		return fmt.Errorf("virus scanner answered %q", verdict)
	}
}

// redact drops a URL's query (it may carry credentials) for messages.
func redact(url string) string {
	if i := strings.IndexByte(url, '?'); i >= 0 {
		return url[:i] + "?…"
	}
	return url
}
