package pdclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"golang.org/x/sync/errgroup"
)

// ListActions returns every action of an app in registry (RegistryAll when
// ""), each with its configurable_props; the workspace's own actions have
// Component.Private set. The catalog is cached for Config.CatalogTTL;
// concurrent misses for the same app and registry share one upstream pass.
// All pages are read; list items that come without configurable_props are
// completed with single reads (at most 4 at a time). An action whose single
// read is 404, or whose props are malformed, is kept with
// Component.PropsError set, so the caller can name it. The returned slice is
// the caller's; the components' own slices are shared with the cache and must
// not be modified.
//
// Endpoints: GET /v1/connect/{project_id}/actions?app={app}&registry={registry},
// GET /v1/connect/{project_id}/actions/{key}
func (c *Client) ListActions(ctx context.Context, app string, registry Registry) ([]Component, error) {
	if app == "" {
		return nil, errors.New("pdclient: list actions: app is required")
	}
	registry, err := registry.orAll()
	if err != nil {
		return nil, fmt.Errorf("pdclient: list actions: %w", err)
	}
	key := c.key("actions", app, string(registry))
	if v, ok := c.store.Get(ctx, key); ok {
		c.cacheLookup("actions", true)
		return slices.Clone(v.([]Component)), nil
	}
	c.cacheLookup("actions", false)
	return c.loadActions(ctx, app, registry, key, false)
}

// RefreshActions reads an app's actions from the API, bypassing the cache, and
// stores them on success (a failure keeps the cached catalog). It shares a pass
// already under way for the same app and registry.
//
// Endpoints: as ListActions.
func (c *Client) RefreshActions(ctx context.Context, app string, registry Registry) ([]Component, error) {
	if app == "" {
		return nil, errors.New("pdclient: refresh actions: app is required")
	}
	registry, err := registry.orAll()
	if err != nil {
		return nil, fmt.Errorf("pdclient: refresh actions: %w", err)
	}
	return c.loadActions(ctx, app, registry, c.key("actions", app, string(registry)), true)
}

func (c *Client) loadActions(ctx context.Context, app string, registry Registry, key string, fresh bool) ([]Component, error) {
	v, err := c.fill(ctx, key, key, c.cfg.CatalogTTL, fresh, func(ctx context.Context) (any, error) {
		return c.fetchRegistries(ctx, app, registry)
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]Component)), nil
}

// fetchRegistries lists the app's actions of registry. The API's components
// do not say which registry they come from, so RegistryAll is read as the
// public listing followed by the private one, and the private listing's
// actions are marked Private; an action both listings carry counts as public.
func (c *Client) fetchRegistries(ctx context.Context, app string, registry Registry) ([]Component, error) {
	if registry != RegistryAll {
		return c.fetchActions(ctx, app, registry)
	}
	// Both listings at once: one round trip on the start-up path, not two.
	var public, private []Component
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		public, err = c.fetchActions(gctx, app, RegistryPublic)
		return err
	})
	g.Go(func() (err error) {
		private, err = c.fetchActions(gctx, app, RegistryPrivate)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(public))
	for _, comp := range public {
		seen[comp.Key] = true
	}
	for _, comp := range private {
		if comp.Key == "" || !seen[comp.Key] {
			public = append(public, comp)
		}
	}
	return public, nil
}

// fetchActions lists all pages of one registry and fills slim items.
func (c *Client) fetchActions(ctx context.Context, app string, registry Registry) ([]Component, error) {
	rel, err := c.projectPath("actions")
	if err != nil {
		return nil, err
	}
	var all []Component
	seen := map[string]bool{}
	q := url.Values{"app": {app}, "registry": {string(registry)}}
	what := fmt.Sprintf("actions of app %q", app)
	if registry == RegistryPrivate {
		what = "private " + what
	}
	err = c.listAll(ctx, what, rel, q, func(items []json.RawMessage) {
		for _, comp := range decodeItems[Component](c, "actions", items) {
			if comp.Key != "" {
				if seen[comp.Key] {
					continue
				}
				seen[comp.Key] = true
			}
			all = append(all, comp)
		}
	})
	if err != nil {
		return nil, err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fillConcurrency)
	for i := range all {
		if all[i].PropsLoaded || all[i].PropsError != "" || all[i].Key == "" {
			continue
		}
		g.Go(func() error {
			full, err := c.getAction(gctx, all[i].Key, "")
			switch {
			case errors.Is(err, ErrNotFound):
				all[i].PropsError = "the action was listed but not found when read"
				return nil
			case err != nil:
				return err
			}
			if !full.PropsLoaded && full.PropsError == "" {
				full.PropsError = "the action came without configurable_props"
			}
			all[i] = *full
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if registry == RegistryPrivate {
		for i := range all {
			all[i].Private = true
		}
	}
	return all, nil
}

// GetAction reads one action with its configurable_props; version "" is the
// latest. The result is not cached.
//
// Endpoint: GET /v1/connect/{project_id}/actions/{key}?version={version}
func (c *Client) GetAction(ctx context.Context, key, version string) (*Component, error) {
	if key == "" {
		return nil, errors.New("pdclient: get action: key is required")
	}
	return c.getAction(ctx, key, version)
}

func (c *Client) getAction(ctx context.Context, key, version string) (*Component, error) {
	rel, err := c.projectPath("actions", key)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if version != "" {
		q.Set("version", version)
	}
	var raw json.RawMessage
	if err := c.get(ctx, rel, q, &raw); err != nil {
		return nil, err
	}
	var comp Component
	if err := json.Unmarshal(unwrapData(raw), &comp); err != nil {
		return nil, fmt.Errorf("pdclient: GET /%s: decoding action: %w", rel, err)
	}
	if comp.Key == "" {
		comp.Key = key
	}
	return &comp, nil
}

// ConfigurePropRequest asks for the options of one prop (remote options).
type ConfigurePropRequest struct {
	// ID is the component key; ExternalUserID the end user; PropName the prop.
	ID             string `json:"id"`
	ExternalUserID string `json:"external_user_id"`
	PropName       string `json:"prop_name"`
	// Version is the component version the caller's schema was built from.
	Version string `json:"version,omitempty"`
	// ConfiguredProps holds the props set so far, the app prop included
	// ({"<appProp>": {"authProvisionId": "apn_..."}}).
	ConfiguredProps map[string]any `json:"configured_props,omitempty"`
	// DynamicPropsID is the id of a props reload (dyp_...), if any.
	DynamicPropsID string `json:"dynamic_props_id,omitempty"`
	// Page is the 0-based page, PrevContext the context of the previous page;
	// components page by one or the other.
	Page        int             `json:"page"`
	PrevContext json.RawMessage `json:"prev_context,omitempty"`
	// Query filters options server-side (props with useQuery).
	Query string `json:"query,omitempty"`
}

// ConfigurePropResponse is one page of a prop's options.
type ConfigurePropResponse struct {
	// Options are the options in any of their wire forms.
	Options []PropOption `json:"options"`
	// StringOptions are options given as plain strings.
	StringOptions []string `json:"stringOptions"`
	// Context is passed back as PrevContext for the next page; nil when the
	// API sent none or null.
	Context json.RawMessage `json:"context"`
	// Errors are the component's error messages as sent (plain or JSON text).
	Errors []string `json:"errors"`
	// Observations are the component's logs.
	Observations []Observation `json:"observations"`
}

// UnmarshalJSON decodes leniently: fields of an unexpected shape are left
// empty, options that cannot be read are skipped, and a null context is nil.
func (r *ConfigurePropResponse) UnmarshalJSON(b []byte) error {
	*r = ConfigurePropResponse{}
	if isNull(b) {
		return nil
	}
	m := object(b)
	if m == nil {
		return errors.New("configure response is not an object")
	}
	for _, it := range rawArray(m["options"]) {
		var o PropOption
		if json.Unmarshal(it, &o) == nil {
			r.Options = append(r.Options, o)
		}
	}
	r.StringOptions = stringList(m["stringOptions"])
	if r.StringOptions == nil {
		r.StringOptions = stringList(m["string_options"])
	}
	r.Context = rawOrNil(m["context"])
	r.Errors = stringList(m["errors"])
	r.Observations = observations(m["observations"])
	return nil
}

// AllOptions returns Options followed by StringOptions as {Label: s, Value: s}.
func (r *ConfigurePropResponse) AllOptions() []PropOption {
	if r == nil {
		return nil
	}
	out := make([]PropOption, 0, len(r.Options)+len(r.StringOptions))
	out = append(out, r.Options...)
	for _, s := range r.StringOptions {
		v, _ := json.Marshal(s)
		out = append(out, PropOption{Label: s, Value: v})
	}
	return out
}

// ConfigureProp loads one page of a prop's remote options. Errors the
// component reports with HTTP 200 (errors[]) come back as a *ComponentError
// together with the non-nil response. A page past Config.MaxListItems options
// or Config.MaxListBytes is a *ListingTooLargeError.
//
// Endpoint: POST /v1/connect/{project_id}/components/configure
func (c *Client) ConfigureProp(ctx context.Context, req ConfigurePropRequest) (*ConfigurePropResponse, error) {
	if req.ID == "" || req.ExternalUserID == "" || req.PropName == "" {
		return nil, errors.New("pdclient: configure prop: id, external user ID and prop name are required")
	}
	rel, err := c.projectPath("components", "configure")
	if err != nil {
		return nil, err
	}
	l := c.newListing(fmt.Sprintf("options of prop %q", req.PropName), http.MethodPost, rel)
	var resp ConfigurePropResponse
	if err := c.postComponentOp(ctx, "configure", req, &resp, l.readLimit()); err != nil {
		return nil, l.pageError(err)
	}
	if err := l.add(len(resp.Options)+len(resp.StringOptions), 0); err != nil {
		return nil, err
	}
	if msgs := errorMessages(resp.Errors); len(msgs) > 0 {
		return &resp, c.componentError("configure", msgs)
	}
	return &resp, nil
}

// postComponentOp posts to components/<op> (configure or props), reading at
// most limit bytes of the answer. When that path is not found it tries the
// action-scoped alias actions/<op> once: API versions and deployments serve
// one or both (connect-api.md sections 5, 6).
func (c *Client) postComponentOp(ctx context.Context, op string, body, v any, limit int64) error {
	rel, err := c.projectPath("components", op)
	if err != nil {
		return err
	}
	err = c.postLimit(ctx, rel, body, retryRead, v, limit)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	alias, aerr := c.projectPath("actions", op)
	if aerr != nil {
		return err
	}
	if err2 := c.postLimit(ctx, alias, body, retryRead, v, limit); !errors.Is(err2, ErrNotFound) {
		return err2
	}
	return err
}

// ReloadPropsRequest asks for a component's props given the props set so far
// (dynamic props).
type ReloadPropsRequest struct {
	ID              string         `json:"id"`
	ExternalUserID  string         `json:"external_user_id"`
	Version         string         `json:"version,omitempty"`
	ConfiguredProps map[string]any `json:"configured_props,omitempty"`
	// DynamicPropsID is the id of a previous reload, if any.
	DynamicPropsID string `json:"dynamic_props_id,omitempty"`
}

// DynamicProps is the result of a props reload: its id (dyp_...), to send with
// later configure and run calls, and the full prop list that replaces the
// component's.
type DynamicProps struct {
	ID                string             `json:"id"`
	ConfigurableProps []ConfigurableProp `json:"configurableProps"`
}

// ReloadPropsResponse is the answer of a props reload.
type ReloadPropsResponse struct {
	DynamicProps DynamicProps  `json:"dynamicProps"`
	Errors       []string      `json:"errors"`
	Observations []Observation `json:"observations"`
}

// UnmarshalJSON decodes leniently (camelCase or snake_case keys); a prop that
// is not an object is an error naming its index.
func (r *ReloadPropsResponse) UnmarshalJSON(b []byte) error {
	*r = ReloadPropsResponse{}
	if isNull(b) {
		return nil
	}
	m := object(b)
	if m == nil {
		return errors.New("props response is not an object")
	}
	dp := object(m["dynamicProps"])
	if dp == nil {
		dp = object(m["dynamic_props"])
	}
	if dp != nil {
		r.DynamicProps.ID = text(dp["id"])
		props, ok := dp["configurableProps"]
		if !ok {
			props = dp["configurable_props"]
		}
		for i, it := range rawArray(props) {
			var p ConfigurableProp
			if err := json.Unmarshal(it, &p); err != nil {
				return fmt.Errorf("dynamicProps.configurableProps[%d]: %w", i, err)
			}
			r.DynamicProps.ConfigurableProps = append(r.DynamicProps.ConfigurableProps, p)
		}
	}
	r.Errors = stringList(m["errors"])
	r.Observations = observations(m["observations"])
	return nil
}

// ReloadProps reloads a component's props with the props set so far. Errors
// the component reports with HTTP 200 come back as a *ComponentError together
// with the non-nil response.
//
// Endpoint: POST /v1/connect/{project_id}/components/props
func (c *Client) ReloadProps(ctx context.Context, req ReloadPropsRequest) (*ReloadPropsResponse, error) {
	if req.ID == "" || req.ExternalUserID == "" {
		return nil, errors.New("pdclient: reload props: id and external user ID are required")
	}
	var resp ReloadPropsResponse
	if err := c.postComponentOp(ctx, "props", req, &resp, maxResponseBytes); err != nil {
		return nil, err
	}
	if msgs := errorMessages(resp.Errors); len(msgs) > 0 {
		return &resp, c.componentError("props", msgs)
	}
	return &resp, nil
}

// RunActionRequest runs an action for an end user.
type RunActionRequest struct {
	ID              string         `json:"id"`
	ExternalUserID  string         `json:"external_user_id"`
	Version         string         `json:"version,omitempty"`
	ConfiguredProps map[string]any `json:"configured_props"`
	DynamicPropsID  string         `json:"dynamic_props_id,omitempty"`
	// StashID is sent only when non-empty (File Stash; "NEW" makes one).
	StashID string `json:"stash_id,omitempty"`
	// Idempotent is not sent: it allows retrying the run after a 5xx, a 408
	// or a dropped connection, which could otherwise run the action twice.
	Idempotent bool `json:"-"`
}

// RunActionResponse is the result of a run.
type RunActionResponse struct {
	// Exports are the run's exports ($summary, $filestash_uploads, ...).
	Exports map[string]json.RawMessage `json:"exports,omitempty"`
	// Observations are the run's logs and errors (wire "os").
	Observations []Observation `json:"os,omitempty"`
	// Ret is the action's return value; nil when absent or null.
	Ret json.RawMessage `json:"ret,omitempty"`
	// StashID is the File Stash id (wire stash_id or stashId).
	StashID string `json:"stash_id,omitempty"`
}

// UnmarshalJSON decodes leniently: os or observations, stash_id or stashId, a
// null ret is nil, fields of an unexpected shape are left empty.
func (r *RunActionResponse) UnmarshalJSON(b []byte) error {
	*r = RunActionResponse{}
	if isNull(b) {
		return nil
	}
	var f runFields
	if !f.read(b) {
		return errors.New("run response is not an object")
	}
	r.fromFields(&f)
	return nil
}

// runFields are the top-level fields of a run's answer that RunAction reads
// (nil when absent), split in one pass without decoding the rest.
type runFields struct {
	data, exports, os, observations, ret, stashID, stashIDCamel, errors, err json.RawMessage
}

// read splits raw (valid JSON) into f; false when raw is not an object. A key
// given twice keeps its last value, as a map would.
func (f *runFields) read(raw []byte) bool {
	return JSONFields(raw, func(k, v []byte) bool {
		switch string(k) {
		case "data":
			f.data = v
		case "exports":
			f.exports = v
		case "os":
			f.os = v
		case "observations":
			f.observations = v
		case "ret":
			f.ret = v
		case "stash_id":
			f.stashID = v
		case "stashId":
			f.stashIDCamel = v
		case "errors":
			f.errors = v
		case "error":
			f.err = v
		}
		return true
	})
}

// fromFields fills r from the fields of a run result already split, so
// RunAction scans the body once instead of once per reader.
func (r *RunActionResponse) fromFields(f *runFields) {
	if ex := object(f.exports); ex != nil {
		r.Exports = ex
	}
	if f.os != nil && !isNull(f.os) {
		r.Observations = observations(f.os)
	} else {
		r.Observations = observations(f.observations)
	}
	r.Ret = rawOrNil(f.ret)
	r.StashID = text(f.stashID)
	if r.StashID == "" {
		r.StashID = text(f.stashIDCamel)
	}
}

// Summary returns exports.$summary as text: the string itself, or the JSON of
// any other value; "" when absent.
func (r *RunActionResponse) Summary() string {
	if r == nil {
		return ""
	}
	v := rawOrNil(r.Exports["$summary"])
	if v == nil {
		return ""
	}
	if s := text(v); s != "" {
		return s
	}
	return string(v)
}

// RunAction runs an action. It is retried only on 429 and when the request was
// never sent, unless req.Idempotent allows more. An action that fails reports
// HTTP 200 with error observations: that comes back as a *ComponentError
// together with the non-nil response.
//
// Endpoint: POST /v1/connect/{project_id}/actions/run
func (c *Client) RunAction(ctx context.Context, req RunActionRequest) (*RunActionResponse, error) {
	if req.ID == "" || req.ExternalUserID == "" {
		return nil, errors.New("pdclient: run action: id and external user ID are required")
	}
	rel, err := c.projectPath("actions", "run")
	if err != nil {
		return nil, err
	}
	if req.ConfiguredProps == nil {
		req.ConfiguredProps = map[string]any{}
	}
	kind := retryRun
	if req.Idempotent {
		kind = retryRead
	}
	var raw json.RawMessage
	if err := c.post(ctx, rel, req, kind, &raw); err != nil {
		return nil, err
	}
	// One pass splits the result into its fields (results can be large:
	// every extra pass over a 64 KiB ret costs about 0.2 ms); a {"data": {...}}
	// wrapper is unwrapped as unwrapData does.
	var resp RunActionResponse
	var f runFields
	if body := bytes.TrimSpace(raw); len(body) > 0 && !isNull(body) {
		if !f.read(body) {
			return nil, fmt.Errorf("pdclient: POST /%s: decoding run result: run response is not an object", rel)
		}
		if d := f.data; len(d) > 0 && d[0] == '{' {
			var df runFields
			if df.read(d) {
				f = df
			}
		}
		resp.fromFields(&f)
	}
	if msgs := runErrors(&f, &resp); len(msgs) > 0 {
		return &resp, c.componentError("run", msgs)
	}
	return &resp, nil
}

// runErrors collects the failures a run reports with HTTP 200: error
// observations, errors[] and a top-level error. f is the result's fields.
func runErrors(f *runFields, resp *RunActionResponse) []string {
	var msgs []string
	for _, o := range resp.Observations {
		if o.K == "error" {
			msgs = append(msgs, observationMessage(o))
		}
	}
	if f.errors != nil {
		msgs = append(msgs, errorMessages(stringList(f.errors))...)
	}
	if e := f.err; e != nil {
		if s := text(e); s != "" {
			msgs = append(msgs, s)
		} else if eo := object(e); eo != nil {
			msgs = append(msgs, joinNameMessage(firstText(eo, "name", "title"), firstText(eo, "message", "detail"), string(e)))
		}
	}
	return msgs
}

// errorMessages reads every entry of an errors[] list.
func errorMessages(errs []string) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		if msg := errorMessage(e); msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

// componentError builds a *ComponentError with redacted messages.
func (c *Client) componentError(op string, msgs []string) *ComponentError {
	for i, m := range msgs {
		msgs[i] = capText(c.redact.redact(m), maxBodyText)
	}
	return &ComponentError{Op: op, Messages: msgs}
}
