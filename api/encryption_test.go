package api_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"

	"reallabor/internal/apptest"
	"reallabor/workflows"
)

// TestPayloadsEncryptedInTemporal: what an operator with access to Temporal
// reads of an application's history (the payee's IBAN, a reviewer's comment)
// is ciphertext; with the codec (as the Web UI uses it through the codec
// endpoint) it is the application again.
func TestPayloadsEncryptedInTemporal(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 10_000_000, nil)
	applicant := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	reviewer := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	var st struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &st)
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+st.ID+"/reviews", reviewer,
		map[string]any{"recommendation": "approve", "scores": apptest.Scores(4), "comment": "vertraulicher Kommentar"})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hist := &historypb.History{}
	iter := app.Temporal.GetWorkflowHistory(ctx, workflows.WorkflowID(st.ID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	secrets := [][]byte{[]byte("DE89370400440532013000"), []byte("vertraulicher Kommentar")}
	contains := func(decode bool) (found int, payloads int) {
		h := &historypb.History{}
		h.Events = append(h.Events, hist.Events...)
		_ = proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				if decode {
					var err error
					if ps, err = app.Codec.Decode(ps); err != nil {
						t.Errorf("decode: %v", err)
						return ps, nil
					}
				}
				for _, p := range ps {
					payloads++
					for _, s := range secrets {
						if bytes.Contains(p.Data, s) {
							found++
						}
					}
				}
				return ps, nil
			}})
		return found, payloads
	}
	if found, n := contains(false); found != 0 || n == 0 {
		t.Errorf("raw history: %d of %d payloads hold the IBAN or the comment in clear, want none", found, n)
	}
	if found, _ := contains(true); found < 2 {
		t.Errorf("decoded history: the IBAN and the comment found %d times, want both", found)
	}
}
