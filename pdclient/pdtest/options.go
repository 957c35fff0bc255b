package pdtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// componentBody holds the fields shared by configure, reload-props and run.
type componentBody struct {
	ID              string                     `json:"id"`
	ExternalUserID  string                     `json:"external_user_id"`
	Version         string                     `json:"version"`
	ConfiguredProps map[string]json.RawMessage `json:"configured_props"`
	DynamicPropsID  string                     `json:"dynamic_props_id"`
}

// check validates the request-level fields; it returns the action, or writes a
// 4xx answer and returns nil.
func (f *Fake) check(w http.ResponseWriter, b *componentBody) *catalogAction {
	switch {
	case b.ID == "":
		writeError(w, http.StatusBadRequest, "id is required")
		return nil
	case b.ExternalUserID == "":
		writeError(w, http.StatusBadRequest, "external_user_id is required")
		return nil
	}
	a, msg := f.component(b.ID, b.Version)
	if a == nil {
		writeError(w, http.StatusNotFound, msg)
	}
	return a
}

// propsFor returns the prop list a request works with: the dynamic props named
// by dynamic_props_id, or the component's own. It returns a problem, or "".
func (f *Fake) propsFor(a *catalogAction, b *componentBody, env string) ([]pdclient.ConfigurableProp, string) {
	if b.DynamicPropsID == "" {
		return a.comp.ConfigurableProps, ""
	}
	f.mu.Lock()
	d, ok := f.dyps[b.DynamicPropsID]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Sprintf("dynamic props %s not found: call reload props again", b.DynamicPropsID)
	}
	if d.key != a.key || d.user != b.ExternalUserID || d.env != env {
		return nil, fmt.Sprintf("dynamic props %s were issued for another component or user", b.DynamicPropsID)
	}
	return d.props, ""
}

// checkApps checks every configured app prop (the primary one must be set).
func (f *Fake) checkApps(a *catalogAction, props []pdclient.ConfigurableProp, b *componentBody, env string) []string {
	var problems []string
	for i, p := range appProps(a, props) {
		val := b.ConfiguredProps[p.Name]
		if i > 0 && isAbsent(val) {
			continue // secondary app props are checked only when given
		}
		if msg := f.checkAccount(val, p.Name, p.App, b.ExternalUserID, env); msg != "" {
			problems = append(problems, msg)
		}
	}
	return problems
}

// errorString is an entry of errors[]: a JSON string {"name", "message"}.
func errorString(msg string) string {
	b, _ := json.Marshal(pdclient.ObservationError{Name: "Error", Message: msg})
	return string(b)
}

// configureResponse is the body of components/configure.
type configureResponse struct {
	Observations  []pdclient.Observation `json:"observations"`
	Context       any                    `json:"context"`
	Options       []option               `json:"options"`
	Errors        []string               `json:"errors"`
	StringOptions []string               `json:"stringOptions"`
}

type option struct {
	Label string `json:"label"`
	Value any    `json:"value"`
}

// handleConfigure serves POST .../components/configure: the remote options of
// one prop, paged by page or by prev_context, filtered by query.
func (f *Fake) handleConfigure(w http.ResponseWriter, r *http.Request, env string) {
	var body struct {
		componentBody
		PropName    string          `json:"prop_name"`
		Page        *float64        `json:"page"`
		PrevContext json.RawMessage `json:"prev_context"`
		Query       string          `json:"query"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if body.PropName == "" && body.ID != "" && body.ExternalUserID != "" {
		writeError(w, http.StatusBadRequest, "prop_name is required")
		return
	}
	a := f.check(w, &body.componentBody)
	if a == nil {
		return
	}
	fail := func(msgs ...string) {
		resp := configureResponse{Observations: []pdclient.Observation{}, Options: []option{}}
		for _, m := range msgs {
			resp.Errors = append(resp.Errors, errorString(m))
		}
		writeJSON(w, http.StatusOK, resp)
	}
	props, msg := f.propsFor(a, &body.componentBody, env)
	if msg != "" {
		fail(msg)
		return
	}
	if problems := f.checkApps(a, props, &body.componentBody, env); len(problems) > 0 {
		fail(problems...)
		return
	}
	var prop *pdclient.ConfigurableProp
	for i := range props {
		if props[i].Name == body.PropName {
			prop = &props[i]
		}
	}
	if prop == nil {
		fail(fmt.Sprintf("prop %q not found in component %s", body.PropName, a.key))
		return
	}
	if !prop.RemoteOptions {
		fail(fmt.Sprintf("prop %q has no remote options", prop.Name))
		return
	}
	vals := configuredValues(body.ConfiguredProps)
	spec := a.optionsFor(prop.Name)
	if spec == nil {
		writeJSON(w, http.StatusOK, configureResponse{Observations: []pdclient.Observation{}, Options: []option{}, Errors: []string{}})
		return
	}
	raws := spec.Values
	if spec.DependsOn != "" {
		dep, ok := vals[spec.DependsOn]
		if !ok || dep == nil || dep == "" {
			fail(fmt.Sprintf("%q must be configured before the options of %q can be listed", spec.DependsOn, prop.Name))
			return
		}
		if byVal, ok := spec.ByValue[stringify(dep)]; ok {
			raws = byVal
		}
	}
	tc := newTemplateContext(vals, "", 0)
	all := make([]option, 0, len(raws))
	for _, raw := range raws {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		all = append(all, toOption(tc.render(v)))
	}
	if q := strings.ToLower(strings.TrimSpace(body.Query)); q != "" && prop.UseQuery {
		var hits []option
		for _, o := range all {
			if strings.Contains(strings.ToLower(o.Label), q) || strings.Contains(strings.ToLower(stringify(o.Value)), q) {
				hits = append(hits, o)
			}
		}
		all = hits
	}

	size := spec.PageSize
	if size <= 0 {
		size = len(all)
	}
	var start int
	switch spec.Paging {
	case "page":
		if body.Page != nil && *body.Page > 0 {
			start = int(*body.Page) * size
		}
	case "context":
		start = contextCursor(body.PrevContext)
	default:
		if body.Page != nil && *body.Page > 0 {
			start = len(all) // one page only
		}
	}
	start = min(max(start, 0), len(all))
	end := min(start+size, len(all))
	page := all[start:end]
	resp := configureResponse{Observations: []pdclient.Observation{}, Errors: []string{}}
	if spec.Paging == "context" && end < len(all) {
		resp.Context = map[string]string{"cursor": strconv.Itoa(end)}
	}
	if spec.StringOptions {
		resp.StringOptions = make([]string, 0, len(page))
		for _, o := range page {
			resp.StringOptions = append(resp.StringOptions, stringify(o.Value))
		}
	} else {
		resp.Options = append([]option{}, page...)
	}
	writeJSON(w, http.StatusOK, resp)
}

// contextCursor reads prev_context.cursor (a number, as a string or a number).
func contextCursor(raw json.RawMessage) int {
	var ctx struct {
		Cursor any `json:"cursor"`
	}
	if isAbsent(raw) || json.Unmarshal(raw, &ctx) != nil {
		return 0
	}
	switch c := ctx.Cursor.(type) {
	case string:
		n, _ := strconv.Atoi(c)
		return n
	case float64:
		return int(c)
	}
	return 0
}

// toOption normalises a catalog option: a bare value, {label, value} or {__lv}.
func toOption(v any) option {
	m, ok := v.(map[string]any)
	if !ok {
		return option{Label: stringify(v), Value: v}
	}
	if lv, ok := m["__lv"]; ok {
		return toOption(lv)
	}
	label := stringify(m["label"])
	val, ok := m["value"]
	if !ok || val == nil {
		val = label
	}
	return option{Label: label, Value: val}
}

// configuredValues decodes configured props, unwrapping {"__lv": {...}} to its
// value.
func configuredValues(cp map[string]json.RawMessage) map[string]any {
	out := make(map[string]any, len(cp))
	for k, raw := range cp {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		out[k] = unwrapLV(v)
	}
	return out
}

func unwrapLV(v any) any {
	if m, ok := v.(map[string]any); ok {
		if lv, ok := m["__lv"].(map[string]any); ok {
			return lv["value"]
		}
	}
	return v
}

// reloadResponse is the body of components/props.
type reloadResponse struct {
	Observations []pdclient.Observation `json:"observations"`
	Errors       []string               `json:"errors"`
	DynamicProps *dynamicPropsWire      `json:"dynamicProps"`
}

type dynamicPropsWire struct {
	ID                string            `json:"id"`
	ConfigurableProps []json.RawMessage `json:"configurableProps"`
}

// handleReload serves POST .../components/props: the component's props after
// its reload rules, under a new dynamic props id.
func (f *Fake) handleReload(w http.ResponseWriter, r *http.Request, env string) {
	var body componentBody
	if err := decodeBody(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	a := f.check(w, &body)
	if a == nil {
		return
	}
	if problems := f.checkApps(a, a.comp.ConfigurableProps, &body, env); len(problems) > 0 {
		resp := reloadResponse{Observations: []pdclient.Observation{}}
		for _, m := range problems {
			resp.Errors = append(resp.Errors, errorString(m))
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	raws := reloadProps(a, configuredValues(body.ConfiguredProps))
	props := make([]pdclient.ConfigurableProp, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &props[i]); err != nil {
			writeError(w, http.StatusInternalServerError, "catalog: bad reload prop: "+err.Error())
			return
		}
	}
	id := "dyp_" + randomAlnum(7)
	f.mu.Lock()
	f.dyps[id] = &dynProps{key: a.key, user: body.ExternalUserID, env: env, props: props}
	f.dypOrder = append(f.dypOrder, id)
	if len(f.dypOrder) > maxDynamicProps {
		delete(f.dyps, f.dypOrder[0])
		f.dypOrder = f.dypOrder[1:]
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, reloadResponse{
		Observations: []pdclient.Observation{},
		Errors:       []string{},
		DynamicProps: &dynamicPropsWire{ID: id, ConfigurableProps: raws},
	})
}

// reloadProps applies the action's reload rules to its props.
func reloadProps(a *catalogAction, vals map[string]any) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(a.comp.ConfigurableProps))
	names := make([]string, 0, len(a.comp.ConfigurableProps))
	for _, p := range a.comp.ConfigurableProps {
		out = append(out, p.Raw)
		names = append(names, p.Name)
	}
	put := func(raw json.RawMessage) {
		var p struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &p)
		for i, n := range names {
			if n == p.Name {
				out[i] = compact(raw)
				return
			}
		}
		out = append(out, compact(raw))
		names = append(names, p.Name)
	}
	for _, rule := range a.reload {
		if !rule.When.holds(vals) {
			continue
		}
		for _, raw := range rule.Add {
			put(raw)
		}
		if rule.AddByValue != nil {
			list, ok := rule.AddByValue.Cases[stringify(vals[rule.AddByValue.Prop])]
			if !ok {
				list = rule.AddByValue.Default
			}
			for _, raw := range list {
				put(raw)
			}
		}
		for _, name := range rule.Unhide {
			for i, n := range names {
				if n != name {
					continue
				}
				var m map[string]json.RawMessage
				if json.Unmarshal(out[i], &m) == nil {
					delete(m, "hidden")
					out[i], _ = json.Marshal(m)
				}
			}
		}
	}
	return out
}

// holds evaluates a condition; a nil condition always holds.
func (c *condition) holds(vals map[string]any) bool {
	if c == nil {
		return true
	}
	v, set := vals[c.Prop]
	set = set && !isEmptyValue(v)
	switch {
	case len(c.Equals) > 0:
		var want any
		if json.Unmarshal(c.Equals, &want) != nil {
			return false
		}
		return set && reflect.DeepEqual(v, want)
	case c.Contains != "":
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				if stringify(unwrapLV(e)) == c.Contains {
					return true
				}
			}
		case string:
			return v == c.Contains
		}
		return false
	case c.Set:
		return set
	}
	return true
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	}
	return false
}
