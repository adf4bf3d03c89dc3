package models

import (
	"slices"
	"testing"
)

func TestValidateScores(t *testing.T) {
	r := validRules() // impact ×2, feasibility ×1, partnership ×1; 0..5
	tests := []struct {
		name   string
		scores map[string]int
		want   []FieldError
	}{
		{"valid", map[string]int{"impact": 5, "feasibility": 0, "partnership": 3}, nil},
		{"missing", map[string]int{"impact": 5, "partnership": 3}, []FieldError{
			{"scores.feasibility", "is required"},
		}},
		{"nil", nil, []FieldError{
			{"scores.impact", "is required"}, {"scores.feasibility", "is required"}, {"scores.partnership", "is required"},
		}},
		{"out of range", map[string]int{"impact": 6, "feasibility": -1, "partnership": 3}, []FieldError{
			{"scores.impact", "must be between 0 and 5"}, {"scores.feasibility", "must be between 0 and 5"},
		}},
		{"unknown, sorted after the criteria", map[string]int{"zeta": 1, "impact": 5, "alpha": 1, "feasibility": 4}, []FieldError{
			{"scores.partnership", "is required"},
			{"scores.alpha", "is not a criterion of this programme (criteria: impact, feasibility, partnership)"},
			{"scores.zeta", "is not a criterion of this programme (criteria: impact, feasibility, partnership)"},
		}},
	}
	for _, tt := range tests {
		if got := r.ValidateScores(tt.scores); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ValidateScores(%v) = %+v, want %+v", tt.name, tt.scores, got, tt.want)
		}
	}
}

// vote scores impact, feasibility and partnership (weights 2, 1, 1).
func vote(rec Recommendation, impact, feasibility, partnership int) Vote {
	return Vote{Recommendation: rec, Scores: map[string]int{
		"impact": impact, "feasibility": feasibility, "partnership": partnership,
	}}
}

func TestWeightedMeanMilli(t *testing.T) {
	r := validRules()
	tests := []struct {
		name  string
		votes []Vote
		want  int
	}{
		{"no votes", nil, 0},
		{"all top", []Vote{vote(RecommendApprove, 5, 5, 5)}, 5000},
		{"weighted", []Vote{vote(RecommendApprove, 4, 3, 2)}, 3250},                                   // (8+3+2)/4
		{"weights favour impact", []Vote{vote(RecommendApprove, 2, 5, 5)}, 3500},                      // (4+5+5)/4
		{"two votes", []Vote{vote(RecommendApprove, 4, 3, 2), vote(RecommendApprove, 5, 5, 5)}, 4125}, // 33/8
		{"x.0625 rounds half up", []Vote{
			vote(RecommendApprove, 3, 3, 3), vote(RecommendApprove, 3, 3, 3),
			vote(RecommendApprove, 3, 3, 3), vote(RecommendApprove, 3, 3, 4),
		}, 3063}, // 49/16 = 3.0625
		{"a third rounds down", []Vote{
			vote(RecommendApprove, 3, 3, 3), vote(RecommendApprove, 3, 3, 3), vote(RecommendApprove, 3, 3, 4),
		}, 3083}, // 37/12
		{"two thirds round up", []Vote{
			vote(RecommendApprove, 3, 3, 3), vote(RecommendApprove, 3, 3, 4), vote(RecommendApprove, 3, 3, 4),
		}, 3167}, // 38/12
		{"all zero", []Vote{vote(RecommendReject, 0, 0, 0)}, 0},
		{"unscored criteria and unknown keys do not count", []Vote{
			{Scores: map[string]int{"impact": 5, "bogus": 0}},
			vote(RecommendApprove, 1, 1, 1),
		}, 2333}, // (10+4)/(2+4)
		{"nothing scored", []Vote{{Scores: map[string]int{}}}, 0},
	}
	for _, tt := range tests {
		if got := r.WeightedMeanMilli(tt.votes); got != tt.want {
			t.Errorf("%s: WeightedMeanMilli(%+v) = %d, want %d", tt.name, tt.votes, got, tt.want)
		}
	}
}

func TestWeightedMeanMilliNegativeScores(t *testing.T) {
	r := validRules()
	r.Criteria = []Criterion{{"only", 1}}
	r.ScoreMin, r.ScoreMax = -2, 2
	tests := []struct {
		scores []int
		want   int
	}{
		{[]int{-1, -2}, -1500}, // exact
		{[]int{-1, 0, 0, 0, 0, 0, 0, 0}, -125},
		{[]int{-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, -62}, // −62.5 half up
	}
	for _, tt := range tests {
		var votes []Vote
		for _, s := range tt.scores {
			votes = append(votes, Vote{Scores: map[string]int{"only": s}})
		}
		if got := r.WeightedMeanMilli(votes); got != tt.want {
			t.Errorf("WeightedMeanMilli(scores %v) = %d, want %d", tt.scores, got, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	r := validRules() // threshold 3000, at most 2 revision rounds
	a := func(score int) Vote { return vote(RecommendApprove, score, score, score) }
	j := func(score int) Vote { return vote(RecommendReject, score, score, score) }
	v := func(score int) Vote { return vote(RecommendRevise, score, score, score) }
	tests := []struct {
		name  string
		votes []Vote
		round int
		max   int
		want  Decision
	}{
		{"unanimous approve, high scores", []Vote{a(4), a(5), a(4)}, 0, 2, DecisionApprove},
		{"unanimous approve, low scores", []Vote{a(2), a(3), a(2)}, 0, 2, DecisionReject},
		{"approve majority, mean exactly at the threshold", []Vote{a(4), a(4), j(1)}, 0, 2, DecisionApprove},
		{"approve majority, mean just below the threshold", []Vote{a(4), a(4), j(0)}, 0, 2, DecisionReject}, // 2.667
		{"approve majority, low scores", []Vote{a(3), a(3), j(2)}, 0, 2, DecisionReject},
		{"approve only half", []Vote{a(5), a(5), j(5), v(5)}, 0, 2, DecisionReject},
		{"unanimous reject", []Vote{j(1), j(0), j(2)}, 0, 2, DecisionReject},
		{"three-way split", []Vote{a(4), j(4), v(4)}, 0, 2, DecisionReject},
		{"revise majority", []Vote{v(3), v(3), a(4)}, 0, 2, DecisionRevise},
		{"revise majority in the last allowed round", []Vote{v(3), v(3), a(4)}, 1, 2, DecisionRevise},
		{"revise majority at the round limit", []Vote{v(3), v(3), a(5)}, 2, 2, DecisionReject},
		{"revise majority, no revisions allowed", []Vote{v(3), v(3), v(3)}, 0, 0, DecisionReject},
		{"revise ties approve: revise", []Vote{a(5), a(5), v(5), v(5)}, 0, 2, DecisionRevise},
		{"revise ties approve at the round limit", []Vote{a(5), a(5), v(5), v(5)}, 2, 2, DecisionReject},
		{"revise plurality over reject and approve", []Vote{v(3), v(3), j(3), a(3)}, 0, 2, DecisionRevise},
		{"revise ties reject: no revision", []Vote{v(3), v(3), j(3), j(3), a(5)}, 0, 2, DecisionReject},
		{"approve majority beats revise", []Vote{a(4), a(4), a(4), v(4), v(4)}, 0, 2, DecisionApprove},
		{"unknown recommendation counts as a vote", []Vote{a(5), vote("abstain", 5, 5, 5)}, 0, 2, DecisionReject},
		{"no votes", nil, 0, 2, DecisionReject},
	}
	for _, tt := range tests {
		r.MaxRevisionRounds = tt.max
		if got := r.Decide(tt.votes, tt.round); got != tt.want {
			t.Errorf("%s: Decide(%v, round %d, max %d) = %q, want %q", tt.name, recommendations(tt.votes), tt.round, tt.max, got, tt.want)
		}
	}
}

// recommendations lists the votes' recommendations for messages.
func recommendations(votes []Vote) []Recommendation {
	out := make([]Recommendation, len(votes))
	for i, v := range votes {
		out[i] = v.Recommendation
	}
	return out
}
