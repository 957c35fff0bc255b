package app

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
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
