package pdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
)

// ListAccounts returns an end user's connected accounts for an app (app ""
// for every app), all pages. Lists are cached per environment, user and app
// for Config.AccountsTTL (see InvalidateAccounts); concurrent misses share one
// upstream pass. Credentials are never requested.
//
// Endpoint: GET /v1/connect/{project_id}/accounts?external_user_id={user}&app={app}
func (c *Client) ListAccounts(ctx context.Context, externalUserID, app string) ([]Account, error) {
	if externalUserID == "" {
		return nil, errors.New("pdclient: list accounts: external user ID is required")
	}
	key := c.key("accounts", externalUserID, app)
	if v, ok := c.store.Get(ctx, key); ok {
		c.cacheLookup("accounts", true)
		return slices.Clone(v.([]Account)), nil
	}
	c.cacheLookup("accounts", false)
	// A fetch that started before an invalidation is neither joined nor stored.
	flight := key + "\x00" + strconv.FormatUint(c.accGen.Load(), 10)
	v, err := c.fill(ctx, key, flight, c.cfg.AccountsTTL, false, func(ctx context.Context) (any, error) {
		return c.fetchAccounts(ctx, externalUserID, app)
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]Account)), nil
}

func (c *Client) fetchAccounts(ctx context.Context, externalUserID, app string) ([]Account, error) {
	rel, err := c.projectPath("accounts")
	if err != nil {
		return nil, err
	}
	q := url.Values{"external_user_id": {externalUserID}}
	if app != "" {
		q.Set("app", app)
	}
	all := []Account{}
	seen := map[string]bool{}
	what := "accounts of every app"
	if app != "" {
		what = fmt.Sprintf("accounts of app %q", app)
	}
	err = c.listAll(ctx, what, rel, q, func(items []json.RawMessage) {
		for _, a := range decodeItems[Account](c, "accounts", items) {
			if a.ID != "" && seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			all = append(all, a)
		}
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// InvalidateAccounts drops the cached account lists of an end user for an app
// (and the user's all-apps list), or for every app when app is "". Call it
// when an account was connected or removed (a CONNECTION_SUCCESS webhook).
// Lists being fetched while it runs are returned to their callers but not
// cached.
func (c *Client) InvalidateAccounts(externalUserID, app string) {
	c.accGen.Add(1)
	inv := Invalidation{Prefix: c.key("accounts", externalUserID) + "\x00"}
	if app != "" {
		inv = Invalidation{Keys: []string{c.key("accounts", externalUserID, app), c.key("accounts", externalUserID, "")}}
	}
	c.store.Invalidate(context.Background(), inv)
}

// GetAccount reads one account (bare or wrapped in {"data": ...}). Not
// cached; credentials are never requested.
//
// Endpoint: GET /v1/connect/{project_id}/accounts/{account_id}
func (c *Client) GetAccount(ctx context.Context, id string) (*Account, error) {
	if id == "" {
		return nil, errors.New("pdclient: get account: id is required")
	}
	rel, err := c.projectPath("accounts", id)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := c.get(ctx, rel, nil, &raw); err != nil {
		return nil, err
	}
	var a Account
	if err := json.Unmarshal(unwrapData(raw), &a); err != nil {
		return nil, fmt.Errorf("pdclient: GET /%s: decoding account: %w", rel, err)
	}
	if a.ID == "" {
		return nil, fmt.Errorf("pdclient: GET /%s: the response has no account", rel)
	}
	return &a, nil
}
