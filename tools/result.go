package tools

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// Statuses of a result (DESIGN.md "Calls" 5). isError is true exactly when the
// status is not StatusSuccess.
const (
	StatusSuccess         = "success"
	StatusError           = "error"
	StatusInvalidArgs     = "invalid_arguments"
	StatusAccountRequired = "account_required"
	StatusRateLimited     = "rate_limited"
	StatusUpstreamError   = "upstream_error"
	StatusTimeout         = "timeout"
	// StatusDeclined: the user declined a confirmation; nothing ran.
	StatusDeclined = "declined"
	// StatusConfirmationRequired: the action needs the user's confirmation and
	// the client cannot ask for it; nothing ran.
	StatusConfirmationRequired = "confirmation_required"
	// StatusInputRequired is the audit status of a call that asked the user
	// something (elicitation) and is called again with the answer.
	StatusInputRequired = "input_required"
)

// Result is the structuredContent of every action and workflow call.
type Result struct {
	Status            string                     `json:"status"`
	Summary           string                     `json:"summary,omitempty"`
	Action            string                     `json:"action,omitempty"`
	Version           string                     `json:"version,omitempty"`
	App               string                     `json:"app,omitempty"`
	AccountID         string                     `json:"account_id,omitempty"`
	Ret               json.RawMessage            `json:"ret,omitempty"`
	Exports           map[string]json.RawMessage `json:"exports,omitempty"`
	Errors            []string                   `json:"errors,omitempty"`
	Notes             []string                   `json:"notes,omitempty"`
	ConnectURL        string                     `json:"connect_url,omitempty"`
	RetryAfterSeconds int                        `json:"retry_after_seconds,omitempty"`
	Truncated         bool                       `json:"truncated,omitempty"`
	ExecutedAt        string                     `json:"executed_at,omitempty"`
	DurationMS        *int64                     `json:"duration_ms,omitempty"`
	Resource          *Resource                  `json:"resource,omitempty"`
	// HTTPStatus and Headers are the app's answer to a proxy request.
	HTTPStatus int               `json:"http_status,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	// StashID is the File Stash the run used; Files are the files it wrote.
	StashID string      `json:"stash_id,omitempty"`
	Files   []StashFile `json:"files,omitempty"`

	// Attachments are the files' contents, as MCP resource or image content
	// after the text (content only).
	Attachments []mcp.Content `json:"-"`

	// Next is the sentence that tells the agent what to do next (text only).
	Next string `json:"-"`
	// ask, when set, is sent instead of the result: the call asks the user
	// something first (ask.go).
	ask *mcp.CallToolResult
	// wait, when set, makes the call wait for the user to connect an
	// account, then run again (ask.go).
	wait *accountWait
	// Head, when set, replaces the status's default first line of the text
	// (text only): an error that is not an action's failure must not read
	// "The action ran and failed".
	Head string `json:"-"`
}

// Resource is the created or fetched entity's id and link, when ret carries
// them at its top level.
type Resource struct {
	ID  string `json:"id,omitempty"`
	URL string `json:"url,omitempty"`
}

var (
	resourceIDKeys = [...]string{"id", "ID", "Id", "uuid", "key"}
	// Links a person opens come before API URLs (GitHub's html_url before url).
	resourceURLKeys = [...]string{"html_url", "htmlUrl", "permalink", "webViewLink", "web_url", "webUrl", "url", "link"}
)

// findResource picks a top-level id and URL out of ret.
func findResource(ret json.RawMessage) *Resource {
	// One pass over ret's top level, keeping the candidates' values (the
	// last of a key given twice, as a map would); ret is valid JSON (cut
	// from a body the client validated, or re-encoded).
	var ids [len(resourceIDKeys)]json.RawMessage
	var urls [len(resourceURLKeys)]json.RawMessage
	if !pdclient.JSONFields(ret, func(k, v []byte) bool {
		for i, id := range resourceIDKeys {
			if string(k) == id {
				ids[i] = v
				return true
			}
		}
		for i, u := range resourceURLKeys {
			if string(k) == u {
				urls[i] = v
				return true
			}
		}
		return true
	}) {
		return nil
	}
	var r Resource
	for _, v := range ids {
		if v != nil {
			if s := scalarText(v); s != "" {
				r.ID = s
				break
			}
		}
	}
	for _, v := range urls {
		if v != nil {
			var s string
			if json.Unmarshal(v, &s) == nil && (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) {
				r.URL = s
				break
			}
		}
	}
	if r.ID == "" && r.URL == "" {
		return nil
	}
	return &r
}

func scalarText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if d.Decode(&n) == nil {
		return n.String()
	}
	return ""
}

// cutUTF8 returns at most n bytes of s, not splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// toolResult renders r as an MCP result: structuredContent is r (with ret capped
// at limit bytes), and the text leads with the summary, then what to do next,
// then ret as JSON cut at limit with a note.
func toolResult(r Result, limit int) *mcp.CallToolResult {
	// One buffer for the text, sized for the usual result (ret indented
	// grows by about half), so it is written once and copied once.
	var text bytes.Buffer
	text.Grow(256 + len(r.Summary) + len(r.Next) + 2*min(len(r.Ret), limit))
	head := r.Summary
	if head == "" {
		head = r.Head
	}
	if head == "" {
		head = defaultHeadline(r)
	}
	text.WriteString(head)
	if len(r.Errors) > 0 && r.Status != StatusSuccess {
		for _, e := range r.Errors {
			text.WriteString("\n- ")
			text.WriteString(e)
		}
	}
	if r.Next != "" {
		text.WriteString("\n\n")
		text.WriteString(r.Next)
	}
	for _, n := range r.Notes {
		text.WriteString("\nNote: ")
		text.WriteString(n)
	}
	if len(r.Files) > 0 {
		text.WriteString("\n\nFiles (download links valid 30 minutes):")
		for _, f := range r.Files {
			fmt.Fprintf(&text, "\n- %s: %s", cmp.Or(f.Path, f.S3Key), cmp.Or(f.URL, "(no link)"))
			if f.Content == "resource" || f.Content == "image" {
				fmt.Fprintf(&text, " (its content follows as %s content)", f.Content)
			}
		}
	}
	if len(r.Ret) > 0 && string(r.Ret) != "null" {
		text.WriteString("\n\nResult:\n")
		// ret indented when that fits in limit, else as it came, cut at
		// limit with a note.
		start := text.Len()
		indented := false
		if len(r.Ret) <= limit {
			indented = json.Indent(&text, r.Ret, "", "  ") == nil && text.Len()-start <= limit
			if !indented {
				text.Truncate(start)
			}
		}
		if !indented {
			if len(r.Ret) > limit {
				r.Truncated = true
				text.WriteString(cutUTF8(string(r.Ret), limit))
				fmt.Fprintf(&text, "\n…[truncated: showing %d of %d bytes; ask for less data, e.g. with a filter or a smaller limit]", limit, len(r.Ret))
			} else {
				text.Write(r.Ret)
			}
		}
		if len(r.Ret) > limit {
			cut, _ := json.Marshal(cutUTF8(string(r.Ret), limit))
			r.Ret = cut
		}
	}
	res := &mcp.CallToolResult{
		Content:           make([]mcp.Content, 1, 1+len(r.Attachments)),
		StructuredContent: r, // what the audit line and tests read
		IsError:           r.Status != StatusSuccess,
	}
	res.Content[0] = mcp.NewTextContent(text.String())
	res.Content = append(res.Content, r.Attachments...)
	size := 512 + len(r.Ret)
	for _, v := range r.Exports {
		size += len(v) + 16
	}
	if raw, err := r.appendJSON(make([]byte, 0, size)); err == nil {
		// mcp-go writes these bytes as structuredContent instead of
		// encoding r again.
		res.RawStructuredContent = raw
	}
	return res
}

func defaultHeadline(r Result) string {
	switch r.Status {
	case StatusSuccess:
		if r.Action != "" {
			return fmt.Sprintf("%s succeeded.", r.Action)
		}
		return "Succeeded."
	case StatusError:
		if r.ExecutedAt == "" {
			// No run reached Pipedream: never claim one did.
			return "Failed; nothing was run:"
		}
		return "The action ran and failed:"
	case StatusInvalidArgs:
		return "Invalid arguments; nothing was run:"
	case StatusAccountRequired:
		return "No connected account."
	case StatusRateLimited:
		return "Rate limited by Pipedream; nothing was run."
	case StatusTimeout:
		return "The call timed out."
	default:
		return "The Pipedream API failed:"
	}
}
