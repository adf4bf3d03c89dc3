package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"reallabor/api"
	"reallabor/internal/apptest"
)

// publicOperations need no bearer token.
var publicOperations = []string{
	"GET /api/v1/openapi.json",
	"GET /healthz",
	"GET /metrics",
	"GET /readyz",
	"POST /api/v1/login-links", // the way in without a token
	"POST /api/v1/login-links/redemption",
}

// routerOperations lists the router's routes as "METHOD /path/{param}". The
// API needs its store and Temporal only at request time, so a bare Config
// builds the router.
func routerOperations(t *testing.T) []string {
	t.Helper()
	srv := api.New(api.Config{})
	var out []string
	for _, r := range srv.Echo().Routes() {
		if !isHTTPMethod(r.Method) {
			continue // Echo's catch-all "route not found" entries of groups
		}
		out = append(out, r.Method+" "+openAPIPath(r.Path))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func isHTTPMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return true
	}
	return false
}

// openAPIPath turns Echo's /applications/:id into /applications/{id}.
func openAPIPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if name, ok := strings.CutPrefix(s, ":"); ok {
			segs[i] = "{" + name + "}"
		}
	}
	return strings.Join(segs, "/")
}

// documentOperations lists the document's operations as "METHOD /path".
func documentOperations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIDocumentIsValid loads the embedded document and validates it as
// OpenAPI 3.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := apptest.LoadOpenAPI(t, api.OpenAPI)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
}

// TestOpenAPIRequestExamples: every JSON request body in the document has
// an example (Swagger UI at /api/docs shows it, ready to send), and each
// example is valid against its schema, so none can drift from the API.
func TestOpenAPIRequestExamples(t *testing.T) {
	doc := apptest.LoadOpenAPI(t, api.OpenAPI)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil {
				continue // the document upload (multipart) carries a file
			}
			n++
			if mt.Example == nil {
				t.Errorf("%s %s: the request body has no example", method, path)
				continue
			}
			// Through JSON, as a client would send it (numbers as float64).
			raw, err := json.Marshal(mt.Example)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			if err := mt.Schema.Value.VisitJSON(v); err != nil {
				t.Errorf("%s %s: the example does not match the schema: %v", method, path, err)
			}
		}
	}
	if n < 25 {
		t.Errorf("%d JSON request bodies found, want the API's 28 or more", n)
	}
}

// TestOpenAPIMatchesRoutes compares the router's routes with the document's
// operations both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := apptest.LoadOpenAPI(t, api.OpenAPI)
	routes, ops := routerOperations(t), documentOperations(doc)
	if len(routes) == 0 {
		t.Fatal("the router has no routes")
	}
	var undocumented, missing []string
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			undocumented = append(undocumented, r)
		}
	}
	for _, o := range ops {
		if !slices.Contains(routes, o) {
			missing = append(missing, o)
		}
	}
	if len(undocumented) > 0 {
		t.Errorf("routes the OpenAPI document does not describe:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(missing) > 0 {
		t.Errorf("OpenAPI operations the router does not have:\n  %s", strings.Join(missing, "\n  "))
	}
}

// TestOpenAPIConventions checks what every operation must say: security
// (none only for the public routes), Idempotency-Key on POSTs, 401 where a
// token is needed, problem+json for every error response, a schema for every
// JSON body, and path parameters that match the path.
func TestOpenAPIConventions(t *testing.T) {
	doc := apptest.LoadOpenAPI(t, api.OpenAPI)
	if len(doc.Security) == 0 {
		t.Error("the document has no global security requirement")
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := strings.ToUpper(method) + " " + path
			public := slices.Contains(publicOperations, name)
			switch {
			case public && (op.Security == nil || len(*op.Security) != 0):
				t.Errorf("%s is public but does not override security with []", name)
			case !public && op.Security != nil && len(*op.Security) == 0:
				t.Errorf("%s needs a token but has security []", name)
			}
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", name)
			}
			params := map[string]bool{}
			for _, p := range op.Parameters {
				params[p.Value.In+":"+p.Value.Name] = true
			}
			if method == http.MethodPost && !public && !params["header:Idempotency-Key"] { // keys are per user
				t.Errorf("%s has no Idempotency-Key header parameter", name)
			}
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") && !params["path:"+strings.Trim(seg, "{}")] {
					t.Errorf("%s does not declare path parameter %s", name, seg)
				}
			}
			if !public && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s needs a token but does not document 401", name)
			}
			for code, ref := range op.Responses.Map() {
				resp := ref.Value
				switch {
				case code >= "400" && name != "GET /readyz":
					mt := resp.Content.Get("application/problem+json")
					if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Problem" {
						t.Errorf("%s %s is not an application/problem+json Problem", name, code)
					}
				default:
					if mt := resp.Content.Get("application/json"); mt != nil && mt.Schema == nil {
						t.Errorf("%s %s has a JSON body without a schema", name, code)
					}
				}
			}
		}
	}
}

// TestOpenAPIServed checks GET /api/v1/openapi.json serves the document, and
// that an answer the router gives without a database (401 problem) matches it.
func TestOpenAPIServed(t *testing.T) {
	check := apptest.OpenAPIChecker(t, api.OpenAPI)
	hs := httptest.NewServer(api.New(api.Config{}).Handler())
	defer hs.Close()

	for _, tc := range []struct {
		method, path string
		body         string
		want         int
	}{
		{"GET", "/api/v1/openapi.json", "", http.StatusOK},
		{"GET", "/healthz", "", http.StatusOK},
		{"GET", "/metrics", "", http.StatusOK},
		{"GET", "/api/v1/me", "", http.StatusUnauthorized},
		{"POST", "/api/v1/applications", `{"title":"x"}`, http.StatusUnauthorized},
	} {
		var rd io.Reader
		if tc.body != "" {
			rd = strings.NewReader(tc.body)
		}
		req, err := http.NewRequest(tc.method, hs.URL+tc.path, rd)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s = %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.want, body)
		}
		check(t, req, resp, body)
		if tc.path == "/api/v1/openapi.json" && !bytes.Equal(body, api.OpenAPI) {
			t.Errorf("GET %s does not serve the embedded document", tc.path)
		}
	}
}

// openAPIRecorder is a testing.TB that keeps the errors reported to it.
type openAPIRecorder struct {
	testing.TB
	errs []string
}

func (r *openAPIRecorder) Helper() {}

func (r *openAPIRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestOpenAPICheckerCatchesDrift feeds the checker responses that break the
// document, so a checker that silently accepts everything fails here.
func TestOpenAPICheckerCatchesDrift(t *testing.T) {
	check := apptest.OpenAPIChecker(t, api.OpenAPI)
	respond := func(status int, contentType, body string) (*http.Response, []byte) {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}, []byte(body)
	}
	user := `{"id":"u1","name":"Ada","role":"admin","organisation":"Stadt"}`
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType, body  string
		wantErr            bool
	}{
		{"valid user", "GET", "/api/v1/me", 200, "application/json", user, false},
		{"unknown role", "GET", "/api/v1/me", 200, "application/json", strings.Replace(user, "admin", "boss", 1), true},
		{"missing field", "GET", "/api/v1/me", 200, "application/json", `{"id":"u1","name":"Ada","role":"admin"}`, true},
		{"undocumented status", "GET", "/api/v1/me", http.StatusTeapot, "application/problem+json",
			`{"type":"about:blank","title":"x","status":418}`, true},
		{"problem as plain JSON", "GET", "/api/v1/applications/x", 404, "application/json",
			`{"type":"about:blank","title":"Not Found","status":404}`, true},
		{"problem without title", "GET", "/api/v1/applications/x", 404, "application/problem+json",
			`{"type":"about:blank","status":404}`, true},
		{"money as string", "GET", "/api/v1/programmes/p1/ledger", 200, "application/json",
			`{"programme_id":"p1","currency":"EUR","budget_cents":"10","reserved_cents":0,"paid_cents":0,"released_cents":0,"available_cents":10}`, true},
		{"export as JSON", "GET", "/api/v1/disbursements/export", 200, "application/json", `{}`, true},
		{"undocumented route", "GET", "/api/v1/nothing", 200, "application/json", `{}`, true},
		{"unknown route 404", "GET", "/api/v1/nothing", 404, "application/problem+json",
			`{"type":"about:blank","title":"Not Found","status":404}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://api.test"+tc.path, nil)
			resp, body := respond(tc.status, tc.contentType, tc.body)
			if tc.path == "/api/v1/disbursements/export" {
				resp.Header.Set("Content-Disposition", `attachment; filename="x"`)
			}
			rec := &openAPIRecorder{TB: t}
			check(rec, req, resp, body)
			if got := len(rec.errs) > 0; got != tc.wantErr {
				t.Errorf("checker errors = %q, want an error: %v", rec.errs, tc.wantErr)
			}
		})
	}
}
