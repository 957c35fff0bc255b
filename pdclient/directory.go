package pdclient

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"time"
)

// DirectoryTTL is how long the whole app directory is cached: apps are added
// to the registry a few times a day, and reading it is about 30 pages.
const DirectoryTTL = 6 * time.Hour

// AppDirectory returns every app of the Pipedream registry (all pages of
// GET /v1/connect/apps), for finding apps by name, description and category.
// It is cached for DirectoryTTL, and concurrent misses share one reading. The
// listing is bounded like every other (Config.MaxListItems, MaxListBytes).
//
// Endpoint: GET /v1/connect/apps
func (c *Client) AppDirectory(ctx context.Context) ([]App, error) {
	key := c.key("app-directory")
	if v, ok := c.store.Get(ctx, key); ok {
		c.cacheLookup("directory", true)
		return slices.Clone(v.([]App)), nil
	}
	c.cacheLookup("directory", false)
	v, err := c.fill(ctx, key, key, DirectoryTTL, false, func(ctx context.Context) (any, error) {
		rel, err := connectPath("apps")
		if err != nil {
			return nil, err
		}
		var apps []App
		err = c.listAll(ctx, "the app directory", rel, url.Values{}, func(items []json.RawMessage) {
			apps = append(apps, decodeItems[App](c, "apps", items)...)
		})
		if err != nil {
			return nil, err
		}
		return apps, nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]App)), nil
}
