package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

// with returns a copy of body with the given top-level fields replaced
// (a nil value removes the field).
func with(body map[string]any, fields map[string]any) map[string]any {
	out := maps.Clone(body)
	for k, v := range fields {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// oversized is a JSON body larger than the API's 256 KiB limit.
func oversized(field string) string {
	return `{"` + field + `": "` + strings.Repeat("x", 257<<10) + `"}`
}

// problemFields are the field names a 422 problem lists.
func problemFields(t *testing.T, r apptest.Response) []string {
	t.Helper()
	var p struct {
		Errors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", r.Body, err)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// badInputCase is one rejected request.
type badInputCase struct {
	name   string
	user   apptest.User
	method string // POST unless set
	path   string
	body   any // a string is sent as is
	want   int
	fields []string // JSON field names the 422 problem must list
}

// written is what a rejected request must leave as it was.
type written struct {
	applications []string
	ledger       rigLedger
	users        int
	programmes   int
	seqReview    int64
	seqActive    int64
	votesReview  int
	tranche      rigDisbursement
}

func (f *rig) written(t *testing.T, appReview, appActive string) written {
	t.Helper()
	var w written
	w.applications = f.applicationIDs(t)
	w.ledger = f.ledger(t)
	var items struct {
		Items []json.RawMessage `json:"items"`
	}
	f.app.Must(t, http.StatusOK, "GET", "/api/v1/users", f.admin, nil).JSON(t, &items)
	w.users = len(items.Items)
	f.app.Must(t, http.StatusOK, "GET", "/api/v1/programmes", f.admin, nil).JSON(t, &items)
	w.programmes = len(items.Items)
	r := f.state(t, appReview)
	w.seqReview, w.votesReview = r.Seq, len(r.Votes)
	w.seqActive = f.state(t, appActive).Seq
	w.tranche = f.tranche(t, appActive, 1)
	return w
}

func (w written) diff(o written) []string {
	var out []string
	if !slices.Equal(w.applications, o.applications) {
		out = append(out, fmt.Sprintf("applications %v → %v", w.applications, o.applications))
	}
	if w.ledger != o.ledger {
		out = append(out, fmt.Sprintf("ledger %+v → %+v", w.ledger, o.ledger))
	}
	if w.users != o.users {
		out = append(out, fmt.Sprintf("users %d → %d", w.users, o.users))
	}
	if w.programmes != o.programmes {
		out = append(out, fmt.Sprintf("programmes %d → %d", w.programmes, o.programmes))
	}
	if w.seqReview != o.seqReview || w.votesReview != o.votesReview {
		out = append(out, fmt.Sprintf("application in review: seq %d → %d, votes %d → %d", w.seqReview, o.seqReview, w.votesReview, o.votesReview))
	}
	if w.seqActive != o.seqActive {
		out = append(out, fmt.Sprintf("active application: seq %d → %d", w.seqActive, o.seqActive))
	}
	if w.tranche != o.tranche {
		out = append(out, fmt.Sprintf("tranche %+v → %+v", w.tranche, o.tranche))
	}
	return out
}

// TestBadInput sends bad content to every POST and checks the answer is a
// problem with the right status and fields, and that nothing was written.
func TestBadInput(t *testing.T) {
	f := newRig(t)
	app := f.app
	appReview := f.submit(t, f.proposal())
	appActive := f.submit(t, f.proposal())
	f.activate(t, appActive)
	t1 := f.tranche(t, appActive, 1)
	f.awaitWorkflowCount(t, 2)

	p := f.proposal()
	payee := func(iban string) map[string]any {
		return map[string]any{"name": "Cafe Mitte GmbH", "iban": iban}
	}
	members := func(prior int64) map[string]any {
		return map[string]any{"name": "Altstadt retailers", "members": []map[string]any{{"name": "Cafe Mitte", "prior_de_minimis_cents": prior}}}
	}
	rev := with(p, map[string]any{"programme_id": nil})
	long := func(n int) string { return strings.Repeat("a", n) }
	const (
		badIBAN   = "DE89 3704 0044 0532 0130 01" // the checksum of DE89…00, one digit off
		absurd    = int64(1_000_000_000_000_000)  // 10^15
		malformed = `{"title": "Click & Collect", "requested_cents": `
	)
	apps := "/api/v1/applications"
	review, active := apps+"/"+appReview, apps+"/"+appActive
	disb := "/api/v1/disbursements/" + t1.ID
	proposalFields := []string{"title", "requested_cents", "total_cost_cents", "start_date", "end_date",
		"group.name", "group.members", "payee.name", "payee.iban"}

	cases := []badInputCase{
		// POST /api/v1/applications
		{"application: malformed JSON", f.owner, "", apps, malformed, 400, nil},
		{"application: empty body", f.owner, "", apps, "", 400, nil},
		{"application: missing fields", f.owner, "", apps, `{}`, 422, append([]string{"programme_id"}, proposalFields...)},
		{"application: requested_cents as string", f.owner, "", apps, with(p, map[string]any{"requested_cents": "1000000"}), 422, []string{"requested_cents"}},
		{"application: requested_cents negative", f.owner, "", apps, with(p, map[string]any{"requested_cents": -1}), 422, []string{"requested_cents"}},
		{"application: requested_cents absurd", f.owner, "", apps, with(p, map[string]any{"requested_cents": absurd}), 422, []string{"requested_cents"}},
		{"application: total_cost_cents negative", f.owner, "", apps, with(p, map[string]any{"total_cost_cents": -1}), 422, []string{"total_cost_cents"}},
		{"application: total_cost_cents absurd", f.owner, "", apps, with(p, map[string]any{"total_cost_cents": absurd}), 422, []string{"total_cost_cents"}},
		{"application: prior de-minimis negative", f.owner, "", apps, with(p, map[string]any{"group": members(-1)}), 422, []string{"group.members[0].prior_de_minimis_cents"}},
		{"application: IBAN checksum", f.owner, "", apps, with(p, map[string]any{"payee": payee(badIBAN)}), 422, []string{"payee.iban"}},
		{"application: end_date before start_date", f.owner, "", apps, with(p, map[string]any{"start_date": "2027-06-01", "end_date": "2027-01-01"}), 422, []string{"end_date"}},
		{"application: start_date not a date", f.owner, "", apps, with(p, map[string]any{"start_date": "next spring"}), 422, []string{"start_date"}},
		{"application: unknown programme", f.owner, "", apps, with(p, map[string]any{"programme_id": "0190a000-0000-7000-8000-000000000000"}), 422, []string{"programme_id"}},
		{"application: title too long", f.owner, "", apps, with(p, map[string]any{"title": long(201)}), 422, []string{"title"}},
		{"application: group without the applicant", f.other, "", apps, p, 422, []string{"group.members"}},
		{"application: oversized", f.owner, "", apps, oversized("title"), 413, nil},

		// POST /api/v1/users
		{"user: malformed JSON", f.admin, "", "/api/v1/users", `{"name": "Nina", `, 400, nil},
		{"user: missing fields", f.admin, "", "/api/v1/users", `{}`, 422, []string{"name", "role"}},
		{"user: unknown role", f.admin, "", "/api/v1/users", map[string]any{"name": "Nina", "role": "superuser", "organisation": "X"}, 422, []string{"role"}},
		{"user: name as number", f.admin, "", "/api/v1/users", map[string]any{"name": 42, "role": "finance"}, 422, []string{"name"}},
		{"user: applicant without organisation", f.admin, "", "/api/v1/users", map[string]any{"name": "Nina", "role": "applicant"}, 422, []string{"organisation"}},
		{"user: oversized", f.admin, "", "/api/v1/users", oversized("name"), 413, nil},

		// POST /api/v1/programmes
		{"programme: malformed JSON", f.admin, "", "/api/v1/programmes", `{"name": `, 400, nil},
		{"programme: missing fields", f.admin, "", "/api/v1/programmes", `{}`, 422, []string{"name", "budget_cents"}},
		{"programme: budget_cents as string", f.admin, "", "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": "lots"}, 422, []string{"budget_cents"}},
		{"programme: budget_cents negative", f.admin, "", "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": -1}, 422, []string{"budget_cents"}},
		{"programme: budget_cents absurd", f.admin, "", "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": absurd}, 422, []string{"budget_cents"}},
		{"programme: max_grant_cents negative", f.admin, "", "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": 10_000_000, "max_grant_cents": -1}, 422, []string{"max_grant_cents"}},
		{"programme: funding rate over 100", f.admin, "", "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": 10_000_000, "funding_rate_percent": 150}, 422, []string{"funding_rate_percent"}},
		{"programme: unknown tranche trigger", f.admin, "", "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": 10_000_000,
			"tranche_plan": []map[string]any{{"percent": 100, "trigger": "weekly"}}}, 422, []string{"tranche_plan[0].trigger"}},
		{"programme: open applications cap zero", f.admin, "", "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": 10_000_000,
			"max_open_applications_per_applicant": 0}, 422, []string{"max_open_applications_per_applicant"}},
		{"programme: debtor IBAN checksum", f.admin, "", "/api/v1/programmes", map[string]any{"name": "P", "budget_cents": 10_000_000, "debtor_iban": badIBAN}, 422, []string{"debtor_iban"}},
		{"programme: oversized", f.admin, "", "/api/v1/programmes", oversized("name"), 413, nil},

		// POST /api/v1/applications/:id/reviews
		{"review: malformed JSON", f.reviewer, "", review + "/reviews", `{"recommendation": "approve"`, 400, nil},
		{"review: missing recommendation", f.reviewer, "", review + "/reviews", `{}`, 422, []string{"recommendation"}},
		{"review: unknown recommendation", f.reviewer, "", review + "/reviews", reviewBody("maybe", 4, ""), 422, []string{"recommendation"}},
		{"review: scores as string", f.reviewer, "", review + "/reviews", map[string]any{"recommendation": "approve", "scores": "high"}, 422, []string{"scores"}},
		{"review: score above the range", f.reviewer, "", review + "/reviews", reviewBody("approve", 9, ""), 422, []string{"scores.impact"}},
		{"review: score below the range", f.reviewer, "", review + "/reviews", reviewBody("approve", -1, ""), 422, []string{"scores.impact"}},
		{"review: oversized", f.reviewer, "", review + "/reviews", oversized("comment"), 413, nil},

		// POST /api/v1/applications/:id/revision
		{"revision: malformed JSON", f.owner, "", review + "/revision", malformed, 400, nil},
		{"revision: missing fields", f.owner, "", review + "/revision", `{}`, 422, proposalFields},
		{"revision: requested_cents as string", f.owner, "", review + "/revision", with(rev, map[string]any{"requested_cents": "1000000"}), 422, []string{"requested_cents"}},
		{"revision: requested_cents negative", f.owner, "", review + "/revision", with(rev, map[string]any{"requested_cents": -1}), 422, []string{"requested_cents"}},
		{"revision: requested_cents absurd", f.owner, "", review + "/revision", with(rev, map[string]any{"requested_cents": absurd}), 422, []string{"requested_cents"}},
		{"revision: IBAN checksum", f.owner, "", review + "/revision", with(rev, map[string]any{"payee": payee(badIBAN)}), 422, []string{"payee.iban"}},
		{"revision: end_date before start_date", f.owner, "", review + "/revision", with(rev, map[string]any{"start_date": "2027-06-01", "end_date": "2027-01-01"}), 422, []string{"end_date"}},
		{"revision: oversized", f.owner, "", review + "/revision", oversized("title"), 413, nil},

		// POST /api/v1/applications/:id/acceptance, withdrawal, cancellation
		{"acceptance: malformed JSON", f.owner, "", review + "/acceptance", `{"reason": `, 400, nil},
		{"acceptance: reason as number", f.owner, "", review + "/acceptance", map[string]any{"reason": 5}, 422, []string{"reason"}},
		{"acceptance: oversized", f.owner, "", review + "/acceptance", oversized("reason"), 413, nil},
		{"withdrawal: malformed JSON", f.owner, "", review + "/withdrawal", `{"reason": `, 400, nil},
		{"withdrawal: reason as list", f.owner, "", review + "/withdrawal", map[string]any{"reason": []string{"a"}}, 422, []string{"reason"}},
		{"withdrawal: reason too long", f.owner, "", review + "/withdrawal", map[string]any{"reason": long(2001)}, 422, []string{"reason"}},
		{"withdrawal: oversized", f.owner, "", review + "/withdrawal", oversized("reason"), 413, nil},
		{"cancellation: malformed JSON", f.admin, "", review + "/cancellation", `{"reason": `, 400, nil},
		{"cancellation: empty body", f.admin, "", review + "/cancellation", "", 400, nil},
		{"cancellation: missing reason", f.admin, "", review + "/cancellation", `{}`, 422, []string{"reason"}},
		{"cancellation: blank reason", f.admin, "", review + "/cancellation", map[string]any{"reason": "   "}, 422, []string{"reason"}},
		{"cancellation: oversized", f.admin, "", review + "/cancellation", oversized("reason"), 413, nil},

		// POST /api/v1/applications/:id/review-deadline
		{"review deadline: malformed JSON", f.admin, "", review + "/review-deadline", `{"days": `, 400, nil},
		{"review deadline: missing days", f.admin, "", review + "/review-deadline", `{}`, 422, []string{"days"}},
		{"review deadline: days as string", f.admin, "", review + "/review-deadline", map[string]any{"days": "7"}, 422, []string{"days"}},
		{"review deadline: days negative", f.admin, "", review + "/review-deadline", map[string]any{"days": -1}, 422, []string{"days"}},
		{"review deadline: days absurd", f.admin, "", review + "/review-deadline", map[string]any{"days": absurd}, 422, []string{"days"}},
		{"review deadline: oversized", f.admin, "", review + "/review-deadline", oversized("days"), 413, nil},

		// POST /api/v1/applications/:id/reports and assessment
		{"report: malformed JSON", f.owner, "", active + "/reports", `{"kind": "interim", `, 400, nil},
		{"report: missing fields", f.owner, "", active + "/reports", `{}`, 422, []string{"kind", "narrative", "actual_costs_cents"}},
		{"report: unknown kind", f.owner, "", active + "/reports", map[string]any{"kind": "weekly", "narrative": "n", "actual_costs_cents": 1}, 422, []string{"kind"}},
		{"report: costs negative", f.owner, "", active + "/reports", map[string]any{"kind": "interim", "narrative": "n", "actual_costs_cents": -1}, 422, []string{"actual_costs_cents"}},
		{"report: costs absurd", f.owner, "", active + "/reports", map[string]any{"kind": "interim", "narrative": "n", "actual_costs_cents": absurd}, 422, []string{"actual_costs_cents"}},
		{"report: costs as string", f.owner, "", active + "/reports", map[string]any{"kind": "interim", "narrative": "n", "actual_costs_cents": "900"}, 422, []string{"actual_costs_cents"}},
		{"report: oversized", f.owner, "", active + "/reports", oversized("narrative"), 413, nil},
		{"assessment: malformed JSON", f.reviewer, "", active + "/reports/rep-1/assessment", `{"decision": `, 400, nil},
		{"assessment: missing decision", f.reviewer, "", active + "/reports/rep-1/assessment", `{}`, 422, []string{"decision"}},
		{"assessment: unknown decision", f.reviewer, "", active + "/reports/rep-1/assessment", map[string]any{"decision": "perhaps"}, 422, []string{"decision"}},
		{"assessment: oversized", f.reviewer, "", active + "/reports/rep-1/assessment", oversized("comment"), 413, nil},

		// POST /api/v1/applications/:id/repayments
		{"repayment: malformed JSON", f.finance, "", active + "/repayments", `{"amount_cents": `, 400, nil},
		{"repayment: missing fields", f.finance, "", active + "/repayments", `{}`, 422, []string{"amount_cents", "bank_reference"}},
		{"repayment: amount negative", f.finance, "", active + "/repayments", map[string]any{"amount_cents": -5, "bank_reference": "R"}, 422, []string{"amount_cents"}},
		{"repayment: received_on not a date", f.finance, "", active + "/repayments", map[string]any{"amount_cents": 5, "bank_reference": "R", "received_on": "yesterday"}, 422, []string{"received_on"}},
		{"repayment: received_on in the future", f.finance, "", active + "/repayments", map[string]any{"amount_cents": 5, "bank_reference": "R", "received_on": "2999-12-31"}, 422, []string{"received_on"}},
		{"repayment: oversized", f.finance, "", active + "/repayments", oversized("bank_reference"), 413, nil},

		// POST /api/v1/disbursements/:id/approval, payment, failure
		{"approval: malformed JSON", f.finance, "", disb + "/approval", `{"comment": `, 400, nil},
		{"approval: comment as number", f.finance, "", disb + "/approval", map[string]any{"comment": 5}, 422, []string{"comment"}},
		{"approval: comment too long", f.finance, "", disb + "/approval", map[string]any{"comment": long(2001)}, 422, []string{"comment"}},
		{"approval: oversized", f.finance, "", disb + "/approval", oversized("comment"), 413, nil},
		{"payment: malformed JSON", f.finance2, "", disb + "/payment", `{"bank_reference": `, 400, nil},
		{"payment: missing bank_reference", f.finance2, "", disb + "/payment", `{}`, 422, []string{"bank_reference"}},
		{"payment: bank_reference as number", f.finance2, "", disb + "/payment", map[string]any{"bank_reference": 12}, 422, []string{"bank_reference"}},
		{"payment: bank_reference too long", f.finance2, "", disb + "/payment", map[string]any{"bank_reference": long(141)}, 422, []string{"bank_reference"}},
		{"payment: oversized", f.finance2, "", disb + "/payment", oversized("bank_reference"), 413, nil},
		{"failure: malformed JSON", f.finance, "", disb + "/failure", `{"reason": `, 400, nil},
		{"failure: missing reason", f.finance, "", disb + "/failure", `{}`, 422, []string{"reason"}},
		{"failure: oversized", f.finance, "", disb + "/failure", oversized("reason"), 413, nil},

		// GET /api/v1/disbursements/export
		{"export: unknown format", f.finance, "GET", "/api/v1/disbursements/export?format=pdf", nil, 422, []string{"format"}},
	}

	before := f.written(t, appReview, appActive)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "POST"
			}
			r := app.Do(t, method, c.path, c.user, c.body)
			if r.Status != c.want {
				t.Errorf("%s %s as %s = %d, want %d: %s", method, c.path, c.user.Role, r.Status, c.want, rigClip(r.Body))
			}
			checkProblemJSON(t, method+" "+c.path, r)
			if r.Status == 422 && len(c.fields) > 0 {
				got := problemFields(t, r)
				var missing []string
				for _, want := range c.fields {
					if !slices.Contains(got, want) {
						missing = append(missing, want)
					}
				}
				if len(missing) > 0 {
					t.Errorf("%s %s as %s: errors name fields %q, want the JSON field names %q among them",
						method, c.path, c.user.Role, got, missing)
				}
			}
			if d := before.diff(f.written(t, appReview, appActive)); len(d) > 0 {
				t.Errorf("%s %s as %s was rejected but changed: %s", method, c.path, c.user.Role, strings.Join(d, "; "))
				before = f.written(t, appReview, appActive)
			}
		})
	}

	// Without a Content-Length the limit must hold while the body is read.
	t.Run("oversized, chunked", func(t *testing.T) {
		for _, key := range []string{"", "chunked-1"} {
			req, err := http.NewRequest("POST", app.URL+apps, io.MultiReader(strings.NewReader(oversized("title"))))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+f.owner.Token)
			req.Header.Set("Content-Type", "application/json")
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r := apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
			if r.Status != http.StatusRequestEntityTooLarge || resp.ContentLength == 0 && len(body) == 0 {
				t.Errorf("chunked oversized POST %s (Idempotency-Key %q) = %d, want 413: %s", apps, key, r.Status, rigClip(body))
			}
			checkProblemJSON(t, "chunked oversized POST "+apps, r)
		}
		if d := before.diff(f.written(t, appReview, appActive)); len(d) > 0 {
			t.Errorf("chunked oversized POSTs were rejected but changed: %s", strings.Join(d, "; "))
		}
	})

	t.Run("no workflow started", func(t *testing.T) {
		f.awaitWorkflowCount(t, 2)
		// A valid submission shows the count would have moved.
		f.submit(t, f.proposal())
		f.awaitWorkflowCount(t, 3)
	})
}

// TestIdempotency checks Idempotency-Key on the POSTs that create something
// or move money, and that retries without a key do not act twice.
func TestIdempotency(t *testing.T) {
	f := newRig(t)
	app := f.app

	t.Run("create application", func(t *testing.T) {
		before := len(f.applicationIDs(t))
		wfBefore := f.workflowCount(t)
		body := f.proposal()
		var first, second rigApp
		r1 := app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", f.owner, body, "Idempotency-Key", "create-1")
		r1.JSON(t, &first)
		r2 := app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", f.owner, body, "Idempotency-Key", "create-1")
		r2.JSON(t, &second)
		if first.ID == "" || first.ID != second.ID {
			t.Errorf("the same POST /api/v1/applications twice with one key created ids %q and %q, want one id", first.ID, second.ID)
		}
		if got := len(f.applicationIDs(t)); got != before+1 {
			t.Errorf("applications listed = %d, want %d", got, before+1)
		}
		f.awaitWorkflowCount(t, wfBefore+1)

		changed := with(body, map[string]any{"title": "Another project"})
		r3 := app.Do(t, "POST", "/api/v1/applications", f.owner, changed, "Idempotency-Key", "create-1")
		if r3.Status != http.StatusUnprocessableEntity {
			t.Errorf("the same key with another body = %d, want 422: %s", r3.Status, rigClip(r3.Body))
		}
		checkProblemJSON(t, "the same key with another body", r3)
		if got := len(f.applicationIDs(t)); got != before+1 {
			t.Errorf("applications listed after the reused key = %d, want %d", got, before+1)
		}
		f.awaitWorkflowCount(t, wfBefore+1)
	})

	t.Run("payment", func(t *testing.T) {
		id := f.submit(t, f.proposal())
		f.activate(t, id)
		t1 := f.tranche(t, id, 1)
		f.approve(t, t1.ID, f.finance)
		l0 := f.ledger(t)
		path := "/api/v1/disbursements/" + t1.ID + "/payment"
		body := map[string]any{"bank_reference": "IDEM-REF-1"}
		r1 := app.Must(t, http.StatusOK, "POST", path, f.finance2, body, "Idempotency-Key", "pay-1")
		l1 := f.ledger(t)
		if l1.PaidCents-l0.PaidCents != t1.AmountCents {
			t.Errorf("ledger paid_cents %d → %d after the payment, want +%d", l0.PaidCents, l1.PaidCents, t1.AmountCents)
		}
		r2 := app.Must(t, http.StatusOK, "POST", path, f.finance2, body, "Idempotency-Key", "pay-1")
		if !bytes.Equal(r1.Body, r2.Body) {
			t.Errorf("the repeated payment answered\n%s\nwant the first answer\n%s", rigClip(r2.Body), rigClip(r1.Body))
		}
		if l2 := f.ledger(t); l2 != l1 {
			t.Errorf("ledger after the repeated payment = %+v, want %+v", l2, l1)
		}
		r3 := app.Do(t, "POST", path, f.finance2, body)
		if r3.Status != http.StatusConflict {
			t.Errorf("the payment repeated without a key = %d, want 409: %s", r3.Status, rigClip(r3.Body))
		}
		checkProblemJSON(t, "payment without a key", r3)
		if l3 := f.ledger(t); l3 != l1 {
			t.Errorf("ledger after the payment repeated without a key = %+v, want %+v", l3, l1)
		}
		if got := f.tranche(t, id, 1); got.Status != "paid" || got.BankReference != "IDEM-REF-1" {
			t.Errorf("tranche is %s (ref %q), want paid with IDEM-REF-1", got.Status, got.BankReference)
		}
	})

	t.Run("review repeated without key", func(t *testing.T) {
		id := f.submit(t, f.proposal())
		body := reviewBody("approve", 4, "looks good")
		app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+id+"/reviews", f.reviewer, body)
		r := app.Do(t, "POST", "/api/v1/applications/"+id+"/reviews", f.reviewer, body)
		if r.Status != http.StatusOK && r.Status != http.StatusConflict {
			t.Errorf("the repeated review = %d, want 200 (the first answer) or 409: %s", r.Status, rigClip(r.Body))
		}
		n := 0
		for _, v := range f.state(t, id).Votes {
			if v.ReviewerID == f.reviewer.ID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("votes of the reviewer after a repeated review = %d, want 1", n)
		}
	})

	// A payment that fails goes back to due; approving it again is a new
	// action even though its request looks like the first approval.
	t.Run("approval after a failed payment", func(t *testing.T) {
		id := f.submit(t, f.proposal())
		f.activate(t, id)
		t1 := f.tranche(t, id, 1)
		l0 := f.ledger(t)
		f.approve(t, t1.ID, f.finance)
		f.pay(t, t1.ID, f.finance2, "RUN-1")
		fail := map[string]any{"reason": "returned by the bank"}
		app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+t1.ID+"/failure", f.finance, fail)
		if got := f.tranche(t, id, 1); got.Status != "due" {
			t.Fatalf("tranche after the failure is %s, want due", got.Status)
		}
		if l := f.ledger(t); l.PaidCents != l0.PaidCents {
			t.Errorf("ledger paid_cents after the returned payment = %d, want %d", l.PaidCents, l0.PaidCents)
		}
		r := app.Do(t, "POST", "/api/v1/disbursements/"+t1.ID+"/approval", f.finance, map[string]any{})
		if got := f.tranche(t, id, 1); r.Status != http.StatusOK || got.Status != "approved" {
			t.Errorf("POST /api/v1/disbursements/%s/approval again (same user, same body {}, no key) = %d, tranche %s; want 200 and approved",
				t1.ID, r.Status, got.Status)
			// Go on with a request that differs, to reach the second failure.
			f.app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+t1.ID+"/approval", f.finance, map[string]any{"comment": "second attempt"})
		}
		f.pay(t, t1.ID, f.finance2, "RUN-2")
		if l := f.ledger(t); l.PaidCents != l0.PaidCents+t1.AmountCents {
			t.Errorf("ledger paid_cents after the second payment = %d, want %d", l.PaidCents, l0.PaidCents+t1.AmountCents)
		}
		r = app.Do(t, "POST", "/api/v1/disbursements/"+t1.ID+"/failure", f.finance, fail)
		if got := f.tranche(t, id, 1); r.Status != http.StatusOK || got.Status != "due" {
			t.Errorf("POST /api/v1/disbursements/%s/failure again (same user, same reason, no key) = %d, tranche %s; want 200 and due",
				t1.ID, r.Status, got.Status)
		}
		if l := f.ledger(t); l.PaidCents != l0.PaidCents {
			t.Errorf("ledger paid_cents after the second returned payment = %d, want %d", l.PaidCents, l0.PaidCents)
		}
	})

	// A reviewer who votes in a new round after a revision casts a new vote,
	// even if it reads like the vote of the round before.
	t.Run("same vote in the next review round", func(t *testing.T) {
		id := f.submit(t, f.proposal())
		body := reviewBody("revise", 3, "please sharpen the milestones")
		for _, r := range []apptest.User{f.reviewer, f.reviewer2, f.reviewer3} {
			app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+id+"/reviews", r, body)
		}
		if st := f.state(t, id).Status; st != "revision_requested" {
			t.Fatalf("after three revise votes the application is %s, want revision_requested", st)
		}
		revised := with(f.proposal(), map[string]any{"programme_id": nil, "title": "Click & Collect Altstadt, sharper milestones"})
		app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+id+"/revision", f.owner, revised)
		r := app.Do(t, "POST", "/api/v1/applications/"+id+"/reviews", f.reviewer, body)
		var rounds []int
		for _, v := range f.state(t, id).Votes {
			if v.ReviewerID == f.reviewer.ID {
				rounds = append(rounds, v.Round)
			}
		}
		if r.Status != http.StatusOK || !slices.Equal(rounds, []int{0, 1}) {
			t.Errorf("POST /api/v1/applications/%s/reviews in round 1 with the body of round 0 = %d, the reviewer's votes are in rounds %v; want 200 and rounds [0 1]",
				id, r.Status, rounds)
		}
	})
}

// painDocument is what the test reads of a pain.001.001.09 file.
type painDocument struct {
	GrpHdr struct {
		NbOfTxs string `xml:"NbOfTxs"`
		CtrlSum string `xml:"CtrlSum"`
	} `xml:"CstmrCdtTrfInitn>GrpHdr"`
	PmtInf []struct {
		NbOfTxs  string `xml:"NbOfTxs"`
		CtrlSum  string `xml:"CtrlSum"`
		DbtrIBAN string `xml:"DbtrAcct>Id>IBAN"`
		Txs      []struct {
			Amount string `xml:"Amt>InstdAmt"`
			IBAN   string `xml:"CdtrAcct>Id>IBAN"`
			Name   string `xml:"Cdtr>Nm"`
		} `xml:"CdtTrfTxInf"`
	} `xml:"CstmrCdtTrfInitn>PmtInf"`
}

// cents parses a SEPA amount ("1234.5" or "1234.56") into cents.
func cents(t *testing.T, s string) int64 {
	t.Helper()
	euros, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	e, err1 := strconv.ParseInt(euros, 10, 64)
	c, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || len(frac) != 2 {
		t.Fatalf("amount %q is not a decimal with at most two places", s)
	}
	return e*100 + c
}

// TestSEPAExport exports approved disbursements as pain.001 and CSV.
func TestSEPAExport(t *testing.T) {
	f := newRig(t)
	app := f.app
	payees := map[string]string{} // application id → payee IBAN
	newActive := func(iban string, requested int64) string {
		body := apptest.Proposal(f.prog, f.owner.Organisation, requested)
		body["payee"] = map[string]any{"name": "Cafe Mitte GmbH", "iban": iban}
		id := f.submit(t, body)
		f.activate(t, id)
		payees[id] = strings.ReplaceAll(iban, " ", "")
		return id
	}
	// Two approved, unpaid tranches (with other payees than the programme's
	// own account), one paid and one only due.
	appA := newActive("DE02 1203 0000 0000 2020 51", 1_000_000)
	appB := newActive("DE02500105170137075030", 1_234_567)
	appPaid := newActive("DE02120300000000202051", 800_000)
	appDue := newActive("DE02500105170137075030", 600_000)
	for _, id := range []string{appA, appB, appPaid} {
		f.approve(t, f.tranche(t, id, 1).ID, f.finance)
	}
	f.pay(t, f.tranche(t, appPaid, 1).ID, f.finance2, "PAID-1")
	if st := f.tranche(t, appDue, 1).Status; st != "due" {
		t.Fatalf("tranche 1 of %s is %s, want due", appDue, st)
	}
	approved := f.disbursements(t, "status=approved")
	if len(approved) != 2 {
		t.Fatalf("approved disbursements = %d, want 2: %+v", len(approved), approved)
	}
	var total int64
	byIBAN := map[string]int64{}
	for _, d := range approved {
		total += d.AmountCents
		byIBAN[payees[d.ApplicationID]] += d.AmountCents
	}

	var batch string
	t.Run("sepa", func(t *testing.T) {
		// Four eyes before the money leaves: the approver cannot make the file.
		app.Must(t, http.StatusNotFound, "GET", "/api/v1/disbursements/export?format=sepa", f.finance, nil)
		r := app.Must(t, http.StatusOK, "GET", "/api/v1/disbursements/export?format=sepa", f.finance2, nil)
		batch = r.Header.Get("Export-Batch")
		// Never pay twice: a second export carries nothing already exported.
		app.Must(t, http.StatusNotFound, "GET", "/api/v1/disbursements/export?format=sepa", f.finance2, nil)
		if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "xml") {
			t.Errorf("Content-Type = %q, want XML", ct)
		}
		var doc painDocument
		if err := xml.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("parse pain.001: %v\n%s", err, rigClip(r.Body))
		}
		if doc.GrpHdr.NbOfTxs != strconv.Itoa(len(approved)) || cents(t, doc.GrpHdr.CtrlSum) != total {
			t.Errorf("GrpHdr NbOfTxs %s CtrlSum %s, want %d and %d cents", doc.GrpHdr.NbOfTxs, doc.GrpHdr.CtrlSum, len(approved), total)
		}
		if len(doc.PmtInf) != 1 {
			t.Fatalf("PmtInf blocks = %d, want 1", len(doc.PmtInf))
		}
		pi := doc.PmtInf[0]
		if pi.NbOfTxs != strconv.Itoa(len(approved)) || cents(t, pi.CtrlSum) != total {
			t.Errorf("PmtInf NbOfTxs %s CtrlSum %s, want %d and %d cents", pi.NbOfTxs, pi.CtrlSum, len(approved), total)
		}
		if pi.DbtrIBAN != "DE89370400440532013000" {
			t.Errorf("debtor IBAN = %s, want the programme's DE89370400440532013000", pi.DbtrIBAN)
		}
		got := map[string]int64{}
		for _, tx := range pi.Txs {
			got[tx.IBAN] += cents(t, tx.Amount)
		}
		if !maps.Equal(got, byIBAN) {
			t.Errorf("credit transfers by creditor IBAN = %v, want the payees' %v", got, byIBAN)
		}

		t.Run("schema", func(t *testing.T) {
			xmllint, err := exec.LookPath("xmllint")
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatal("xmllint is missing (install libxml2-utils); CI must validate the SEPA file")
				}
				t.Skip("xmllint is missing: install libxml2-utils to validate the SEPA file against the EPC schema")
			}
			file := filepath.Join(t.TempDir(), "pain.001.xml")
			if err := os.WriteFile(file, r.Body, 0o600); err != nil {
				t.Fatal(err)
			}
			xsd := filepath.Join("..", "internal", "paymentfile", "testdata", "pain.001.001.09-EPC-SCT-2023.xsd")
			out, err := exec.Command(xmllint, "--noout", "--schema", xsd, file).CombinedOutput()
			if err != nil {
				t.Errorf("xmllint --schema %s: %v\n%s", xsd, err, out)
			}
		})
	})

	t.Run("csv", func(t *testing.T) {
		// The same batch again, as CSV (for the books).
		r := app.Must(t, http.StatusOK, "GET", "/api/v1/disbursements/export?format=csv&batch="+batch, f.finance, nil)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("Content-Type = %q, want text/csv", ct)
		}
		records, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("parse CSV: %v\n%s", err, r.Body)
		}
		if len(records) != 1+len(approved) {
			t.Fatalf("CSV has %d rows after the header, want %d:\n%s", len(records)-1, len(approved), r.Body)
		}
		col := map[string]int{}
		for i, h := range records[0] {
			col[h] = i
		}
		ibanCol, ok1 := col["payee_iban"]
		amountCol, ok2 := col["amount_cents"]
		if !ok1 || !ok2 {
			t.Fatalf("CSV header %v lacks payee_iban or amount_cents", records[0])
		}
		got := map[string]int64{}
		for _, rec := range records[1:] {
			n, err := strconv.ParseInt(rec[amountCol], 10, 64)
			if err != nil {
				t.Fatalf("amount_cents %q: %v", rec[amountCol], err)
			}
			got[rec[ibanCol]] += n
		}
		if !maps.Equal(got, byIBAN) {
			t.Errorf("CSV amounts by payee IBAN = %v, want %v", got, byIBAN)
		}
	})
}
