package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lmittmann/tint"
)

// TestPlainTextMatchesTint: plainText writes what tint writes, byte for byte,
// for records on its fast path and off it.
func TestPlainTextMatchesTint(t *testing.T) {
	at := time.Date(2026, 12, 3, 11, 22, 15, 123456789, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	randString := func(alphabet string) string {
		n := rng.IntN(12)
		var sb strings.Builder
		for range n {
			sb.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	var ascii strings.Builder
	for c := range 128 {
		ascii.WriteByte(byte(c))
	}
	alphabets := []string{"abcXYZ019_-.:/", ascii.String(), "a \"=\\\t\n\x1b[31mé\xff日"}
	levels := []slog.Level{slog.LevelDebug - 2, slog.LevelDebug, slog.LevelInfo, slog.LevelInfo + 1, slog.LevelWarn, slog.LevelError, slog.LevelError + 4, slog.LevelInfo - 1}
	var records []slog.Record
	audit := slog.NewRecord(at, slog.LevelInfo, "tool call", 0)
	audit.AddAttrs(slog.String("tool", "slack_send_message_to_channel"), slog.String("connection", "slack"), slog.String("action", "slack-send-message-to-channel"),
		slog.String("external_user_id", "demo-user"), slog.String("account_id", "apn_demo_slack_new"), slog.String("status", "success"),
		slog.Int64("duration_ms", 3), slog.Int64("upstream_requests", 1))
	records = append(records, audit)
	for i := range 3000 {
		tm := at
		if i%50 == 0 {
			tm = time.Time{}
		}
		alpha := alphabets[i%len(alphabets)]
		r := slog.NewRecord(tm, levels[i%len(levels)], randString(alpha), 0)
		for range rng.IntN(9) {
			key := randString(alpha)
			switch rng.IntN(7) {
			case 0:
				r.AddAttrs(slog.Int(key, rng.IntN(1000)-500))
			case 1:
				r.AddAttrs(slog.Bool(key, rng.IntN(2) == 0))
			case 2:
				r.AddAttrs(slog.Duration(key, time.Duration(rng.IntN(1e9))))
			case 3:
				r.AddAttrs(slog.Group(key, slog.String("in", randString(alpha))))
			case 4:
				r.AddAttrs(slog.Any(key, []string{"x"}))
			default:
				r.AddAttrs(slog.String(key, randString(alpha)))
			}
		}
		records = append(records, r)
	}
	for i, r := range records {
		var want, got bytes.Buffer
		th := tint.NewTextHandler(&want, &tint.Options{Level: slog.LevelDebug - 8, NoColor: true, TimeFormat: time.TimeOnly})
		ph := newPlainText(&got, slog.LevelDebug-8)
		if err := th.Handle(context.Background(), r.Clone()); err != nil {
			t.Fatal(err)
		}
		if err := ph.Handle(context.Background(), r.Clone()); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("record %d:\n got %q\nwant %q", i, got.String(), want.String())
		}
	}
	// Derived handlers are tint's.
	var want, got bytes.Buffer
	slog.New(tint.NewTextHandler(&want, &tint.Options{NoColor: true, TimeFormat: time.TimeOnly})).With("k", "v").WithGroup("g").Info("m", "a", 1)
	slog.New(newPlainText(&got, slog.LevelInfo)).With("k", "v").WithGroup("g").Info("m", "a", 1)
	if got.String()[8:] != want.String()[8:] {
		t.Errorf("derived handler: got %q, want %q", got.String(), want.String())
	}
}

func TestPlainTextAllocations(t *testing.T) {
	h := newPlainText(&bytes.Buffer{}, slog.LevelInfo)
	log := slog.New(h)
	ctx := context.Background()
	n := testing.AllocsPerRun(200, func() {
		log.LogAttrs(ctx, slog.LevelInfo, "tool call", slog.String("tool", "slack_send_message_to_channel"), slog.String("connection", "slack"),
			slog.String("status", "success"), slog.Int64("duration_ms", 3), slog.Int64("upstream_requests", 1))
	})
	if n > 0 {
		t.Errorf("an audit line allocates %v times, want 0", n)
	}
}

// TestLogWriterBatches: lines wait at most about logFlushDelay, come out in
// order in one write per batch, and Close writes what is left.
func TestLogWriterBatches(t *testing.T) {
	out := &syncBuffer{}
	counting := &countingWriter{w: out}
	lw := newLogWriter(counting)
	var want strings.Builder
	for i := range 100 {
		line := fmt.Sprintf("line %d\n", i)
		want.WriteString(line)
		if _, err := lw.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if !eventually(2*time.Second, func() bool { return out.String() == want.String() }) {
		t.Fatalf("after the flush delay the log holds %q", out.String())
	}
	if n := counting.writes.Load(); n > 2 {
		t.Errorf("100 lines logged at once took %d writes, want one batch", n)
	}
	_, _ = lw.Write([]byte("last\n"))
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "line 99\nlast\n") {
		t.Errorf("Close did not write the buffered line: %q", tail(out.String(), 2))
	}
	_, _ = lw.Write([]byte("after close\n"))
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Error("a line logged after Close was not written at once")
	}
	big := strings.Repeat("x", logBufferMax) + "\n"
	_, _ = lw.Write([]byte(big))
	if !strings.HasSuffix(out.String(), big) {
		t.Error("a line longer than the buffer was not written whole")
	}
}

type countingWriter struct {
	w      io.Writer
	writes atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.w.Write(p)
}

// TestPlainTextFlushesWarnings: a warning is written at once, with the
// lines batched before it.
func TestPlainTextFlushesWarnings(t *testing.T) {
	out := &syncBuffer{}
	lw := newLogWriter(out)
	defer lw.Close()
	log := slog.New(newPlainText(lw, slog.LevelInfo))
	log.Info("tool call", "status", "success")
	log.Warn("upstream refused")
	got := out.String()
	if !strings.Contains(got, "INF tool call status=success\n") || !strings.HasSuffix(got, "WRN upstream refused\n") {
		t.Errorf("after a warning the log holds %q, want the info line then the warning", got)
	}
}
