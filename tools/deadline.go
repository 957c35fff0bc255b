package tools

import (
	"context"
	"time"
)

// runLimitKey marks the context of a call the server may continue as an MCP
// task (see WithRunLimit).
type runLimitKey struct{}

// WithRunLimit marks ctx as the context of a call that the server continues
// as an MCP task if it outlives the call timeout: its upstream work may take
// up to limit (the task's lifetime) instead of being stopped at the call
// timeout. The server, not the tool set, answers at the call timeout then.
func WithRunLimit(ctx context.Context, limit time.Duration) context.Context {
	return context.WithValue(ctx, runLimitKey{}, limit)
}

// callTimeout is how long the upstream work of the call under ctx may take:
// the call timeout, or the run limit of a call that may become a task.
func (s *Set) callTimeout(ctx context.Context) time.Duration {
	if limit, ok := ctx.Value(runLimitKey{}).(time.Duration); ok && limit > 0 {
		return limit
	}
	return s.opts.CallTimeout
}
