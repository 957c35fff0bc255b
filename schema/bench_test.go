package schema

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// catalog60 returns 60 actions' props: the first 60 hubspot actions of the fake's
// catalog, topped up with synthetic actions when the catalog has fewer.
func catalog60(b *testing.B) [][]pdclient.ConfigurableProp {
	var out [][]pdclient.ConfigurableProp
	if data, err := os.ReadFile("../pdclient/pdtest/catalog/hubspot.json"); err == nil {
		var ff struct {
			Actions []pdclient.Component `json:"actions"`
		}
		if err := json.Unmarshal(data, &ff); err == nil {
			for _, c := range ff.Actions {
				if len(out) == 60 {
					break
				}
				if c.PropsError == "" {
					out = append(out, c.ConfigurableProps)
				}
			}
		}
	}
	for i := len(out); i < 60; i++ {
		out = append(out, decodeProps(b, fmt.Sprintf(`[
			{"name":"hubspot","type":"app","app":"hubspot"},
			{"name":"objectId","type":"string","label":"Object %d","remoteOptions":true,"useQuery":true},
			{"name":"properties","type":"string[]","optional":true,"options":[{"label":"Name","value":"name"},{"label":"Email","value":"email"}]},
			{"name":"limit","type":"integer","min":1,"max":100,"default":20},
			{"name":"archived","type":"boolean","optional":true},
			{"name":"objectProperties","type":"object","optional":true,"description":"See [the docs](https://developers.hubspot.com/docs)"}
		]`, i)))
	}
	return out
}

func BenchmarkTranslateCatalog(b *testing.B) {
	actions := catalog60(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, props := range actions {
			if _, err := Translate(props, Options{App: "hubspot"}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkNewValidator(b *testing.B) {
	tr := mustTranslate(b, toolProps)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewValidator(tr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	tr, v := mustValidator(b, toolProps)
	raw := json.RawMessage(`{"text":"Deploy finished","channel":"C024BE91L","count":"5","tags":["release","prod"],"flag":true,"mode":"a","_account_id":"apn_abc123"}`)
	b.ReportAllocs()
	for b.Loop() {
		a, errs := v.Validate(raw)
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		_ = tr.ConfiguredProps(a)
	}
}
