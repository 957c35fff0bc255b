package tools_test

// The relevance evaluation of catalog mode's search (go test -run SearchEval
// -v ./tools/ prints the misses and the rates).

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// Targets of the evaluation: the share of tasks with an accepted action first,
// and within the first three results.
const (
	evalMinTop1 = 0.70
	evalMinTop3 = 0.90
	evalLimit   = 3
)

// evalTask is one task of testdata/search_eval.json: what an agent asks, the
// action keys a careful judge accepts for it, and rarely an app filter.
type evalTask struct {
	Task   string   `json:"task"`
	Accept []string `json:"accept"`
	App    string   `json:"app,omitempty"`
}

func loadEvalTasks(t *testing.T) []evalTask {
	t.Helper()
	b, err := os.ReadFile("testdata/search_eval.json")
	if err != nil {
		t.Fatal(err)
	}
	var tasks []evalTask
	if err := json.Unmarshal(b, &tasks); err != nil {
		t.Fatalf("search_eval.json: %v", err)
	}
	return tasks
}

// catalogKeys maps every action key of the sandbox catalog to its app slug.
func catalogKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	err := fs.WalkDir(pdtest.CatalogFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := fs.ReadFile(pdtest.CatalogFS(), path)
		if err != nil {
			return err
		}
		var f struct {
			App struct {
				Slug string `json:"name_slug"`
			} `json:"app"`
			Actions []struct {
				Key string `json:"key"`
			} `json:"actions"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, a := range f.Actions {
			keys[a.Key] = f.App.Slug
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestSearchEval measures how well pipedream_search_actions ranks the sandbox
// catalog for what agents ask: testdata/search_eval.json holds tasks written
// as an agent would put them on a user's behalf, paraphrased rather than
// copied from action names, each with the action keys a careful judge accepts
// (every reasonable one, across apps, for an ambiguous task), decided without
// looking at the ranking. Every task runs through the real search handler
// (limit 3) as the demo user, over every sandbox app in catalog mode; a hit is
// a result whose action is accepted. The test fails below evalMinTop1 or
// evalMinTop3.
func TestSearchEval(t *testing.T) {
	tasks := loadEvalTasks(t)
	if len(tasks) < 150 {
		t.Fatalf("%d tasks, want at least 150", len(tasks))
	}

	// Catalog mode over every sandbox app, one user connection each.
	var conns []tools.Connection
	for _, slug := range pdtest.NewSandbox().AllApps() {
		conns = append(conns, userConn(slug, slug))
	}
	h := newHarness(t, tools.Options{ToolMode: tools.ToolModeCatalog}, conns...)
	ctx := t.Context()

	// Accept lists must name real actions, or a typo would count as a miss.
	keys := catalogKeys(t)

	var (
		top1, top3, ambiguous int
		misses                []string
	)
	apps := map[string]bool{}
	for i, tk := range tasks {
		if strings.TrimSpace(tk.Task) == "" || len(tk.Accept) == 0 {
			t.Fatalf("task %d: empty task or accept list", i)
		}
		taskApps := map[string]bool{}
		for _, k := range tk.Accept {
			app, ok := keys[k]
			if !ok {
				t.Fatalf("task %q: accepts %q, which the catalog does not serve", tk.Task, k)
			}
			taskApps[app] = true
			apps[app] = true
		}
		if len(taskApps) > 1 {
			ambiguous++
		}
		req := map[string]any{"query": tk.Task, "limit": evalLimit}
		if tk.App != "" {
			req["app"] = tk.App
		}
		args, _ := json.Marshal(req)
		sc, res := h.call(t, ctx, pdtest.DemoUser, tools.ToolSearchActions, string(args))
		if res.IsError {
			t.Fatalf("task %q: %s", tk.Task, text(res))
		}
		results, _ := sc["results"].([]any)
		var got []string
		for _, r := range results {
			got = append(got, r.(map[string]any)["action"].(string))
		}
		rank := slices.IndexFunc(got, func(a string) bool { return slices.Contains(tk.Accept, a) })
		switch {
		case rank == 0:
			top1++
			top3++
		case rank > 0:
			top3++
		}
		if rank != 0 {
			where := "miss"
			if rank > 0 {
				where = fmt.Sprintf("#%d", rank+1)
			}
			misses = append(misses, fmt.Sprintf("%-5s %-70q accept %s\n      got %s", where, tk.Task, strings.Join(tk.Accept, " "), strings.Join(got, " ")))
		}
	}
	var uncovered []string
	for _, app := range h.fake.AllApps() {
		if !apps[app] {
			uncovered = append(uncovered, app)
		}
	}
	if len(uncovered) > 0 {
		t.Errorf("no task for apps %v", uncovered)
	}

	actions := 0
	for _, st := range h.set.Tools() {
		if !strings.HasPrefix(st.Tool.Name, "pipedream_") {
			actions++
		}
	}
	n := float64(len(tasks))
	r1, r3 := float64(top1)/n, float64(top3)/n
	t.Logf("not first (%d; #2/#3 = accepted action lower in the top 3, miss = none in it):\n%s", len(misses), strings.Join(misses, "\n"))
	t.Logf("search eval: %d tasks (%d ambiguous) over %d apps, %d actions: top-1 %.3f (%d), top-3 %.3f (%d)",
		len(tasks), ambiguous, len(h.fake.AllApps()), actions, r1, top1, r3, top3)
	t.Logf("for the README: Search relevance on the sandbox catalog (%d apps, %d actions): %d agent-style tasks (%d ambiguous across apps), an accepted action first for %.0f%% and in the top 3 for %.0f%% (go test -run SearchEval -v ./tools/).",
		len(h.fake.AllApps()), actions, len(tasks), ambiguous, 100*r1, 100*r3)
	if r3 < evalMinTop3 || r1 < evalMinTop1 {
		t.Errorf("top-1 %.3f, top-3 %.3f: want at least %.2f and %.2f", r1, r3, evalMinTop1, evalMinTop3)
	}
}
