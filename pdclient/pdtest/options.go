package pdtest

// This file owns configure (remote options and their paging) and reload-props
// (dynamic props from the catalog's reload rules), and the checks they share
// with run: the request-level fields, dynamic props ids and app props.

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

// configureBody is the body of components/configure.
type configureBody struct {
	componentBody
	PropName    string          `json:"prop_name"`
	Page        *float64        `json:"page"`
	PrevContext json.RawMessage `json:"prev_context"`
	Query       string          `json:"query"`
}

// handleConfigure serves POST .../components/configure: the remote options of
// one prop, paged by page or by prev_context, filtered by query. Request-level
// problems are 4xx; component-level ones are HTTP 200 with errors[].
func (f *Fake) handleConfigure(w http.ResponseWriter, r *http.Request, env string) {
	var body configureBody
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
	prop, problems := f.remoteOptionsProp(a, &body, env)
	if len(problems) > 0 {
		writeJSON(w, http.StatusOK, configureFailure(problems...))
		return
	}
	writeJSON(w, http.StatusOK, configureOptions(a, prop, &body))
}

// configureFailure is a configure answer that reports problems in errors[].
func configureFailure(msgs ...string) configureResponse {
	resp := configureResponse{Observations: []pdclient.Observation{}, Options: []option{}}
	for _, m := range msgs {
		resp.Errors = append(resp.Errors, errorString(m))
	}
	return resp
}

// remoteOptionsProp returns the prop a configure request names, after checking
// the dynamic props and app props it is sent with; or the problems found.
func (f *Fake) remoteOptionsProp(a *catalogAction, body *configureBody, env string) (*pdclient.ConfigurableProp, []string) {
	props, msg := f.propsFor(a, &body.componentBody, env)
	if msg != "" {
		return nil, []string{msg}
	}
	if problems := f.checkApps(a, props, &body.componentBody, env); len(problems) > 0 {
		return nil, problems
	}
	var prop *pdclient.ConfigurableProp
	for i := range props {
		if props[i].Name == body.PropName {
			prop = &props[i]
		}
	}
	switch {
	case prop == nil:
		return nil, []string{fmt.Sprintf("prop %q not found in component %s", body.PropName, a.key)}
	case !prop.RemoteOptions:
		return nil, []string{fmt.Sprintf("prop %q has no remote options", prop.Name)}
	}
	return prop, nil
}

// configureOptions answers the page of prop's options the request asks for.
func configureOptions(a *catalogAction, prop *pdclient.ConfigurableProp, body *configureBody) configureResponse {
	spec := a.optionsFor(prop.Name)
	if spec == nil {
		return configureResponse{Observations: []pdclient.Observation{}, Options: []option{}, Errors: []string{}}
	}
	all, problem := spec.options(prop.Name, configuredValues(body.ConfiguredProps))
	if problem != "" {
		return configureFailure(problem)
	}
	if q := strings.ToLower(strings.TrimSpace(body.Query)); q != "" && prop.UseQuery {
		all = matchingOptions(all, q)
	}
	return spec.page(all, body.Page, body.PrevContext)
}

// options renders every option of the spec for prop, picking the list by the
// value of DependsOn when there is one (which must then be configured).
func (s *optionSpec) options(prop string, vals map[string]any) ([]option, string) {
	raws := s.Values
	if s.DependsOn != "" {
		dep, ok := vals[s.DependsOn]
		if !ok || dep == nil || dep == "" {
			return nil, fmt.Sprintf("%q must be configured before the options of %q can be listed", s.DependsOn, prop)
		}
		if byVal, ok := s.ByValue[stringify(dep)]; ok {
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
	return all, ""
}

// matchingOptions keeps the options whose label or value contains q (lower case).
func matchingOptions(all []option, q string) []option {
	var hits []option
	for _, o := range all {
		if strings.Contains(strings.ToLower(o.Label), q) || strings.Contains(strings.ToLower(stringify(o.Value)), q) {
			hits = append(hits, o)
		}
	}
	return hits
}

// page answers one page of options: the request's page, the page after
// prev_context's cursor (with the next cursor as context while more remain),
// or everything at once, as the spec's Paging says.
func (s *optionSpec) page(all []option, page *float64, prevContext json.RawMessage) configureResponse {
	size := s.PageSize
	if size <= 0 {
		size = len(all)
	}
	start := min(max(s.pageStart(page, prevContext, size, len(all)), 0), len(all))
	end := min(start+size, len(all))
	resp := configureResponse{Observations: []pdclient.Observation{}, Errors: []string{}}
	if s.Paging == "context" && end < len(all) {
		resp.Context = map[string]string{"cursor": strconv.Itoa(end)}
	}
	if s.StringOptions {
		resp.StringOptions = make([]string, 0, end-start)
		for _, o := range all[start:end] {
			resp.StringOptions = append(resp.StringOptions, stringify(o.Value))
		}
	} else {
		resp.Options = append([]option{}, all[start:end]...)
	}
	return resp
}

// pageStart is the index of the first option of the page a request asks for.
// Without paging there is one page only: asking for a later one gets nothing.
func (s *optionSpec) pageStart(page *float64, prevContext json.RawMessage, size, total int) int {
	later := page != nil && *page > 0
	switch s.Paging {
	case "page":
		if later {
			return int(*page) * size
		}
	case "context":
		return contextCursor(prevContext)
	default:
		if later {
			return total
		}
	}
	return 0
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
	l := &propList{
		raws:  make([]json.RawMessage, 0, len(a.comp.ConfigurableProps)),
		names: make([]string, 0, len(a.comp.ConfigurableProps)),
	}
	for _, p := range a.comp.ConfigurableProps {
		l.raws = append(l.raws, p.Raw)
		l.names = append(l.names, p.Name)
	}
	for _, rule := range a.reload {
		if !rule.When.holds(vals) {
			continue
		}
		for _, raw := range rule.Add {
			l.put(raw)
		}
		for _, raw := range rule.AddByValue.props(vals) {
			l.put(raw)
		}
		for _, name := range rule.Unhide {
			l.unhide(name)
		}
	}
	return l.raws
}

// propList is a prop list that reload rules edit: the raw props and their
// names, in order.
type propList struct {
	raws  []json.RawMessage
	names []string
}

// put replaces the prop of raw's name, or appends raw when there is none.
func (l *propList) put(raw json.RawMessage) {
	var p struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(raw, &p)
	for i, n := range l.names {
		if n == p.Name {
			l.raws[i] = compact(raw)
			return
		}
	}
	l.raws = append(l.raws, compact(raw))
	l.names = append(l.names, p.Name)
}

// unhide removes "hidden" from the props named name.
func (l *propList) unhide(name string) {
	for i, n := range l.names {
		if n != name {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(l.raws[i], &m) == nil {
			delete(m, "hidden")
			l.raws[i], _ = json.Marshal(m)
		}
	}
}

// props are the props to add for the configured value of b.Prop (none for a
// nil b).
func (b *addByValue) props(vals map[string]any) []json.RawMessage {
	if b == nil {
		return nil
	}
	if list, ok := b.Cases[stringify(vals[b.Prop])]; ok {
		return list
	}
	return b.Default
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
