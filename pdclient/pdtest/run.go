package pdtest

// This file owns actions/run: the checks of a run's configured props, and the
// catalog behaviour that answers a run that passes them.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// maxRunDelay caps the delay an action may ask for through its props.
const maxRunDelay = 10 * time.Minute

// runResponse is the body of actions/run.
type runResponse struct {
	Exports map[string]any         `json:"exports"`
	OS      []pdclient.Observation `json:"os"`
	Ret     any                    `json:"ret,omitempty"`
	StashID string                 `json:"stash_id,omitempty"`
}

// handleRun serves POST .../actions/run. Request-level problems (bad JSON, no
// id or user, unknown component or version) are 4xx; component-level problems
// are HTTP 200 with one error observation per problem, as the API reports them.
func (f *Fake) handleRun(w http.ResponseWriter, r *http.Request, env string) {
	var body struct {
		componentBody
		StashID json.RawMessage `json:"stash_id"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rec := RunRecord{
		ID:              body.ID,
		ExternalUserID:  body.ExternalUserID,
		Version:         body.Version,
		DynamicPropsID:  body.DynamicPropsID,
		ConfiguredProps: map[string]any{},
		HasStashID:      len(body.StashID) > 0,
		Environment:     env,
	}
	for k, raw := range body.ConfiguredProps {
		var v any
		_ = json.Unmarshal(raw, &v)
		rec.ConfiguredProps[k] = v
	}
	f.mu.Lock()
	if len(f.runs) >= maxRunRecords {
		// A long-running sandbox keeps the newest half: memory stays bounded.
		half := len(f.runs) / 2
		f.runs = append([]RunRecord(nil), f.runs[half:]...)
		f.runsDropped += half
	}
	f.runs = append(f.runs, rec)
	idx := f.runsDropped + len(f.runs) - 1 // absolute: survives trimming
	delay := f.runDelay
	f.mu.Unlock()

	if !sleep(r, delay) {
		return
	}
	a := f.check(w, &body.componentBody)
	if a == nil {
		return
	}
	props, problems := f.runProblems(a, &body.componentBody, rec.HasStashID, env)
	if len(problems) > 0 {
		writeJSON(w, http.StatusOK, runResponse{Exports: map[string]any{}, OS: errorObservations(problems...)})
		return
	}
	f.mu.Lock()
	f.runsExecuted++
	if i := idx - f.runsDropped; i >= 0 {
		f.runs[i].Executed = true
	}
	f.actionSeq[a.key]++
	seq := f.actionSeq[a.key]
	f.mu.Unlock()

	resp, ok := f.perform(r, a, props, &body.componentBody, seq)
	if !ok {
		return // the client went away during a slow action
	}
	if rec.HasStashID {
		resp.StashID = "stash_" + randomAlnum(12)
		if a.run != nil && len(a.run.Files) > 0 && len(resp.OS) == 0 {
			tc := newTemplateContext(configuredValues(body.ConfiguredProps), body.ExternalUserID, seq)
			resp.Exports["$filestash_uploads"] = f.writeStash(resp.StashID, a.run.Files, tc)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// sleep waits d unless the request is cancelled first; it reports whether the
// wait completed.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func errorObservations(msgs ...string) []pdclient.Observation {
	ts := float64(time.Now().UnixMilli())
	out := make([]pdclient.Observation, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, pdclient.Observation{K: "error", TS: ts, Err: &pdclient.ObservationError{Name: "Error", Message: m}})
	}
	return out
}

// runProblems checks a run request against the props it must satisfy: dynamic
// props, accounts, File Stash, required props, withLabel and value types.
func (f *Fake) runProblems(a *catalogAction, b *componentBody, hasStash bool, env string) ([]pdclient.ConfigurableProp, []string) {
	if b.DynamicPropsID == "" && a.reloads() {
		return nil, []string{fmt.Sprintf(
			"undefined is not an array or an array-like: component %s has props with reloadProps, so run needs the dynamic_props_id returned by reload props", a.key)}
	}
	props, msg := f.propsFor(a, b, env)
	if msg != "" {
		return nil, []string{msg}
	}
	problems := f.checkApps(a, props, b, env)
	if a.comp.Stash == "required" && !hasStash {
		problems = append(problems, fmt.Sprintf("component %s requires File Stash: pass stash_id", a.key))
	}
	for _, p := range props {
		if !isArgument(p) {
			continue
		}
		if msg := argumentProblem(p, b.ConfiguredProps[p.Name]); msg != "" {
			problems = append(problems, msg)
		}
	}
	return props, problems
}

// argumentProblem checks the configured value of one argument prop: present
// unless optional or defaulted, wrapped in __lv when withLabel, and of the
// prop's type. It returns a problem, or "".
func argumentProblem(p pdclient.ConfigurableProp, raw json.RawMessage) string {
	if isAbsent(raw) {
		if !p.Optional && len(p.Default) == 0 {
			return fmt.Sprintf("required prop %q (%s) is missing", p.Name, labelOf(p))
		}
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	if p.WithLabel {
		m, _ := v.(map[string]any)
		lv, ok := m["__lv"].(map[string]any)
		if !ok {
			return fmt.Sprintf(`prop %q has withLabel: send it as {"__lv": {"label": "...", "value": ...}}`, p.Name)
		}
		v = lv["value"]
	}
	return typeProblem(p, v)
}

// isArgument reports whether a caller sets this prop (not the platform, and not
// hidden, disabled or readOnly).
func isArgument(p pdclient.ConfigurableProp) bool {
	if p.Name == "" || p.Hidden || p.Disabled || p.ReadOnly {
		return false
	}
	switch p.Type {
	case "app", "alert", "dir", "data_store":
		return false
	}
	return !strings.HasPrefix(p.Type, "$.interface.") && !strings.HasPrefix(p.Type, "$.service.")
}

func labelOf(p pdclient.ConfigurableProp) string {
	if p.Label != "" {
		return p.Label
	}
	return p.Name
}

// typeProblem checks a value against the prop's type; unknown types take any value.
func typeProblem(p pdclient.ConfigurableProp, v any) string {
	k, known := valueKinds[p.Type]
	if !known || k.ok(v) {
		return ""
	}
	return fmt.Sprintf("prop %q must be %s", p.Name, k.want)
}

// valueKind is what the values of a prop type must be.
type valueKind struct {
	want string // for the error: "a string", ...
	ok   func(any) bool
}

var (
	stringKind     = valueKind{"a string", isString}
	stringListKind = valueKind{"a list of strings", listOf(isString)}
	objectKind     = valueKind{"a JSON object", isObject}
)

// valueKinds are the checked prop types.
var valueKinds = map[string]valueKind{
	"string":              stringKind,
	"$.airtable.baseId":   stringKind,
	"$.airtable.tableId":  stringKind,
	"$.airtable.viewId":   stringKind,
	"$.airtable.fieldId":  stringKind,
	"$.discord.channel":   stringKind,
	"string[]":            stringListKind,
	"$.discord.channel[]": stringListKind,
	"integer":             {"an integer", isInteger},
	"integer[]":           {"a list of integers", listOf(isInteger)},
	"boolean":             {"a boolean", isBool},
	"object":              objectKind,
	"sql":                 objectKind,
	"http_request":        objectKind,
}

func isString(v any) bool  { _, ok := v.(string); return ok }
func isBool(v any) bool    { _, ok := v.(bool); return ok }
func isObject(v any) bool  { _, ok := v.(map[string]any); return ok }
func isInteger(v any) bool { n, ok := v.(float64); return ok && n == math.Trunc(n) }

// listOf checks a list whose every element passes ok.
func listOf(ok func(any) bool) func(any) bool {
	return func(v any) bool {
		list, isList := v.([]any)
		if !isList {
			return false
		}
		for _, e := range list {
			if !ok(e) {
				return false
			}
		}
		return true
	}
}

// perform runs the action's catalog behaviour. It reports false when the client
// went away during the action's delay.
func (f *Fake) perform(r *http.Request, a *catalogAction, props []pdclient.ConfigurableProp, b *componentBody, seq int) (runResponse, bool) {
	spec := a.behaviour()
	vals := configuredValues(b.ConfiguredProps)
	input, fields := runInput(a, props, vals)
	for _, p := range appProps(a, props) {
		delete(vals, p.Name)
	}
	for _, name := range spec.Redact {
		if _, ok := input[name]; ok {
			input[name] = "[redacted]"
		}
	}
	tc := newTemplateContext(vals, b.ExternalUserID, seq)
	tc.input, tc.fields = input, fields

	if !sleep(r, min(spec.delay(vals), maxRunDelay)) {
		return runResponse{}, false
	}
	if len(spec.Item) > 0 {
		tc.items = tc.renderItems(spec.Item, spec.itemCount(vals))
	}
	if spec.Error != "" {
		return spec.failure(tc), true
	}
	return spec.success(tc, a, input), true
}

// behaviour is the action's run spec; an action without one echoes its input.
func (a *catalogAction) behaviour() *runSpec {
	if a.run != nil {
		return a.run
	}
	return &runSpec{Kind: "echo", Summary: "Ran " + a.comp.Name, Ret: json.RawMessage(`"{{$input}}"`)}
}

// runInput returns the configured values of props except app props
// ({{$input}}), and among them those of props added by reload-props
// ({{$fields}}).
func runInput(a *catalogAction, props []pdclient.ConfigurableProp, vals map[string]any) (input, fields map[string]any) {
	static := map[string]bool{}
	for _, p := range a.comp.ConfigurableProps {
		static[p.Name] = true
	}
	input, fields = map[string]any{}, map[string]any{}
	for _, p := range props {
		v, ok := vals[p.Name]
		if !ok || p.Type == "app" {
			continue
		}
		input[p.Name] = v
		if !static[p.Name] {
			fields[p.Name] = v
		}
	}
	return input, fields
}

// delay is how long the run takes: DelayMS, or the number in DelayProp.
func (s *runSpec) delay(vals map[string]any) time.Duration {
	if n, ok := vals[s.DelayProp].(float64); ok && s.DelayProp != "" {
		return time.Duration(n * float64(time.Millisecond))
	}
	return time.Duration(s.DelayMS) * time.Millisecond
}

// itemCount is how many items {{$items}} holds: Count, or the number in
// CountProp, capped by MaxCount and kept within 0..1000.
func (s *runSpec) itemCount(vals map[string]any) int {
	n := s.Count
	if c, ok := vals[s.CountProp].(float64); ok && s.CountProp != "" {
		n = int(c)
	}
	if s.MaxCount > 0 {
		n = min(n, s.MaxCount)
	}
	return min(max(n, 0), 1000)
}

// renderItems renders the item template n times, {{$i}} counting from 1.
func (c *templateContext) renderItems(item json.RawMessage, n int) []any {
	items := make([]any, 0, n)
	for i := 1; i <= n; i++ {
		c.i = i
		items = append(items, c.renderJSON(item))
	}
	c.i = 0
	return items
}

// failure is the answer of a run that fails: one error observation.
func (s *runSpec) failure(tc *templateContext) runResponse {
	name := s.ErrorName
	if name == "" {
		name = "Error"
	}
	obs := errorObservations(stringify(tc.renderString(s.Error)))
	obs[0].Err.Name = name
	return runResponse{Exports: map[string]any{}, OS: obs}
}

// success is the answer of a run that succeeds: ret (Bytes of records, the
// rendered Ret, or the input), the rendered exports and the summary.
func (s *runSpec) success(tc *templateContext, a *catalogAction, input map[string]any) runResponse {
	var ret any
	switch {
	case s.Bytes > 0:
		ret = largeResult(s.Bytes)
	case len(s.Ret) > 0:
		ret = tc.renderJSON(s.Ret)
	default:
		ret = input
	}
	exports := map[string]any{}
	for k, raw := range s.Exports {
		exports[k] = tc.renderJSON(raw)
	}
	summary := "Ran " + a.comp.Name
	if s.Summary != "" {
		summary = stringify(tc.renderString(s.Summary))
	}
	exports["$summary"] = summary
	return runResponse{Exports: exports, OS: []pdclient.Observation{}, Ret: ret}
}

// largeResult is a list of records of about n bytes of JSON.
func largeResult(n int) []any {
	const chunk = 1000
	data := strings.Repeat("x", chunk)
	rows := make([]any, 0, n/chunk+1)
	for size := 0; size < n; size += chunk { // each row is a little more than chunk
		rows = append(rows, map[string]any{"index": len(rows), "data": data})
	}
	return rows
}
