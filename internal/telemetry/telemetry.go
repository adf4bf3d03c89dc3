// Package telemetry counts what a process asks of its database and of
// Temporal: SQL statements (GORM callbacks on every store) and Temporal
// gRPC calls by method (an interceptor on every client the process dials).
// The load command reads them to report the cost of one lifecycle.
package telemetry

import (
	"context"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
)

var (
	statements atomic.Int64
	mu         sync.Mutex
	calls      = map[string]int64{}
	// byShape counts statements by verb and table once Breakdown is on.
	breakdown atomic.Bool
	byShape   = map[string]int64{}
)

// Statement counts one SQL statement.
func Statement() { statements.Add(1) }

// Breakdown turns on counting statements by shape (StatementSQL).
func Breakdown() { breakdown.Store(true) }

// StatementSQL counts one SQL statement and, with Breakdown on, its shape:
// its verb and table ("INSERT tranches", "SELECT users").
func StatementSQL(sql string) {
	statements.Add(1)
	if !breakdown.Load() {
		return
	}
	shape := Shape(sql)
	mu.Lock()
	byShape[shape]++
	mu.Unlock()
}

// Shape is a statement's verb and first table.
func Shape(sql string) string {
	f := strings.Fields(sql)
	if len(f) == 0 {
		return "?"
	}
	verb := strings.ToUpper(f[0])
	after := ""
	switch verb {
	case "INSERT", "DELETE":
		after = "INTO"
		if verb == "DELETE" {
			after = "FROM"
		}
	case "SELECT":
		after = "FROM"
	case "UPDATE":
		if len(f) > 1 {
			return verb + " " + strings.Trim(f[1], `"`+"`")
		}
	}
	for i := 1; i < len(f)-1; i++ {
		if strings.EqualFold(f[i], after) {
			return verb + " " + strings.Trim(f[i+1], `"`+"`")
		}
	}
	return verb
}

// Counts is a snapshot of the counters.
type Counts struct {
	Statements int64
	// Calls are Temporal gRPC calls by method (e.g. "UpdateWorkflowExecution").
	Calls map[string]int64
	// Shapes are statements by verb and table (with Breakdown on).
	Shapes map[string]int64
}

// Snapshot returns the counters now.
func Snapshot() Counts {
	mu.Lock()
	defer mu.Unlock()
	return Counts{Statements: statements.Load(), Calls: maps.Clone(calls), Shapes: maps.Clone(byShape)}
}

// Since is what was counted after before.
func (c Counts) Since(before Counts) Counts {
	out := Counts{Statements: c.Statements - before.Statements, Calls: map[string]int64{}, Shapes: map[string]int64{}}
	for k, v := range c.Calls {
		if d := v - before.Calls[k]; d > 0 {
			out.Calls[k] = d
		}
	}
	for k, v := range c.Shapes {
		if d := v - before.Shapes[k]; d > 0 {
			out.Shapes[k] = d
		}
	}
	return out
}

// UnaryClientInterceptor counts each call a Temporal client makes.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		name := method
		for i := len(method) - 1; i >= 0; i-- {
			if method[i] == '/' {
				name = method[i+1:]
				break
			}
		}
		mu.Lock()
		calls[name]++
		mu.Unlock()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
