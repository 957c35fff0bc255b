package pdclient

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestComponentReadBudget: a project's clients share one budget of component
// reads; past the burst, reads wait so that no 5-minute window holds more
// than 3,000 of them, and the log says so once.
func TestComponentReadBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		mk := func() *Client {
			return &Client{
				budget: componentBudget("https://api.example.test", "proj_budget"+t.Name()),
				logger: slog.New(slog.NewTextHandler(&logs, nil)),
				now:    time.Now,
				cfg:    Config{ProjectID: "proj_budget"},
			}
		}
		a, b := mk(), mk()
		if a.budget != b.budget {
			t.Fatal("two clients of one project have separate budgets")
		}
		start := time.Now()
		for i := range componentReadsPerWindow {
			c := a
			if i%2 == 1 {
				c = b
			}
			if err := c.waitComponentRead(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		// 3,000 reads: the burst at once, the rest spread over the window.
		if took := time.Since(start); took < componentReadWindow-time.Second || took > componentReadWindow {
			t.Errorf("3,000 reads took %v, want about %v", took, componentReadWindow)
		}
		if n := strings.Count(logs.String(), "component-read budget reached"); n < 1 || n > 6 {
			t.Errorf("%d log lines about the budget in 5 minutes, want one a minute at most:\n%s", n, logs.String())
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := a.waitComponentRead(ctx); err == nil {
			t.Error("a cancelled wait succeeded")
		}
	})
}
