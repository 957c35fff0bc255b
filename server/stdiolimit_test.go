package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// TestLineLimiter: lines up to the limit pass whole and in order; longer ones
// are dropped and answered with a JSON-RPC error carrying their id when it
// comes before the bulk of the message.
func TestLineLimiter(t *testing.T) {
	t.Parallel()
	const limit = 1000
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name      string
		in        string
		wantLines []string
		wantIDs   []string // ids of the error answers, as JSON
	}{
		{name: "small lines pass", in: "{\"a\":1}\n{\"b\":2}\n", wantLines: []string{"{\"a\":1}\n", "{\"b\":2}\n"}},
		{name: "last line without a newline", in: "{\"a\":1}\n{\"b\":2}", wantLines: []string{"{\"a\":1}\n", "{\"b\":2}"}},
		{name: "exactly the limit passes", in: strings.Repeat("y", limit) + "\n", wantLines: []string{strings.Repeat("y", limit) + "\n"}},
		{name: "one byte over", in: strings.Repeat("y", limit+1) + "\n{}\n", wantLines: []string{"{}\n"}, wantIDs: []string{"null"}},
		{name: "numeric id", in: `{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"arguments":{"m":"` + big + `"}}}` + "\n{}\n",
			wantLines: []string{"{}\n"}, wantIDs: []string{"17"}},
		{name: "string id after 64 KiB is not found", in: `{"jsonrpc":"2.0","method":"tools/call","params":{"m":"` + strings.Repeat("x", 100<<10) + `"},"id":"late"}` + "\n",
			wantIDs: []string{"null"}},
		{name: "string id after a small object", in: `{"jsonrpc":"2.0","meta":{"a":[1,{"b":2}]},"id":"s-1","params":"` + big + `"}` + "\n",
			wantIDs: []string{`"s-1"`}},
		{name: "two oversized in a row then EOF", in: `{"id":1,"x":"` + big + "\"}\n" + `{"id":2,"x":"` + big + `"}`,
			wantIDs: []string{"1", "2"}},
		{name: "not JSON", in: big + "\nok\n", wantLines: []string{"ok\n"}, wantIDs: []string{"null"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			l := newLineLimiter(iotest.HalfReader(strings.NewReader(tt.in)), limit, NewLockedWriter(&out), slog.New(slog.DiscardHandler))
			r := bufio.NewReader(l)
			var lines []string
			for {
				s, err := r.ReadString('\n')
				if s != "" {
					lines = append(lines, s)
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if strings.Join(lines, "|") != strings.Join(tt.wantLines, "|") {
				t.Errorf("lines = %.200q, want %.200q", lines, tt.wantLines)
			}
			var ids []string
			for line := range strings.Lines(out.String()) {
				var msg struct {
					JSONRPC string          `json:"jsonrpc"`
					ID      json.RawMessage `json:"id"`
					Error   struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
					} `json:"error"`
				}
				if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.JSONRPC != "2.0" {
					t.Fatalf("answer %q is not JSON-RPC: %v", line, err)
				}
				if msg.Error.Code != -32600 || !strings.Contains(msg.Error.Message, "larger than 1000 bytes") {
					t.Errorf("answer error = %+v", msg.Error)
				}
				ids = append(ids, string(msg.ID))
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("answered ids %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

// TestLineLimiterMemory: a 64 MiB line is skipped without being held. Not
// parallel, so the allocation count is this test's.
func TestLineLimiterMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	src := io.MultiReader(strings.NewReader(`{"id":5,"params":"`), io.LimitReader(zeros{}, 64<<20), strings.NewReader("\"}\n{}\n"))
	var out bytes.Buffer
	l := newLineLimiter(src, DefaultMaxMessageBytes, &out, slog.New(slog.DiscardHandler))
	b, err := io.ReadAll(l)
	if err != nil || string(b) != "{}\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	if !strings.Contains(out.String(), `"id":5`) {
		t.Errorf("answer %q lacks the id", out.String())
	}
	runtime.ReadMemStats(&after)
	// Up to the limit is buffered (with append growth); never the whole line.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("skipping a 64 MiB line allocated %d MiB", alloc>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}
