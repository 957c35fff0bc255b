package tools_test

// The size of the tool list a model pays for on every turn (DESIGN.md "Tool
// definitions stay lean"), measured in bytes and in o200k_base tokens (the
// encoding of GPT-4o and later OpenAI models; the vocabulary is compiled into
// the tokenizer package, so nothing is downloaded). Run with -v for the report.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/tiktoken-go/tokenizer/codec"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// The default sandbox's direct-mode tools/list (9 apps: 8 realistic ones and
// pd_edge, plus the 3 helpers: 181 tools) as it was before the cuts of
// DESIGN.md "Tool definitions stay lean", measured exactly as measureList
// does (same tools, same encoding, same tokenizer).
const (
	baselineTools       = 181
	baselineBytes       = 231853
	baselineTokens      = 53561
	baselineSlackMedian = 1463
)

// The limits: at most 55% of the baseline bytes, a Slack tool's definition at
// most 750 bytes (the median), and catalog mode's whole list at most 12 KB
// (DESIGN.md "Catalog mode").
const (
	maxSharePercent = 55
	maxSlackMedian  = 750
	maxCatalogBytes = 12 << 10
)

// listSize is the size of a tools/list result ({"tools": [...]}, as mcp-go
// encodes it) and the definitions' sizes one by one.
type listSize struct {
	tools, bytes, tokens int
	perTool              map[string]int    // tool name -> bytes of its definition
	defs                 map[string]string // tool name -> its definition
}

func measureList(t *testing.T, list []mcp.Tool) listSize {
	t.Helper()
	b, err := json.Marshal(mcp.ListToolsResult{Tools: list})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := codec.NewO200kBase().Count(string(b))
	if err != nil {
		t.Fatal(err)
	}
	s := listSize{tools: len(list), bytes: len(b), tokens: tokens, perTool: map[string]int{}, defs: map[string]string{}}
	for _, tl := range list {
		tb, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}
		s.perTool[tl.Name] = len(tb)
		s.defs[tl.Name] = string(tb)
	}
	return s
}

// median of the sizes of the tools whose name starts with prefix.
func (s listSize) median(prefix string) int {
	var sizes []int
	for name, n := range s.perTool {
		if strings.HasPrefix(name, prefix) {
			sizes = append(sizes, n)
		}
	}
	if len(sizes) == 0 {
		return 0
	}
	slices.Sort(sizes)
	if len(sizes)%2 == 1 {
		return sizes[len(sizes)/2]
	}
	return (sizes[len(sizes)/2-1] + sizes[len(sizes)/2]) / 2
}

// defaultSandboxList is what a client of `pipedream-mcp --sandbox` gets from
// tools/list in ctx (tool mode, schema profile).
func defaultSandboxList(t *testing.T, opts tools.Options, ctx context.Context) []mcp.Tool {
	t.Helper()
	var conns []tools.Connection
	for _, app := range pdtest.NewSandbox().Apps() {
		c := userConn(app, app)
		// The baseline predates the workspace's private actions: the public
		// registry keeps the comparison like for like.
		c.Registry = pdclient.RegistryPublic
		conns = append(conns, c)
	}
	h := newHarness(t, opts, conns...)
	var all []mcp.Tool
	for _, st := range h.set.Tools() {
		all = append(all, st.Tool)
	}
	return h.set.Filter(ctx, all)
}

// TestToolListSize measures the default sandbox's tools/list against the
// baseline and the limits, in every schema profile and in catalog mode, and
// reports bytes and o200k tokens (go test -run TestToolListSize -v).
func TestToolListSize(t *testing.T) {
	direct := measureList(t, defaultSandboxList(t, tools.Options{}, t.Context()))
	if direct.tools != baselineTools {
		t.Fatalf("direct mode serves %d tools, the baseline %d: the comparison would not be like for like", direct.tools, baselineTools)
	}
	pct := func(n, of int) float64 { return 100 * float64(n) / float64(of) }
	t.Logf("before: %d tools, %d bytes, %d o200k tokens, Slack median %d bytes", baselineTools, baselineBytes, baselineTokens, baselineSlackMedian)
	t.Logf("direct mode, portable: %d bytes (%.1f%%), %d o200k tokens (%.1f%%), Slack median %d bytes",
		direct.bytes, pct(direct.bytes, baselineBytes), direct.tokens, pct(direct.tokens, baselineTokens), direct.median("slack_"))
	if limit := baselineBytes * maxSharePercent / 100; direct.bytes > limit {
		t.Errorf("tools/list is %d bytes, over %d (%.0f%% of the baseline's %d)", direct.bytes, limit, float64(maxSharePercent), baselineBytes)
	}
	if m := direct.median("slack_"); m > maxSlackMedian {
		t.Errorf("the Slack tools' median definition is %d bytes, over %d", m, maxSlackMedian)
	}
	logPerApp(t, direct)
	var realistic []mcp.Tool // the 8 realistic apps and the helpers: pd_edge's edge cases left out
	for _, tl := range defaultSandboxList(t, tools.Options{}, t.Context()) {
		if !strings.HasPrefix(tl.Name, "pd_edge_") {
			realistic = append(realistic, tl)
		}
	}
	r := measureList(t, realistic)
	t.Logf("direct mode, 8 realistic apps and the helpers: %d tools, %d bytes, %d o200k tokens", r.tools, r.bytes, r.tokens)
	for _, p := range schema.Profiles[1:] {
		s := measureList(t, defaultSandboxList(t, tools.Options{SchemaProfile: p}, t.Context()))
		t.Logf("direct mode, %s: %d bytes, %d o200k tokens, Slack median %d bytes", p, s.bytes, s.tokens, s.median("slack_"))
	}
	for _, p := range schema.Profiles {
		ctx := tools.WithSchemaProfile(tools.WithToolMode(t.Context(), tools.ToolModeCatalog), p)
		s := measureList(t, defaultSandboxList(t, tools.Options{}, ctx))
		t.Logf("catalog mode, %s: %d tools, %d bytes, %d o200k tokens", p, s.tools, s.bytes, s.tokens)
		if s.bytes > maxCatalogBytes {
			t.Errorf("catalog mode's tools/list (%s) is %d bytes, over %d", p, s.bytes, maxCatalogBytes)
		}
	}
}

// logPerApp reports each app's share of the list: tools, bytes, o200k tokens
// (of the definitions alone), the median and the largest definition.
func logPerApp(t *testing.T, s listSize) {
	t.Helper()
	enc := codec.NewO200kBase()
	apps := pdtest.NewSandbox().Apps()
	var lines []string
	for _, app := range append(apps, "pipedream") {
		var sizes []int
		bytes, tokens := 0, 0
		for name, n := range s.perTool {
			if !strings.HasPrefix(name, app+"_") {
				continue
			}
			sizes = append(sizes, n)
			bytes += n
			c, _ := enc.Count(s.defs[name])
			tokens += c
		}
		slices.Sort(sizes)
		if len(sizes) == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("| %s | %d | %d | %d | %d B | %d B |", app, len(sizes), bytes, tokens, s.median(app+"_"), sizes[len(sizes)-1]))
	}
	t.Logf("per app:\n%s", strings.Join(lines, "\n"))
}
