package pdclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// This file holds the wire types of the Connect API. They are the frozen catalog
// format too: the fake's catalog files (pdtest/catalog/*.json) hold these shapes,
// and the schema package translates ConfigurableProp. Decoding is lenient where the
// API drifts between versions (connect-api.md section 13.3).

// App is an app of Pipedream's catalog (GET /v1/connect/apps).
type App struct {
	ID             string   `json:"id,omitempty"`
	NameSlug       string   `json:"name_slug"`
	Name           string   `json:"name"`
	AuthType       string   `json:"auth_type,omitempty"` // keys | oauth | none
	Description    string   `json:"description,omitempty"`
	ImgSrc         string   `json:"img_src,omitempty"`
	Categories     []string `json:"categories,omitempty"`
	FeaturedWeight float64  `json:"featured_weight,omitempty"`
	// Connect is what the app reports of the Connect proxy (nil when absent).
	Connect *AppConnect `json:"connect,omitempty"`
}

// AppConnect is an app's Connect proxy settings.
type AppConnect struct {
	ProxyEnabled bool `json:"proxy_enabled"`
	// AllowedDomains are the hosts the proxy accepts for the app (a domain
	// also allows its subdomains).
	AllowedDomains []string `json:"allowed_domains,omitempty"`
	// BaseProxyTargetURL is the app's API origin, which relative paths are
	// resolved against ("" for apps whose domain depends on the account).
	BaseProxyTargetURL string `json:"base_proxy_target_url,omitempty"`
}

// UnmarshalJSON accepts categories as a list or a single string (the webhook doc's
// own example sends a string).
func (a *App) UnmarshalJSON(b []byte) error {
	type plain App
	var aux struct {
		plain
		Categories     json.RawMessage `json:"categories"`
		FeaturedWeight json.RawMessage `json:"featured_weight"`
		Connect        json.RawMessage `json:"connect"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*a = App(aux.plain)
	a.Connect = nil
	var pc AppConnect
	if len(aux.Connect) > 0 && !isNull(aux.Connect) && json.Unmarshal(aux.Connect, &pc) == nil {
		a.Connect = &pc
	}
	a.Categories = nil
	if len(aux.Categories) > 0 {
		var list []string
		if json.Unmarshal(aux.Categories, &list) == nil {
			a.Categories = list
		} else {
			var one string
			if json.Unmarshal(aux.Categories, &one) == nil && one != "" {
				a.Categories = []string{one}
			}
		}
	}
	var w float64
	if len(aux.FeaturedWeight) > 0 && json.Unmarshal(aux.FeaturedWeight, &w) == nil {
		a.FeaturedWeight = w
	}
	return nil
}

// Annotations are a component's MCP-style hints.
type Annotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    *bool  `json:"readOnlyHint,omitempty"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  *bool  `json:"idempotentHint,omitempty"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

// Component is an action (or trigger) with its props.
type Component struct {
	Key               string             `json:"key"`
	Name              string             `json:"name"`
	Version           string             `json:"version"`
	Description       string             `json:"description,omitempty"`
	ComponentType     string             `json:"component_type,omitempty"`
	Stash             string             `json:"stash,omitempty"` // StashOptional | StashRequired
	Annotations       *Annotations       `json:"annotations,omitempty"`
	ConfigurableProps []ConfigurableProp `json:"configurable_props"`

	// PropsLoaded reports whether the JSON carried configurable_props (full list
	// items and single reads do; slim list items do not). Not on the wire.
	PropsLoaded bool `json:"-"`
	// PropsError is set when configurable_props was present but not a list of
	// props; the component is kept so the caller can name it. Not on the wire.
	PropsError string `json:"-"`
	// Private is set on the workspace's own published actions (listed from
	// the private registry). Not on the wire.
	Private bool `json:"-"`
}

// A component's File Stash need (Component.Stash; "" when it has none).
const (
	StashOptional = "optional"
	StashRequired = "required"
)

// UnmarshalJSON records whether configurable_props was present and decodes it
// without failing the whole component when it is malformed.
func (c *Component) UnmarshalJSON(b []byte) error {
	type plain Component
	var aux struct {
		plain
		ConfigurableProps json.RawMessage `json:"configurable_props"`
		Annotations       json.RawMessage `json:"annotations"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = Component(aux.plain)
	c.ConfigurableProps = nil
	c.Annotations = nil
	if len(aux.Annotations) > 0 && !isNull(aux.Annotations) {
		var an Annotations
		if json.Unmarshal(aux.Annotations, &an) == nil {
			c.Annotations = &an
		}
	}
	raw := aux.ConfigurableProps
	if len(raw) == 0 || isNull(raw) {
		return nil
	}
	c.PropsLoaded = true
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		c.PropsError = "configurable_props is not a list"
		return nil
	}
	props := make([]ConfigurableProp, 0, len(items))
	for i, it := range items {
		var p ConfigurableProp
		if err := json.Unmarshal(it, &p); err != nil {
			c.PropsError = fmt.Sprintf("configurable_props[%d]: %v", i, err)
			return nil
		}
		props = append(props, p)
	}
	c.ConfigurableProps = props
	return nil
}

// ConfigurableProp is one entry of configurable_props. Flags are camelCase on the
// wire. Unknown fields and unknown types are kept: Raw holds the prop as received.
type ConfigurableProp struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Label         string `json:"label,omitempty"`
	Description   string `json:"description,omitempty"`
	Optional      bool   `json:"optional,omitempty"`
	Disabled      bool   `json:"disabled,omitempty"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
	Hidden        bool   `json:"hidden,omitempty"`
	RemoteOptions bool   `json:"remoteOptions,omitempty"`
	UseQuery      bool   `json:"useQuery,omitempty"`
	ReloadProps   bool   `json:"reloadProps,omitempty"`
	WithLabel     bool   `json:"withLabel,omitempty"`

	// string, string[]
	Secret bool   `json:"secret,omitempty"`
	Format string `json:"format,omitempty"` // "file-ref"
	// integer, integer[]
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`

	// Default is the raw default value (any JSON), nil when absent or null.
	Default json.RawMessage `json:"default,omitempty"`
	// Options are static options in any of the three wire forms.
	Options []PropOption `json:"options,omitempty"`

	// app: the app's name slug.
	App string `json:"app,omitempty"`
	// alert
	AlertType string `json:"alertType,omitempty"`
	Content   string `json:"content,omitempty"`
	// dir
	AccessMode string `json:"accessMode,omitempty"`
	Sync       bool   `json:"sync,omitempty"`
	// $.airtable.*, $.discord.*, $.interface.apphook
	AppProp     string `json:"appProp,omitempty"`
	BaseIDProp  string `json:"baseIdProp,omitempty"`
	TableIDProp string `json:"tableIdProp,omitempty"`

	// Raw is the prop exactly as received (nil for props built in code).
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a prop leniently: null flags are false, numbers given as
// strings are read, options that are not a list are ignored, and the raw JSON is
// kept. A prop that is not a JSON object is an error.
func (p *ConfigurableProp) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return fmt.Errorf("prop is not an object")
	}
	*p = ConfigurableProp{Raw: append(json.RawMessage(nil), b...)}
	p.Name = propString(m, "name")
	p.Type = propString(m, "type")
	p.Label = propString(m, "label")
	p.Description = propString(m, "description")
	p.Optional = propFlag(m, "optional")
	p.Disabled = propFlag(m, "disabled")
	p.ReadOnly = propFlag(m, "readOnly")
	p.Hidden = propFlag(m, "hidden")
	p.RemoteOptions = propFlag(m, "remoteOptions")
	p.UseQuery = propFlag(m, "useQuery")
	p.ReloadProps = propFlag(m, "reloadProps")
	p.WithLabel = propFlag(m, "withLabel")
	p.Secret = propFlag(m, "secret")
	p.Format = propString(m, "format")
	p.Min = propNum(m, "min")
	p.Max = propNum(m, "max")
	if d, ok := m["default"]; ok && !isNull(d) {
		p.Default = append(json.RawMessage(nil), d...)
	}
	if o, ok := m["options"]; ok && !isNull(o) {
		var opts []PropOption
		if json.Unmarshal(o, &opts) == nil {
			p.Options = opts
		}
	}
	p.App = propString(m, "app")
	p.AlertType = propString(m, "alertType")
	p.Content = propString(m, "content")
	p.AccessMode = propString(m, "accessMode")
	p.Sync = propFlag(m, "sync")
	p.AppProp = propString(m, "appProp")
	p.BaseIDProp = propString(m, "baseIdProp")
	p.TableIDProp = propString(m, "tableIdProp")
	return nil
}

// propString is the text of field k of a prop: a JSON string's value, or
// the JSON text of a number or bool; "" when absent, null, an object or a
// list.
func propString(m map[string]json.RawMessage, k string) string {
	var s string
	if v, ok := m[k]; ok {
		if json.Unmarshal(v, &s) != nil {
			// a number or bool where a string was expected: keep its text
			if !isNull(v) && len(v) > 0 && v[0] != '{' && v[0] != '[' {
				s = string(v)
			}
		}
	}
	return s
}

// propFlag is the boolean field k of a prop: true or "true"; false when
// absent, null or anything else.
func propFlag(m map[string]json.RawMessage, k string) bool {
	var v bool
	if raw, ok := m[k]; ok {
		if json.Unmarshal(raw, &v) != nil {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				v = s == "true"
			}
		}
	}
	return v
}

// propNum is the number field k of a prop, given as a number or a string;
// nil when absent, null or not a number.
func propNum(m map[string]json.RawMessage, k string) *float64 {
	raw, ok := m[k]
	if !ok || isNull(raw) {
		return nil
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return &f
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if _, err := fmt.Sscanf(strings.TrimSpace(s), "%g", &f); err == nil {
			return &f
		}
	}
	return nil
}

// MarshalJSON writes the prop as received when it was decoded from JSON, so the
// fake serves its catalog unchanged; props built in code are encoded from fields.
func (p ConfigurableProp) MarshalJSON() ([]byte, error) {
	if len(p.Raw) > 0 {
		return p.Raw, nil
	}
	type plain ConfigurableProp
	return json.Marshal(plain(p))
}

// PropOption is one static or remote option. On the wire it is a bare value
// (string, number or bool), {"label", "value"}, or {"__lv": {"label", "value"}}.
// Value is always the raw JSON value; Label is the label when one was given.
type PropOption struct {
	Label string
	Value json.RawMessage
}

// UnmarshalJSON accepts the three option forms.
func (o *PropOption) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("empty option")
	}
	if b[0] != '{' {
		o.Label = ""
		o.Value = append(json.RawMessage(nil), b...)
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if lv, ok := m["__lv"]; ok {
		return o.UnmarshalJSON(lv)
	}
	var label string
	if raw, ok := m["label"]; ok {
		if json.Unmarshal(raw, &label) != nil {
			label = string(raw)
		}
	}
	o.Label = label
	if v, ok := m["value"]; ok && !isNull(v) {
		o.Value = append(json.RawMessage(nil), v...)
	} else {
		// {label} alone: the label is the value.
		o.Value, _ = json.Marshal(label)
	}
	return nil
}

// MarshalJSON writes {"label", "value"}, or the bare value when there is no label.
func (o PropOption) MarshalJSON() ([]byte, error) {
	v := o.Value
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	if o.Label == "" {
		return v, nil
	}
	return json.Marshal(struct {
		Label string          `json:"label"`
		Value json.RawMessage `json:"value"`
	}{o.Label, v})
}

// Observation is an entry of os[] or observations[].
type Observation struct {
	K   string            `json:"k"`
	TS  float64           `json:"ts,omitempty"`
	Msg string            `json:"msg,omitempty"`
	Err *ObservationError `json:"err,omitempty"`
}

// ObservationError is the err of an error observation.
type ObservationError struct {
	Name    string `json:"name,omitempty"`
	Message string `json:"message,omitempty"`
	Stack   string `json:"stack,omitempty"`
}

// Account is a connected account of an external user (no credentials: the client
// never asks for them).
type Account struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Healthy    bool   `json:"healthy"`
	Dead       bool   `json:"dead,omitempty"`
	App        *App   `json:"app,omitempty"`
	CreatedAt  string `json:"created_at,omitempty"`
	UpdatedAt  string `json:"updated_at,omitempty"`
	Error      string `json:"error,omitempty"`
}

// UnmarshalJSON tolerates null names and errors.
func (a *Account) UnmarshalJSON(b []byte) error {
	type plain Account
	var aux struct {
		plain
		Name  *string          `json:"name"`
		Error *string          `json:"error"`
		Dead  *bool            `json:"dead"`
		App   *json.RawMessage `json:"app"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*a = Account(aux.plain)
	if aux.Name != nil {
		a.Name = *aux.Name
	}
	if aux.Error != nil {
		a.Error = *aux.Error
	}
	if aux.Dead != nil {
		a.Dead = *aux.Dead
	}
	a.App = nil
	if aux.App != nil && !isNull(*aux.App) {
		var app App
		if json.Unmarshal(*aux.App, &app) == nil {
			a.App = &app
		}
	}
	return nil
}

// Created parses CreatedAt (RFC 3339); the zero time when absent or malformed.
func (a Account) Created() time.Time {
	t, err := time.Parse(time.RFC3339Nano, a.CreatedAt)
	if err != nil {
		return time.Time{}
	}
	return t
}

// AppSlug is the account's app slug when the API included it.
func (a Account) AppSlug() string {
	if a.App == nil {
		return ""
	}
	return a.App.NameSlug
}

// PageInfo is the cursor block of list responses.
type PageInfo struct {
	Count       int    `json:"count,omitempty"`
	TotalCount  int    `json:"total_count,omitempty"`
	StartCursor string `json:"start_cursor,omitempty"`
	EndCursor   string `json:"end_cursor,omitempty"`
}

// UnmarshalJSON tolerates null cursors.
func (p *PageInfo) UnmarshalJSON(b []byte) error {
	var aux struct {
		Count       *int    `json:"count"`
		TotalCount  *int    `json:"total_count"`
		StartCursor *string `json:"start_cursor"`
		EndCursor   *string `json:"end_cursor"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*p = PageInfo{}
	if aux.Count != nil {
		p.Count = *aux.Count
	}
	if aux.TotalCount != nil {
		p.TotalCount = *aux.TotalCount
	}
	if aux.StartCursor != nil {
		p.StartCursor = *aux.StartCursor
	}
	if aux.EndCursor != nil {
		p.EndCursor = *aux.EndCursor
	}
	return nil
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }
