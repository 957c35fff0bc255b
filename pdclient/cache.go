package pdclient

import (
	"context"
	"fmt"
	"strings"
)

// key builds a cache or flight key; project and environment are part of every
// key. Parts are joined with NUL, which no slug or user ID contains.
func (c *Client) key(kind string, parts ...string) string {
	return strings.Join(append([]string{c.cfg.ProjectID, c.cfg.Environment, kind}, parts...), "\x00")
}

// shared runs fn once for all concurrent callers with the same key. fn runs on
// a context detached from the caller that started it (bounded by
// sharedFetchTimeout), so when that caller gives up the others still get the
// result, and a result that is cached is not wasted. Each caller stops waiting
// when its own ctx ends.
func (c *Client) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pdclient: %w", err)
	}
	ch := c.flights.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedFetchTimeout)
		defer cancel()
		return fn(fctx)
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("pdclient: %w", ctx.Err())
	case r := <-ch:
		return r.Val, r.Err
	}
}
