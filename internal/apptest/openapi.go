package apptest

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// LoadOpenAPI parses and validates an OpenAPI 3 document, failing tb if it
// does not load or is not a valid document.
func LoadOpenAPI(tb testing.TB, spec []byte) *openapi3.T {
	tb.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		tb.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("OpenAPI document is invalid: %v", err)
	}
	return doc
}

// OpenAPIChecker returns an App.Check that holds every response to the
// document spec: its status must be documented for the operation, its
// documented headers present and well-formed, and a JSON body (application/json
// or application/problem+json) must match the schema. Bodies that are not JSON
// (the SEPA XML and CSV exports, the Prometheus text) are checked for status,
// headers and content type only: kin-openapi has no decoder for them, and their
// own content is tested where they are produced (internal/paymentfile).
//
// A request the API answered with 2xx is also checked against the document's
// parameters and request body: if the API accepts what the document calls
// invalid, the document is stricter than the code.
//
// A 404 or 405 for a method and path the document does not have is the
// router's own answer to an unknown route, and a 401 is what an unknown route
// under /api/v1 answers a caller without a valid token (routes are not
// revealed before authentication); neither is checked; any other
// response to an undocumented route is an error.
func OpenAPIChecker(tb testing.TB, spec []byte) func(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	tb.Helper()
	doc := LoadOpenAPI(tb, spec)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatalf("OpenAPI router: %v", err)
	}
	return func(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
		t.Helper()
		method, path, status := req.Method, req.URL.Path, resp.StatusCode
		route, pathParams, err := router.FindRoute(req)
		if err != nil {
			if status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status == http.StatusUnauthorized {
				return
			}
			t.Errorf("OpenAPI: %s %s answered %d but is not in the document: %v", method, path, status, err)
			return
		}
		ctx := context.Background()
		opts := &openapi3filter.Options{
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
			IncludeResponseStatus: true,
			MultiError:            true,
		}
		ct := resp.Header.Get("Content-Type")
		if len(body) > 0 && !isJSON(ct) {
			opts.ExcludeResponseBody = true
			if msg := checkContentType(route, status, ct); msg != "" {
				t.Errorf("OpenAPI: %s %s answered %d: %s", method, path, status, msg)
			}
		}
		reqInput := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: opts}
		respInput := &openapi3filter.ResponseValidationInput{RequestValidationInput: reqInput, Status: status,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)), Options: opts}
		if err := openapi3filter.ValidateResponse(ctx, respInput); err != nil {
			t.Errorf("OpenAPI: response to %s %s (%d, %s) does not match the document: %v\nbody: %s",
				method, path, status, ct, err, truncate(body))
		}
		if status < 200 || status > 299 {
			return
		}
		// The API accepted the request: the document must accept it too.
		check, err := requestCopy(req)
		if err != nil {
			t.Errorf("OpenAPI: copy request %s %s: %v", method, path, err)
			return
		}
		reqInput.Request = check
		if err := openapi3filter.ValidateRequest(ctx, reqInput); err != nil {
			t.Errorf("OpenAPI: the API accepted %s %s (%d) but the document calls the request invalid: %v",
				method, path, status, err)
		}
	}
}

// requestCopy gives a request whose body can be read again (the client has
// consumed the original's).
func requestCopy(req *http.Request) (*http.Request, error) {
	out := req.Clone(req.Context())
	switch {
	case req.GetBody != nil:
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		out.Body = b
	default:
		out.Body = http.NoBody
	}
	return out, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// checkContentType says what is wrong with a non-JSON response's content
// type, or "" if the document lists it for the status.
func checkContentType(route *routers.Route, status int, contentType string) string {
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return "" // ValidateResponse reports the undocumented status
	}
	if contentType == "" {
		return "a body without Content-Type"
	}
	if ref.Value.Content.Get(contentType) == nil {
		return "content type " + contentType + " is not documented for this status"
	}
	return ""
}

func truncate(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
