package app

import (
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

// TestAccountsReadOncePerUserAndApp: the accounts of a user for an app are
// read upstream at most once per TTL, however many sessions (of both
// protocol eras) the user's calls come through; another user or another app
// is its own read.
func TestAccountsReadOncePerUserAndApp(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{apps: "slack,github"})
	alice, bob := s.newUser("slack", "github"), s.newUser("slack")
	const slackCall, slackArgs = "slack_send_message_to_channel", `{"conversation":"C00001000","text":"hi"}`
	sessions := []struct {
		user string
		o    dialOptions
	}{
		{alice, dialOptions{}},
		{alice, dialOptions{legacy: true}},
		{alice, dialOptions{legacy: true, stream: true}},
	}
	var first int
	for i, sess := range sessions {
		c := s.dial(t, sess.user, "/mcp", sess.o)
		for range 2 {
			if r := s.call(t.Context(), c, sess.user, slackCall, slackArgs); r.status() != "success" {
				t.Fatalf("session %d: %v", i, r)
			}
		}
		// A call runs after the start-up credential check (one accounts
		// read of its own), so the count holds still from here on.
		if i == 0 {
			first = s.fake.Count(pdtest.EndpointAccounts)
		}
	}
	if n := s.fake.Count(pdtest.EndpointAccounts); n != first {
		t.Errorf("accounts reads = %d after 6 calls in 3 sessions, want %d (the first call's only)", n, first)
	}

	c := s.dial(t, bob, "/mcp", dialOptions{})
	if r := s.call(t.Context(), c, bob, slackCall, slackArgs); r.status() != "success" {
		t.Fatal(r)
	}
	c = s.dial(t, alice, "/mcp", dialOptions{})
	if r := s.call(t.Context(), c, alice, "github_get_repository", `{"repoFullname":"octo/hello"}`); r.status() != "success" {
		t.Fatal(r)
	}
	if n := s.fake.Count(pdtest.EndpointAccounts); n != first+2 {
		t.Errorf("accounts reads = %d, want %d: one more for another user, one for another app", n, first+2)
	}
}
