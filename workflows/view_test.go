package workflows

import (
	"testing"
	"time"

	"reallabor/models"
)

// TestNextForTheViewer: the viewer's own steps come first and are marked;
// a final report overdue while the interim one is out is listed too.
func TestNextForTheViewer(t *testing.T) {
	interim, final := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	s := models.ApplicationState{Status: models.StatusActive,
		Deadlines: models.Deadlines{InterimReport: &interim, FinalReport: &final},
		Reminders: models.Reminders{InterimOverdue: true, FinalOverdue: true},
		Tranches:  []models.Tranche{{Status: models.TrancheDue}}}
	applicant := NextFor(s, models.Actor{Role: models.RoleApplicant})
	if len(applicant) != 3 || !applicant[0].Yours || !applicant[1].Yours || applicant[2].Yours ||
		applicant[0].Action != "submit_interim_report" || applicant[1].Action != "submit_final_report" ||
		applicant[2].Action != "approve_disbursement" {
		t.Errorf("applicant's next = %+v, want both reports (its own, marked) then finance's approval", applicant)
	}
	fin := NextFor(s, models.Actor{Role: models.RoleFinance})
	if len(fin) != 3 || fin[0].Action != "approve_disbursement" || !fin[0].Yours || fin[1].Yours {
		t.Errorf("finance's next = %+v, want its approval first, marked", fin)
	}
	if stored := NextSteps(s); len(stored) != 2 {
		t.Errorf("the recorded list changed: %+v", stored)
	}
}
