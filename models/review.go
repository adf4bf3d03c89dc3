package models

import (
	"slices"
	"time"
)

// Vote is one reviewer's scores and recommendation in one review round.
type Vote struct {
	ReviewerID     string         `json:"reviewer_id"`
	ReviewerName   string         `json:"reviewer_name"`
	Organisation   string         `json:"organisation"`
	OrganisationID string         `json:"organisation_id,omitempty"`
	Recommendation Recommendation `json:"recommendation"`
	Scores         map[string]int `json:"scores"`
	Comment        string         `json:"comment"`
	Round          int            `json:"round"`
	At             time.Time      `json:"at"`
}

// Decision is the outcome of a review round.
type Decision string

// The decisions a review round can reach.
const (
	DecisionApprove Decision = "approve"
	DecisionReject  Decision = "reject"
	DecisionRevise  Decision = "revise"
)

// ValidateScores checks one reviewer's scores: every criterion is scored,
// each score lies within [ScoreMin, ScoreMax], and no unknown criterion is
// scored. Criteria are reported in the order of r.Criteria, unknown keys in
// sorted order, so the result is deterministic. nil means valid.
func (r Rules) ValidateScores(scores map[string]int) []FieldError {
	var errs fieldErrors
	known := make(map[string]bool, len(r.Criteria))
	for _, c := range r.Criteria {
		known[c.Name] = true
		s, ok := scores[c.Name]
		switch {
		case !ok:
			errs.add("scores."+c.Name, "is required")
		case s < r.ScoreMin || s > r.ScoreMax:
			errs.add("scores."+c.Name, "must be between %d and %d", r.ScoreMin, r.ScoreMax)
		}
	}
	var unknown []string
	for name := range scores {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		errs.add("scores."+name, "is not a criterion of this programme (criteria: %s)", criteriaNames(r.Criteria))
	}
	return errs
}

// criteriaNames lists the criteria's names, comma-separated.
func criteriaNames(criteria []Criterion) string {
	s := ""
	for i, c := range criteria {
		if i > 0 {
			s += ", "
		}
		s += c.Name
	}
	return s
}

// WeightedMeanMilli returns the weighted mean score over all votes and
// criteria, in thousandths of a point (3250 = 3.25), rounded half up. It sums
// weight × score over every vote and every criterion the vote scores, divides
// by the sum of those weights, and uses integer arithmetic only. A criterion
// a vote does not score counts neither in the sum nor in the weights; keys
// that are no criterion are ignored; criteria with a weight below 1 are
// ignored. No votes (or nothing scored) gives 0. It iterates r.Criteria, never
// a map, so it is deterministic.
func (r Rules) WeightedMeanMilli(votes []Vote) int {
	var sum, weights int64
	for _, v := range votes {
		for _, c := range r.Criteria {
			s, ok := v.Scores[c.Name]
			if !ok || c.Weight < 1 {
				continue
			}
			sum += int64(c.Weight) * int64(s)
			weights += int64(c.Weight)
		}
	}
	if weights == 0 {
		return 0
	}
	// round(sum × 1000 / weights), half up: floor((2 × sum × 1000 + weights) / (2 × weights)).
	return int(floorDiv(2*sum*1000+weights, 2*weights))
}

// Decide reaches the decision of a review round from its votes (the caller
// passes the votes of the current round only). revisionRound is the number of
// revisions requested so far (0 in the first round), so at most
// r.MaxRevisionRounds revisions are ever requested.
//
// The rule, counting the recommendations of the n votes:
//
//  1. Revise if revise wins — strictly more than half recommend revise, or
//     revise has the most votes (strictly more than reject; a tie with
//     approve goes to revise, a tie with reject does not) — and
//     revisionRound < r.MaxRevisionRounds.
//  2. Otherwise approve iff strictly more than half of the n votes recommend
//     approve AND WeightedMeanMilli(votes) >= r.ApprovalThresholdMilli.
//  3. Otherwise reject.
//
// Consequences: no votes reject; once the revision rounds are used up, a
// round in which revise wins is rejected (approve cannot then have a
// majority); an approve majority with too low a mean score is rejected.
func (r Rules) Decide(votes []Vote, revisionRound int) Decision {
	approve, reject, revise := countRecommendations(votes)
	n := len(votes)
	reviseWins := 2*revise > n || (revise > reject && revise >= approve)
	switch {
	case reviseWins && revisionRound < r.MaxRevisionRounds:
		return DecisionRevise
	case 2*approve > n && r.WeightedMeanMilli(votes) >= r.ApprovalThresholdMilli:
		return DecisionApprove
	default:
		return DecisionReject
	}
}

// countRecommendations counts the votes per recommendation; unknown
// recommendations count for none (but still count in the number of votes).
func countRecommendations(votes []Vote) (approve, reject, revise int) {
	for _, v := range votes {
		switch v.Recommendation {
		case RecommendApprove:
			approve++
		case RecommendReject:
			reject++
		case RecommendRevise:
			revise++
		}
	}
	return approve, reject, revise
}
