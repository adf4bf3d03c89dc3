package workflows

// How far the projection is written travels with every action (the API read
// it with the application row): the workflow then knows what of its staged
// writes is in the database (see "caller-writes" in effects.go).

// Written is an action's input that says how far the projection is written.
type Written interface {
	Sealable
	writtenSeq() int64
	// WithWrittenSeq is the input saying seq is written.
	WithWrittenSeq(seq int64) Written
}

func (in ReviewInput) writtenSeq() int64            { return in.WrittenSeq }
func (in RevisionInput) writtenSeq() int64          { return in.WrittenSeq }
func (in ActionInput) writtenSeq() int64            { return in.WrittenSeq }
func (in ExtendInput) writtenSeq() int64            { return in.WrittenSeq }
func (in DisbursementInput) writtenSeq() int64      { return in.WrittenSeq }
func (in ReportInput) writtenSeq() int64            { return in.WrittenSeq }
func (in AssessInput) writtenSeq() int64            { return in.WrittenSeq }
func (in AmendmentInput) writtenSeq() int64         { return in.WrittenSeq }
func (in AmendmentDecisionInput) writtenSeq() int64 { return in.WrittenSeq }
func (in DrawdownInput) writtenSeq() int64          { return in.WrittenSeq }
func (in InvitationInput) writtenSeq() int64        { return in.WrittenSeq }
func (in RepaymentActionInput) writtenSeq() int64   { return in.WrittenSeq }

// WithWrittenSeq is the input saying seq is written.
func (in ReviewInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in RevisionInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in ActionInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in ExtendInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in DisbursementInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in ReportInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in AssessInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in AmendmentInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in AmendmentDecisionInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in DrawdownInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in InvitationInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }

// WithWrittenSeq is the input saying seq is written.
func (in RepaymentActionInput) WithWrittenSeq(seq int64) Written { in.WrittenSeq = seq; return in }
