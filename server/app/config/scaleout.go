package config

// This file owns the scale-out settings: the Redis that replicas share
// (--redis-url, PD_MCP_REDIS_URL, redis_url:) and the fleet's request budget
// per project (--budget-reads, --budget-runs, --budget-window).

import (
	"flag"
	"strconv"
	"strings"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/redisstore"
)

// EnvRedisURL is the Redis the replicas of a fleet share.
const EnvRedisURL = "PD_MCP_REDIS_URL"

// ScaleOut are the settings of a fleet of replicas.
type ScaleOut struct {
	// RedisURL is the shared Redis (never logged: it may hold a password);
	// "" serves from this process's memory alone.
	RedisURL string
	// BudgetReads and BudgetRuns are the fleet's component reads and tool
	// executions per BudgetWindow and project (with Redis).
	BudgetReads, BudgetRuns int
	BudgetWindow            time.Duration
}

type scaleOutFlags struct {
	redisURL, budgetReads, budgetRuns, budgetWindow string
}

type fileScaleOut struct {
	RedisURL     string `yaml:"redis_url"`
	BudgetReads  string `yaml:"budget_reads"`
	BudgetRuns   string `yaml:"budget_runs"`
	BudgetWindow string `yaml:"budget_window"`
}

func (sf *scaleOutFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&sf.redisURL, "redis-url", "", "Redis shared by the replicas of a fleet: catalogs, accounts, webhook invalidations and the request budget, redis://[user:password@]host:port[/db] (env "+EnvRedisURL+"; default none: this process alone)")
	fs.StringVar(&sf.budgetReads, "budget-reads", strconv.Itoa(pdclient.DefaultBudgetComponentReads), "with --redis-url: component reads (catalog) the fleet sends per --budget-window and project")
	fs.StringVar(&sf.budgetRuns, "budget-runs", strconv.Itoa(pdclient.DefaultBudgetRuns), "with --redis-url: tool executions (run, configure, reload) the fleet sends per --budget-window and project")
	fs.StringVar(&sf.budgetWindow, "budget-window", pdclient.DefaultBudgetWindow.String(), "with --redis-url: the sliding window of the budgets")
}

// resolveScaleOut fills cfg.ScaleOut. A malformed Redis URL is named by where
// it came from, never repeated (it may hold a password).
func (r *resolver) resolveScaleOut(cfg *Config) {
	sf, f := r.cf.scaleOut, r.file.fileScaleOut
	u := first(r.flagVal("redis-url", sf.redisURL), r.envVal(EnvRedisURL), fileVal("redis_url", f.RedisURL))
	if u.val != "" {
		if err := redisstore.CheckURL(u.val); err != nil {
			r.probs.add("invalid Redis URL (from %s): %v; use redis://[user:password@]host:port[/db]", u.src, err)
		}
	}
	cfg.ScaleOut.RedisURL = u.val
	cfg.ScaleOut.BudgetReads = r.count(r.setting("budget-reads", sf.budgetReads, "budget_reads", f.BudgetReads))
	cfg.ScaleOut.BudgetRuns = r.count(r.setting("budget-runs", sf.budgetRuns, "budget_runs", f.BudgetRuns))
	cfg.ScaleOut.BudgetWindow = r.duration(r.setting("budget-window", sf.budgetWindow, "budget_window", f.BudgetWindow))
}

// count parses a whole number above 0.
func (r *resolver) count(s sourced) int {
	n, err := strconv.Atoi(strings.TrimSpace(s.val))
	if err != nil || n <= 0 {
		r.probs.add("invalid count %q (from %s): use a whole number above 0", s.val, s.src)
		return 0
	}
	return n
}
