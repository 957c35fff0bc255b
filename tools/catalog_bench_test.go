package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// sandboxComponents reads every action of the sandbox catalog (default and
// extra apps), as the API would list them.
func sandboxComponents(tb testing.TB) []pdclient.Component {
	tb.Helper()
	var out []pdclient.Component
	err := fs.WalkDir(pdtest.CatalogFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := fs.ReadFile(pdtest.CatalogFS(), path)
		if err != nil {
			return err
		}
		var f struct{ Actions []pdclient.Component }
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, f.Actions...)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// tenThousandApps spreads the real sandbox actions over synthetic apps until
// there are n actions: app appNNN holds copies of every real action, keyed
// and named as its own, so sizes and texts stay realistic.
func tenThousandApps(tb testing.TB, n int) map[string][]pdclient.Component {
	tb.Helper()
	real := sandboxComponents(tb)
	apps := map[string][]pdclient.Component{}
	for i := 0; i < n; i++ {
		slug := fmt.Sprintf("app%03d", i/len(real))
		c := real[i%len(real)]
		c.Key = slug + "-" + c.Key
		c.Name = c.Name + " " + strconv.Itoa(i/len(real))
		apps[slug] = append(apps[slug], c)
	}
	return apps
}

// appsConnect serves synthetic apps' actions from memory.
type appsConnect struct {
	stubConnect
	apps map[string][]pdclient.Component
}

func (a *appsConnect) ListActions(_ context.Context, app string, _ pdclient.Registry) ([]pdclient.Component, error) {
	return slices.Clone(a.apps[app]), nil
}

// catalogSet is a tool set in catalog mode over n actions, loaded.
func catalogSet(tb testing.TB, n int) *tools.Set {
	tb.Helper()
	cl := &appsConnect{apps: tenThousandApps(tb, n)}
	var conns []tools.Connection
	for slug := range cl.apps {
		conns = append(conns, tools.Connection{Name: slug, App: slug, Client: cl})
	}
	sort.Slice(conns, func(i, j int) bool { return conns[i].Name < conns[j].Name })
	set, err := tools.New(tools.Options{ToolMode: tools.ToolModeCatalog, Connections: conns})
	if err != nil {
		tb.Fatal(err)
	}
	if err := set.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return set
}

// rssBytes is this process's resident set (VmRSS), or 0 where /proc is missing.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkCatalog10k loads 10,000 actions in catalog mode (every tool built,
// translated and indexed) and reports the process's RSS and live heap after
// a collection, and the time of one load. Target: RSS under 150 MB.
func BenchmarkCatalog10k(b *testing.B) {
	var set *tools.Set
	for b.Loop() {
		set = catalogSet(b, 10_000)
	}
	runtime.GC()
	debug.FreeOSMemory() // what the next loads' garbage held goes back to the OS
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(rssBytes())/(1<<20), "rss-MiB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
	runtime.KeepAlive(set)
}

// BenchmarkSearchHandler10k is one pipedream_search_actions call through its
// handler over 10,000 actions (index search, result shaping, the cached
// accounts for connected), over varied agent queries.
func BenchmarkSearchHandler10k(b *testing.B) {
	set := catalogSet(b, 10_000)
	var handler func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error)
	for _, st := range set.Tools() {
		if st.Tool.Name == tools.ToolSearchActions {
			handler = st.Handler
		}
	}
	queries := []string{"send a message to a slack channel", "create an issue", "add a row to a spreadsheet",
		"find a contact by email", "refund a payment", "list my calendar events", "upload a file", "create a deal in the crm"}
	ctx := tools.WithUser(context.Background(), pdtest.DemoUser)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		req := mcp.CallToolRequest{}
		req.Params.Name = tools.ToolSearchActions
		req.Params.Arguments = map[string]any{"query": queries[i%len(queries)]}
		i++
		start := time.Now()
		res, err := handler(ctx, req)
		lat = append(lat, time.Since(start))
		if err != nil || res.IsError {
			b.Fatalf("search: %v %v", err, res)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}
