package pdclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
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

// listAll reads every page of a cursor-paginated list, asking for listLimit
// items a page (the API may send fewer or more). It stops at an empty or null
// end_cursor, at a cursor it has seen before, at a page without items, and
// after maxPages pages.
func (c *Client) listAll(ctx context.Context, rel string, q url.Values, page func([]json.RawMessage)) error {
	q.Set("limit", strconv.Itoa(listLimit))
	seen := map[string]bool{}
	for n := 0; n < maxPages; n++ {
		var raw json.RawMessage
		if err := c.get(ctx, rel, q, &raw); err != nil {
			return err
		}
		items, pi, err := listPage(raw)
		if err != nil {
			return fmt.Errorf("pdclient: GET /%s: decoding list: %w", rel, err)
		}
		page(items)
		next := pi.EndCursor
		if next == "" || seen[next] || len(items) == 0 {
			return nil
		}
		seen[next] = true
		q.Set("after", next)
	}
	c.logger.Warn("pipedream: pagination stopped after too many pages", "path", "/"+rel, "pages", maxPages)
	return nil
}
