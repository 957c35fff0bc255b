package pdclient

// This file owns Budget: Pipedream's per-project request limits spent by
// every replica of a fleet together (package redisstore implements it on
// Redis). Without one, a Client spends only the in-process component-read
// budget (budget.go).

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// BudgetClass names one of Pipedream's per-project request limits.
type BudgetClass string

// The limits a Budget spends (connect-api.md section 11).
const (
	// BudgetComponentReads is GET .../actions and .../components (the
	// catalog): 3,000 per 5 minutes per project.
	BudgetComponentReads BudgetClass = "component_reads"
	// BudgetRuns is POST .../actions/* and .../components/* (run,
	// configure, reload props: "tool executions"): 2,000 per 5 minutes per
	// project.
	BudgetRuns BudgetClass = "runs"
)

// Pipedream's documented limits, the defaults of a shared budget.
const (
	DefaultBudgetComponentReads = componentReadsPerWindow
	DefaultBudgetRuns           = 2000
	DefaultBudgetWindow         = componentReadWindow
)

// budgetPollMax bounds one wait between two asks of a shared budget, so that
// room freed early (a window sliding past) is taken soon.
const budgetPollMax = 250 * time.Millisecond

// Budget is a request budget shared by several clients, possibly in several
// processes. Take must not block for long (the Redis one waits at most 50 ms)
// and must not fail: a budget that cannot reach its backend decides alone.
type Budget interface {
	// Take asks to send one request of class for project now. When the
	// request may go it counts it and returns answered and a zero wait;
	// the caller calls answered once, when the request's answer (or its
	// failure) is in: until then the budget counts the request as arriving
	// at Pipedream at any moment. Otherwise it returns a nil answered and
	// how long to wait before asking again.
	Take(ctx context.Context, project string, class BudgetClass) (answered func(), wait time.Duration)
}

// WithBudget makes the client spend b, shared with other clients and
// processes, for component reads and runs, instead of the process's own
// component-read budget.
func WithBudget(b Budget) Option {
	return func(c *Client) { c.fleet = b }
}

// isExecution reports whether a POST of rel is a tool execution the runs
// limit counts (run, configure, reload props).
func isExecution(rel string) bool {
	return strings.Contains(rel, "/actions/") || strings.Contains(rel, "/components/")
}

// waitShared waits until the shared budget lets one request of class go, or
// ctx ends, and returns the function to call when its answer is in. It logs
// (at most once a minute) when the budget makes it wait.
func (c *Client) waitShared(ctx context.Context, class BudgetClass) (func(), error) {
	for {
		answered, d := c.fleet.Take(ctx, c.cfg.ProjectID, class)
		if d <= 0 {
			if answered == nil {
				answered = func() {}
			}
			return answered, nil
		}
		c.budget.noteWait(c, class, d)
		t := time.NewTimer(min(d, budgetPollMax))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("pdclient: waiting for the shared %s budget: %w", class, ctx.Err())
		}
	}
}

// noteWait logs, at most once a minute per project, that the shared budget
// of class makes requests wait.
func (b *readBudget) noteWait(c *Client, class BudgetClass, d time.Duration) {
	b.mu.Lock()
	now := c.now()
	if now.Sub(b.logged) < budgetLogEvery {
		b.mu.Unlock()
		return
	}
	b.logged = now
	b.mu.Unlock()
	c.logger.Warn("shared request budget reached; requests wait (Pipedream limits each project per 5 minutes)",
		"project", c.cfg.ProjectID, "budget", string(class), "wait", d.Round(time.Millisecond))
}
