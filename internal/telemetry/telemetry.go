// Package telemetry counts what a process asks of its database and of
// Temporal: SQL statements (GORM callbacks on every store) and Temporal
// gRPC calls by method (an interceptor on every client the process dials).
// The load command reads them to report the cost of one lifecycle.
package telemetry

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
)

var (
	statements atomic.Int64
	mu         sync.Mutex
	calls      = map[string]int64{}
)

// Statement counts one SQL statement.
func Statement() { statements.Add(1) }

// Counts is a snapshot of the counters.
type Counts struct {
	Statements int64
	// Calls are Temporal gRPC calls by method (e.g. "UpdateWorkflowExecution").
	Calls map[string]int64
}

// Snapshot returns the counters now.
func Snapshot() Counts {
	mu.Lock()
	defer mu.Unlock()
	return Counts{Statements: statements.Load(), Calls: maps.Clone(calls)}
}

// Since is what was counted after before.
func (c Counts) Since(before Counts) Counts {
	out := Counts{Statements: c.Statements - before.Statements, Calls: map[string]int64{}}
	for k, v := range c.Calls {
		if d := v - before.Calls[k]; d > 0 {
			out.Calls[k] = d
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
