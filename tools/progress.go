package tools

// This file owns progress reporting: while an upstream run is in flight, a
// call that carries a progressToken gets notifications/progress.

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// ProgressEvery is how often a call with a progressToken hears from the
// server while its run is in flight (the contract asks for at least every 5 s).
const ProgressEvery = 2 * time.Second

// startProgress sends notifications/progress for the call req every
// ProgressEvery, with the time elapsed, until the returned stop is
// called; stop returns once no notification is being sent. A call without a
// progressToken (or outside an MCP session) gets nothing and costs nothing.
func (s *Set) startProgress(ctx context.Context, req mcp.CallToolRequest, what string) (stop func()) {
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	srv := mcpserver.ServerFromContext(ctx)
	if token == nil || srv == nil {
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	started := s.opts.Now()
	go func() {
		defer close(stopped)
		tick := time.NewTicker(ProgressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			elapsed := s.opts.Now().Sub(started)
			err := srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), map[string]any{
				"progressToken": token,
				"progress":      elapsed.Round(time.Millisecond).Seconds(), // grows with every notification, as progress must
				"message":       fmt.Sprintf("%s: still running after %s", what, elapsed.Round(time.Second)),
			})
			if err != nil {
				s.log.Debug("progress notification not sent", "err", err)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
