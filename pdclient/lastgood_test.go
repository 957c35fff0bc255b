package pdclient_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// logSink is a goroutine-safe log buffer that tells when it is written to.
type logSink struct {
	mu      sync.Mutex
	b       strings.Builder
	written chan struct{} // closed at the next write
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.b.Write(p)
}

// next returns a channel closed at the next write.
func (s *logSink) next() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written == nil {
		s.written = make(chan struct{})
	}
	return s.written
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// toolNames lists the names of the tools a set serves.
func toolNames(set *tools.Set) []string {
	var out []string
	for _, t := range set.Tools() {
		out = append(out, t.Tool.Name)
	}
	return out
}

// TestRefreshPastListingBoundKeepsLastGoodCatalog (item 4): after a good
// load, every catalog refresh meets endless cursors (the fake's EndlessPages
// fault). Each refresh stops at the listing bound with an error, the tools
// layer keeps serving the last good catalog, and pdclient's cache keeps it too.
func TestRefreshPastListingBoundKeepsLastGoodCatalog(t *testing.T) {
	fake := pdtest.New(pdtest.Config{PageSize: 100})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cl, err := pdclient.New(pdclient.Config{
		ClientID: pdtest.TestClientID, ClientSecret: pdtest.TestClientSecret,
		ProjectID: pdtest.TestProjectID, Environment: "development", BaseURL: srv.URL,
	}, pdclient.WithRetry(pdclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	logs := &logSink{}
	set, err := tools.New(tools.Options{
		Connections:  []tools.Connection{{Name: "gh", App: "github", Client: cl}},
		Logger:       slog.New(slog.NewTextHandler(logs, nil)),
		RefreshEvery: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := toolNames(set)
	if !slices.ContainsFunc(want, func(n string) bool { return strings.HasPrefix(n, "gh_") }) {
		t.Fatalf("no action tools after the first load: %v", want)
	}

	fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointActions, EndlessPages: true})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// Each log line may be a refresh's outcome: check the tools after every
	// one, until two failed refreshes are logged.
	deadline := time.After(60 * time.Second)
	for {
		written := logs.next()
		if got := toolNames(set); !slices.Equal(got, want) {
			t.Fatalf("the tools changed to %d tools after a refresh past the listing bound (want the last good %d)", len(got), len(want))
		}
		if strings.Count(logs.String(), "serving the last good catalog") >= 2 {
			break
		}
		select {
		case <-written:
		case <-deadline:
			t.Fatalf("no failed refresh logged; logs:\n%s", logs.String())
		}
	}
	if got := toolNames(set); !slices.Equal(got, want) {
		t.Errorf("tools = %d names, want the last good %d", len(got), len(want))
	}
	if !strings.Contains(logs.String(), "MaxListItems") {
		t.Errorf("the failed refresh does not name the bound to raise; logs:\n%s", logs.String())
	}
	// pdclient's cache still holds the last good catalog.
	comps, err := cl.ListActions(t.Context(), "github", pdclient.RegistryAll)
	if err != nil || len(comps) == 0 || strings.Contains(comps[0].Key, "endless") {
		t.Errorf("cached catalog after the failed refreshes: %d actions, %v", len(comps), err)
	}
}
