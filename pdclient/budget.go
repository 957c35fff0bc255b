package pdclient

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pipedream limits component reads (GET .../components and .../actions, the
// catalog) to 3,000 per 5 minutes per project. Every Client of one project
// (and API origin) in this process draws from one budget: a token bucket of
// componentReadBurst refilled so that no 5-minute window can hold more than
// componentReadsPerWindow reads.
const (
	componentReadsPerWindow = 3000
	componentReadWindow     = 5 * time.Minute
	componentReadBurst      = 500
	// budgetLogEvery spaces the log lines that say the budget is biting.
	budgetLogEvery = time.Minute
)

// readBudget is the shared budget of one project's component reads.
type readBudget struct {
	limiter *rate.Limiter
	mu      sync.Mutex
	logged  time.Time // last "budget reached" line
}

var (
	budgetsMu sync.Mutex
	budgets   = map[string]*readBudget{}
)

// componentBudget returns the budget shared by every client of project at
// the API origin.
func componentBudget(origin, project string) *readBudget {
	budgetsMu.Lock()
	defer budgetsMu.Unlock()
	key := origin + "|" + project
	b, ok := budgets[key]
	if !ok {
		per := componentReadWindow / time.Duration(componentReadsPerWindow-componentReadBurst)
		b = &readBudget{limiter: rate.NewLimiter(rate.Every(per), componentReadBurst)}
		budgets[key] = b
	}
	return b
}

// isComponentRead reports whether a GET of rel (relative to the base URL) is a
// component read the rate limit counts.
func isComponentRead(rel string) bool {
	return strings.Contains(rel, "/actions") || strings.Contains(rel, "/components")
}

// waitComponentRead waits for the budget of one component read, logging (at
// most once a minute) when the budget makes it wait. The wait ends with ctx.
func (c *Client) waitComponentRead(ctx context.Context) error {
	b := c.budget
	r := b.limiter.Reserve()
	delay := r.Delay()
	if delay == 0 {
		return nil
	}
	b.mu.Lock()
	if now := c.now(); now.Sub(b.logged) >= budgetLogEvery {
		b.logged = now
		b.mu.Unlock()
		c.logger.Warn("component-read budget reached (Pipedream allows 3,000 per 5 minutes per project); catalog reads wait",
			"project", c.cfg.ProjectID, "wait", delay.Round(time.Millisecond))
	} else {
		b.mu.Unlock()
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return fmt.Errorf("pdclient: waiting for the component-read budget: %w", ctx.Err())
	}
}
