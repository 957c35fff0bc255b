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

// ListAppsOptions filters and pages ListApps.
type ListAppsOptions struct {
	// Query searches app names and slugs.
	Query string
	// Limit is the page size (0: the API's default).
	Limit int
	// After is the EndCursor of the previous page.
	After string
	// HasActions keeps only apps that have actions.
	HasActions bool
}

// ListApps returns one page of the app catalog and its cursor block; pass
// PageInfo.EndCursor as After for the next page. Results are not cached. A
// page past Config.MaxListItems apps or Config.MaxListBytes is a
// *ListingTooLargeError.
//
// Endpoint: GET /v1/connect/apps
func (c *Client) ListApps(ctx context.Context, opts ListAppsOptions) ([]App, PageInfo, error) {
	rel, err := connectPath("apps")
	if err != nil {
		return nil, PageInfo{}, err
	}
	q := url.Values{}
	if opts.Query != "" {
		q.Set("q", opts.Query)
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.After != "" {
		q.Set("after", opts.After)
	}
	if opts.HasActions {
		q.Set("has_actions", "true")
	}
	l := c.newListing("apps", http.MethodGet, rel)
	var raw json.RawMessage
	if err := c.getLimit(ctx, rel, q, &raw, l.readLimit()); err != nil {
		return nil, PageInfo{}, l.pageError(err)
	}
	items, pi, err := listPage(raw)
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("pdclient: GET /%s: decoding list: %w", rel, err)
	}
	if err := l.add(len(items), int64(len(raw))); err != nil {
		return nil, PageInfo{}, err
	}
	return decodeItems[App](c, "apps", items), pi, nil
}

// GetApp returns an app by name slug or ID. Apps are cached for
// Config.CatalogTTL and concurrent misses share one request.
//
// Endpoint: GET /v1/connect/apps/{app_id}
func (c *Client) GetApp(ctx context.Context, slug string) (*App, error) {
	if slug == "" {
		return nil, errors.New("pdclient: get app: slug is required")
	}
	rel, err := connectPath("apps", slug)
	if err != nil {
		return nil, err
	}
	key := c.key("app", slug)
	if v, ok := c.store.Get(ctx, key); ok {
		c.cacheLookup("apps", true)
		app := v.(App)
		return &app, nil
	}
	c.cacheLookup("apps", false)
	v, err := c.fill(ctx, key, key, c.cfg.CatalogTTL, false, func(ctx context.Context) (any, error) {
		var raw json.RawMessage
		if err := c.get(ctx, rel, nil, &raw); err != nil {
			return nil, err
		}
		var app App
		if err := json.Unmarshal(unwrapData(raw), &app); err != nil {
			return nil, fmt.Errorf("pdclient: GET /%s: decoding app: %w", rel, err)
		}
		return app, nil
	})
	if err != nil {
		return nil, err
	}
	app := v.(App)
	return &app, nil
}
