package pdclient

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingBudget admits every request and counts takes and answers by class.
type countingBudget struct {
	mu       sync.Mutex
	taken    map[BudgetClass]int
	answered map[BudgetClass]int
	inFlight atomic.Int32
}

func (b *countingBudget) Take(_ context.Context, _ string, class BudgetClass) (func(), time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.taken[class]++
	b.inFlight.Add(1)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.answered[class]++
		b.inFlight.Add(-1)
	}, 0
}

// TestSharedBudgetCountsEveryAttempt: Pipedream counts every request it
// receives, so a retried run spends the budget once per attempt, and each
// attempt is answered before the next one is taken.
func TestSharedBudgetCountsEveryAttempt(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	b := &countingBudget{taken: map[BudgetClass]int{}, answered: map[BudgetClass]int{}}
	f.handle("POST /v1/connect/"+testProject+"/actions/run", func(w http.ResponseWriter, _ *http.Request) {
		if n := b.inFlight.Load(); n != 1 {
			t.Errorf("%d attempts in flight at the API, want 1", n)
		}
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, http.StatusTooManyRequests, `{"error":"slow down"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"exports":{},"ret":{}}`)
	})
	c := f.client(WithBudget(b))
	if _, err := c.RunAction(t.Context(), RunActionRequest{ID: "slack-send-message", ExternalUserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if calls.Load() != 2 || b.taken[BudgetRuns] != 2 || b.answered[BudgetRuns] != 2 {
		t.Errorf("%d attempts, %d runs taken, %d answered; want 2 of each", calls.Load(), b.taken[BudgetRuns], b.answered[BudgetRuns])
	}
	if len(b.taken) != 1 {
		t.Errorf("classes taken: %v, want runs only", b.taken)
	}
}
