package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

// badUTF8 stands in a body for bytes that are not UTF-8 (json.Marshal would
// replace them, so they are put into the encoded body afterwards).
const badUTF8 = "@@not-utf8@@"

// setPath returns a deep copy of body with the value at the dotted path
// (a number names a list element) replaced by v.
func setPath(t *testing.T, body map[string]any, path string, v any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(path, ".")
	var cur any = out
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = v
			} else {
				cur = c[p]
			}
		case []any:
			n := int(p[0] - '0')
			if last {
				c[n] = v
			} else {
				cur = c[n]
			}
		default:
			t.Fatalf("path %s: %T at %s", path, cur, p)
		}
	}
	return out
}

// encode is the JSON of body with badUTF8 turned into an invalid byte.
func encode(t *testing.T, body map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(raw), badUTF8, "\xff\xfe")
}

// TestControlCharacters sends a NUL, another control character and bytes
// that are not UTF-8 in every text field of every POST, and control
// characters in every path parameter and query value: each is refused (422
// naming the field; 400 for the address) and nothing is written or started.
func TestControlCharacters(t *testing.T) {
	f := newRig(t)
	app := f.app
	appReview := f.submit(t, f.proposal())
	appActive := f.submit(t, f.proposal())
	f.activate(t, appActive)
	t1 := f.tranche(t, appActive, 1)
	f.awaitWorkflowCount(t, 2)

	apps := "/api/v1/applications"
	review, active := apps+"/"+appReview, apps+"/"+appActive
	disb := "/api/v1/disbursements/" + t1.ID
	rev := with(f.proposal(), map[string]any{"programme_id": nil})
	type route struct {
		user   apptest.User
		path   string
		body   map[string]any
		fields []string // dotted paths of the text fields
		// multiline fields may hold tab and newline, so they get a bell (U+0007) instead
		multiline []string
	}
	routes := []route{
		{f.owner, apps, f.proposal(), []string{"title", "programme_id", "group.name", "group.lead", "group.members.0.name", "payee.name", "payee.iban", "payee.bic"}, []string{"summary"}},
		{f.admin, "/api/v1/users", map[string]any{"name": "Nina", "role": "applicant", "organisation": "Cafe Nord"}, []string{"name", "organisation"}, nil},
		{f.admin, "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": 10_000_000, "debtor_name": "Stadt", "debtor_iban": "DE89370400440532013000"}, []string{"name", "debtor_name", "debtor_iban"}, nil},
		{f.reviewer, review + "/reviews", reviewBody("approve", 4, "fine"), []string{"recommendation"}, []string{"comment"}},
		{f.owner, review + "/revision", rev, []string{"title", "group.name", "payee.name"}, []string{"summary"}},
		{f.owner, review + "/withdrawal", map[string]any{"reason": "r"}, nil, []string{"reason"}},
		{f.admin, review + "/cancellation", map[string]any{"reason": "r"}, nil, []string{"reason"}},
		{f.owner, active + "/reports", map[string]any{"kind": "interim", "narrative": "n", "actual_costs_cents": 1}, []string{"kind"}, []string{"narrative"}},
		{f.reviewer, active + "/reports/rep-1/assessment", map[string]any{"decision": "accept", "comment": "c"}, []string{"decision"}, []string{"comment"}},
		{f.finance, disb + "/approval", map[string]any{"comment": "c"}, nil, []string{"comment"}},
		{f.finance2, disb + "/payment", map[string]any{"bank_reference": "B-1"}, []string{"bank_reference"}, nil},
		{f.finance, disb + "/failure", map[string]any{"reason": "r"}, nil, []string{"reason"}},
		{f.finance, active + "/repayments", map[string]any{"bank_reference": "B-1", "amount_cents": 1}, []string{"bank_reference"}, nil},
		{f.owner, active + "/amendments", map[string]any{"reason": "r", "members": []map[string]any{{"organisation_id": f.owner.OrganisationID, "name": "Cafe"}}},
			[]string{"members.0.organisation_id", "members.0.name"}, []string{"reason"}},
	}
	type attempt struct{ name, value string }
	before := f.written(t, appReview, appActive)
	check := func(t *testing.T, r apptest.Response, want int, field, what string) {
		t.Helper()
		if r.Status != want {
			t.Errorf("%s = %d, want %d: %s", what, r.Status, want, rigClip(r.Body))
			return
		}
		checkProblemJSON(t, what, r)
		if want == 422 {
			if got := problemFields(t, r); !slices.Contains(got, field) {
				t.Errorf("%s: errors name %q, want %q among them", what, got, field)
			}
		}
		if d := before.diff(f.written(t, appReview, appActive)); len(d) > 0 {
			t.Errorf("%s was refused but changed: %s", what, strings.Join(d, "; "))
			before = f.written(t, appReview, appActive)
		}
	}
	for _, rt := range routes {
		for _, field := range append(append([]string{}, rt.fields...), rt.multiline...) {
			tries := []attempt{{"NUL", "a\x00b"}, {"not UTF-8", "a" + badUTF8 + "b"}, {"escape", "a\x1b[31mb"}}
			if slices.Contains(rt.multiline, field) {
				tries = append(tries, attempt{"bell", "a\x07b"})
			} else {
				tries = append(tries, attempt{"newline", "a\nb"})
			}
			want := strings.ReplaceAll(field, ".0.", "[0].")
			for _, try := range tries {
				what := "POST " + rt.path + " with " + try.name + " in " + field
				r := app.Do(t, "POST", rt.path, rt.user, encode(t, setPath(t, rt.body, field, try.value)))
				check(t, r, http.StatusUnprocessableEntity, want, what)
			}
		}
	}
	// A key of the scores map is text too.
	r := app.Do(t, "POST", review+"/reviews", f.reviewer, map[string]any{"recommendation": "approve",
		"scores": map[string]int{"impact\x00": 4, "feasibility": 4, "partnership": 4}})
	check(t, r, http.StatusUnprocessableEntity, "scores", "POST reviews with NUL in a scores key")

	// Path parameters and query values: the address itself is malformed.
	for _, c := range []struct {
		user   apptest.User
		method string
		path   string
	}{
		{f.owner, "GET", apps + "/a%00b"},
		{f.owner, "GET", apps + "/a%00b/history"},
		{f.owner, "GET", apps + "/%FF%FE"},
		{f.owner, "GET", active + "/reports/r%00"},
		{f.reviewer, "POST", apps + "/a%00b/reviews"},
		{f.admin, "POST", apps + "/a%01b/cancellation"},
		{f.admin, "GET", "/api/v1/users/u%00"},
		{f.admin, "GET", "/api/v1/programmes/p%00"},
		{f.admin, "GET", "/api/v1/programmes/p%00/ledger"},
		{f.finance, "POST", "/api/v1/disbursements/d%00/approval"},
		{f.finance, "GET", "/api/v1/disbursements/export?batch=b%00"},
		{f.owner, "GET", apps + "?cursor=c%00"},
		{f.owner, "GET", apps + "?cursor=%FF"},
		{f.owner, "GET", apps + "?status=in%0Areview"},
		{f.finance, "GET", "/api/v1/disbursements?programme_id=%00"},
	} {
		var body any
		if c.method == "POST" {
			body = map[string]any{"reason": "r", "recommendation": "approve", "scores": apptest.Scores(4)}
		}
		r := app.Do(t, c.method, c.path, c.user, body)
		check(t, r, http.StatusBadRequest, "", c.method+" "+c.path)
	}
	f.awaitWorkflowCount(t, 2)
}
