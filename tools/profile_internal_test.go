package tools

import (
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
)

func TestActionDescriptionIsLean(t *testing.T) {
	tr, err := schema.Translate([]pdclient.ConfigurableProp{
		{Name: "app", Type: "app", App: "x"},
		{Name: "channel", Type: "string", RemoteOptions: true},
		{Name: "note", Type: "alert", Content: "Mind the <b>quota</b>."},
	}, schema.Options{App: "x"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"Sends a message. [See the documentation](https://api.slack.com/methods/chat.postMessage)": "Sends a message.",
		"Sends it. [See the docs here](https://x.dev/a). Then more.":                               "Sends it. Then more.",
		"Keeps [other links](https://x.dev) as they are.":                                          "Keeps [other links](https://x.dev) as they are.",
		"": "Send",
	}
	for in, want := range cases {
		got := actionDescription(pdclient.Component{Name: "Send", Description: in}, tr)
		if got != want+"\n\nNote: Mind the quota." {
			t.Errorf("%q -> %q, want %q and the alert only", in, got, want)
		}
	}
	dyn, _ := schema.Translate([]pdclient.ConfigurableProp{{Name: "hidden", Type: "string", Hidden: true, ReloadProps: true}}, schema.Options{})
	if got := actionDescription(pdclient.Component{Description: "D."}, dyn); got != "D.\n\nSome fields appear only once others are set: call pipedream_describe to see them." {
		t.Errorf("hidden dependent fields: %q", got)
	}
}

func TestAnnotationsLeaveOutDefaults(t *testing.T) {
	yes, no := true, false
	a := annotations(pdclient.Component{Name: "Delete", Annotations: &pdclient.Annotations{
		ReadOnlyHint: &no, DestructiveHint: &yes, IdempotentHint: &no, OpenWorldHint: &yes}})
	if a.Title != "Delete" || a.ReadOnlyHint != nil || a.IdempotentHint != nil || a.OpenWorldHint != nil || a.DestructiveHint == nil || !*a.DestructiveHint {
		t.Errorf("annotations = %+v: want the title and destructiveHint only", a)
	}
	a = annotations(pdclient.Component{Name: "Read", Annotations: &pdclient.Annotations{
		ReadOnlyHint: &yes, DestructiveHint: &no, IdempotentHint: &yes, OpenWorldHint: &no}})
	if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
		t.Errorf("hints that differ from MCP's defaults must stay: %+v", a)
	}
}
