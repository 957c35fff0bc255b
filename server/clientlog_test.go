package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

func TestMCPLevel(t *testing.T) {
	t.Parallel()
	for l, want := range map[slog.Level]mcp.LoggingLevel{
		slog.LevelDebug:      mcp.LoggingLevelDebug,
		slog.LevelInfo:       mcp.LoggingLevelInfo,
		slog.LevelInfo + 2:   mcp.LoggingLevelInfo,
		slog.LevelWarn:       mcp.LoggingLevelWarning,
		slog.LevelError:      mcp.LoggingLevelError,
		slog.LevelError + 4:  mcp.LoggingLevelCritical,
		slog.LevelError + 8:  mcp.LoggingLevelAlert,
		slog.LevelError + 12: mcp.LoggingLevelEmergency,
	} {
		if got := mcpLevel(l); got != want {
			t.Errorf("mcpLevel(%v) = %s, want %s", l, got, want)
		}
	}
}

// TestClientLogPassesThrough: outside a client request ClientLog is the
// handler it wraps, attributes and groups included.
func TestClientLogPassesThrough(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(NewClientLog(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	New(&fakeTools{}, Options{Logger: log}) // binds it
	if log.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("debug is enabled outside a client request")
	}
	log.With("component", "x").WithGroup("g").Info("hello", "k", "v")
	if got := buf.String(); !strings.Contains(got, "msg=hello component=x g.k=v") {
		t.Errorf("logged %q", got)
	}
}

func TestAddAttrFlattensGroups(t *testing.T) {
	t.Parallel()
	data := map[string]any{}
	addAttr(data, "p.", slog.Group("g", slog.Int("n", 1), slog.Group("h", slog.String("s", "x"))))
	addAttr(data, "", slog.Any("err", context.Canceled))
	if data["p.g.n"] != int64(1) || data["p.g.h.s"] != "x" || data["err"] != "context canceled" {
		t.Errorf("flattened %v", data)
	}
}
