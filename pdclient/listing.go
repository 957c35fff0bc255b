package pdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Names of the Config fields that bound a listing, as ListingTooLargeError
// reports them.
const (
	settingMaxListItems = "MaxListItems"
	settingMaxListBytes = "MaxListBytes"
)

// listing counts one listing (every page of it) against Config.MaxListItems
// and Config.MaxListBytes.
type listing struct {
	c            *Client
	what         string // "actions of app \"slack\"", ...
	method, path string // the request, path without query
	items, pages int
	bytes        int64
}

// newListing starts counting a listing of what through method /rel.
func (c *Client) newListing(what, method, rel string) *listing {
	return &listing{c: c, what: what, method: method, path: "/" + rel}
}

// readLimit is how many bytes the next page may have: what is left of
// MaxListBytes, and never more than one response may have.
func (l *listing) readLimit() int64 {
	return max(0, min(maxResponseBytes, l.c.cfg.MaxListBytes-l.bytes))
}

// bytesBound reports whether a page over readLimit is over MaxListBytes (and
// not only over the bound of a single response).
func (l *listing) bytesBound() bool {
	return l.c.cfg.MaxListBytes-l.bytes <= maxResponseBytes
}

// pageError converts the error of a page read with readLimit: a body past
// what is left of MaxListBytes stops the listing with a *ListingTooLargeError;
// other errors are returned as they are.
func (l *listing) pageError(err error) error {
	if errors.Is(err, ErrResponseTooLarge) && l.bytesBound() {
		l.pages++
		l.bytes += l.readLimit() + 1
		return l.tooLarge(settingMaxListBytes)
	}
	return err
}

// add counts a page of n items and size bytes, and stops the listing past
// either bound.
func (l *listing) add(n int, size int64) error {
	l.pages++
	l.items += n
	l.bytes += size
	switch {
	case l.items > l.c.cfg.MaxListItems:
		return l.tooLarge(settingMaxListItems)
	case l.bytes > l.c.cfg.MaxListBytes:
		return l.tooLarge(settingMaxListBytes)
	}
	return nil
}

// tooLarge is the error of a listing stopped by setting.
func (l *listing) tooLarge(setting string) *ListingTooLargeError {
	limit := l.c.cfg.MaxListBytes
	if setting == settingMaxListItems {
		limit = int64(l.c.cfg.MaxListItems)
	}
	return &ListingTooLargeError{
		Listing: l.what, Method: l.method, Path: l.path,
		Setting: setting, Limit: limit,
		Items: l.items, Bytes: l.bytes, Pages: l.pages,
	}
}

// done reports whether a listing whose last page had page info pi has every
// item: page_info.total_count, when the API sends it, says how many there are
// (the API sends an end_cursor on the last page too, so without total_count
// it takes an empty page to see the end).
func (l *listing) done(pi PageInfo) bool {
	return pi.TotalCount > 0 && l.items >= pi.TotalCount
}

// listAll reads every page of a cursor-paginated list, asking for listLimit
// items a page (the API may send fewer or more), and hands each page's items
// to page. It stops once page_info.total_count items have come, at an empty
// or null end_cursor, at a cursor it has seen before and at a page without
// items; so every page read has items, and the item bound also bounds the
// pages. Past Config.MaxListItems or Config.MaxListBytes it fails with a
// *ListingTooLargeError, and the caller must drop what it gathered.
func (c *Client) listAll(ctx context.Context, what, rel string, q url.Values, page func([]json.RawMessage)) error {
	q.Set("limit", strconv.Itoa(listLimit))
	l := c.newListing(what, http.MethodGet, rel)
	seen := map[string]bool{}
	for {
		var raw json.RawMessage
		if err := c.getLimit(ctx, rel, q, &raw, l.readLimit()); err != nil {
			return l.pageError(err)
		}
		items, pi, err := listPage(raw)
		if err != nil {
			return fmt.Errorf("pdclient: GET /%s: decoding list: %w", rel, err)
		}
		if err := l.add(len(items), int64(len(raw))); err != nil {
			return err
		}
		page(items)
		next := pi.EndCursor
		if next == "" || seen[next] || len(items) == 0 || l.done(pi) {
			return nil
		}
		seen[next] = true
		q.Set("after", next)
	}
}
