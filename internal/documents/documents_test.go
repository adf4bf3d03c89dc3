package documents

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func TestDetectByContent(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		data       []byte
		ok         bool
	}{
		{"pdf", "application/pdf", []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"), true},
		{"png", "image/png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), true},
		{"text", "text/plain", []byte("Belege März 2027\n"), true},
		{"executable named .pdf", "", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), false},
		{"html", "", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(tt.data)
			if tt.ok && (err != nil || got != tt.want) {
				t.Fatalf("Detect = %q, %v; want %q", got, err, tt.want)
			}
			if !tt.ok && !errors.Is(err, ErrType) {
				t.Fatalf("Detect = %q, %v; want ErrType", got, err)
			}
		})
	}
}

func TestStoreInADirectory(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "file://"+t.TempDir()+"?create_dir=1&metadata=skip")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put(ctx, "doc-1", []byte("%PDF-1.4"), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "doc-1")
	if err != nil || string(got) != "%PDF-1.4" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if _, err := s.Get(ctx, "doc-2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing file = %v, want ErrNotFound", err)
	}
}

// fakeClamd answers INSTREAM as clamd does: FOUND when the stream holds
// the EICAR marker, OK otherwise.
func fakeClamd(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				cmd, _ := r.ReadString(0)
				if cmd != "zINSTREAM\x00" {
					conn.Write([]byte("UNKNOWN COMMAND\x00"))
					return
				}
				var all []byte
				for {
					var n uint32
					if err := binary.Read(r, binary.BigEndian, &n); err != nil {
						return
					}
					if n == 0 {
						break
					}
					part := make([]byte, n)
					if _, err := io.ReadFull(r, part); err != nil {
						return
					}
					all = append(all, part...)
				}
				if strings.Contains(string(all), "EICAR-STANDARD-ANTIVIRUS-TEST-FILE") {
					conn.Write([]byte("stream: Eicar-Test-Signature FOUND\x00"))
					return
				}
				conn.Write([]byte("stream: OK\x00"))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestClamdScanner(t *testing.T) {
	ctx := context.Background()
	c := Clamd{Address: fakeClamd(t)}
	big := make([]byte, 200<<10) // more than one chunk
	if err := c.Scan(ctx, big); err != nil {
		t.Fatalf("clean file: %v", err)
	}
	eicar := []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)
	if err := c.Scan(ctx, eicar); !errors.Is(err, ErrInfected) || !strings.Contains(err.Error(), "Eicar") {
		t.Fatalf("EICAR file: %v, want ErrInfected naming the signature", err)
	}
	if err := (Clamd{Address: "127.0.0.1:1"}).Scan(ctx, big); err == nil || errors.Is(err, ErrInfected) {
		t.Fatalf("scanner down: %v, want an error (and no upload)", err)
	}
}
