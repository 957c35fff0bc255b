package search

import (
	"sort"
	"strings"
)

// Synonym weights: a query word also matches its synonyms, for less than the
// word itself (1.0), so an action that uses the agent's own word still wins.
const (
	weightClose = 0.85 // spellings and abbreviations of one thing: repo/repository
	weightMid   = 0.7  // near synonyms: find/search, get/retrieve
	weightLoose = 0.5  // related words: find/get/list, ticket/issue/task
)

// synGroup is a set of words that stand for each other at query time. Verb
// groups also decide the verb bonus: an action whose verb (the first word of
// its key) is in the same group as a query verb counts as a verb match.
type synGroup struct {
	verb   bool
	weight float64
	words  string
}

// synonymTable holds the verbs and nouns agents use for actions. Words are
// written plainly and stemmed when the package loads; a word may sit in more
// than one group. Keep it small: every entry widens every query that has it.
var synonymTable = []synGroup{
	// Verbs.
	{true, weightLoose, "send post notify publish dm tell inform announce broadcast"},
	{true, weightLoose, "find search get list lookup look retrieve fetch query show read view browse"},
	{true, weightMid, "find search lookup look query"},
	{true, weightMid, "get retrieve fetch read"},
	{true, weightLoose, "create add new make insert generate open upsert append"},
	{true, weightMid, "create add new make"},
	{true, weightLoose, "update edit modify change set rename patch upsert close fix amend reschedule postpone"},
	{true, weightLoose, "delete remove archive trash erase destroy clear cancel"},
	{true, weightLoose, "invite add join"},
	{true, weightLoose, "upload attach"},
	{true, weightLoose, "download export"},
	{true, weightLoose, "move transition transfer"},
	{true, weightLoose, "close resolve complete finish transition"},
	{true, weightLoose, "schedule book create"},
	{true, weightLoose, "share forward"},
	{true, weightLoose, "run trigger execute start invoke dispatch"},
	{true, weightLoose, "copy duplicate clone"},
	{true, weightLoose, "assign reassign"},
	{true, weightLoose, "reply respond answer comment"},
	// Nouns.
	{false, weightLoose, "ticket issue bug task card todo"},
	{false, weightMid, "bug issue defect"},
	{false, weightLoose, "row record entry item line"},
	{false, weightLoose, "email mail message inbox mailbox"},
	{false, weightLoose, "message announcement notification"},
	{false, weightClose, "message msg"},
	{false, weightLoose, "contact person people lead customer client"},
	{false, weightLoose, "user member person people teammate employee"},
	{false, weightLoose, "deal opportunity"},
	{false, weightLoose, "company organization org account business"},
	{false, weightClose, "organization org"},
	{false, weightLoose, "channel conversation room chat"},
	{false, weightLoose, "file document attachment"},
	{false, weightLoose, "page document doc article"},
	{false, weightClose, "document doc"},
	{false, weightLoose, "spreadsheet sheet worksheet workbook"},
	{false, weightLoose, "event meeting appointment calendar"},
	{false, weightLoose, "meeting call conference webinar"},
	{false, weightLoose, "attendee attend participant registrant invitee guest"},
	{false, weightClose, "repo repository"},
	{false, weightLoose, "repo repository project"},
	{false, weightLoose, "comment reply note"},
	{false, weightLoose, "folder directory dir"},
	{false, weightLoose, "database db table base"},
	{false, weightLoose, "label tag category"},
	{false, weightLoose, "status state stage"},
	{false, weightLoose, "image photo picture img"},
	{false, weightClose, "pr pull"},
	{false, weightClose, "link url"},
	{false, weightLoose, "reminder remind"},
	{false, weightLoose, "workflow automation flow"},
	{false, weightLoose, "invoice bill"},
	{false, weightLoose, "reaction react emoji thumb"},
	{false, weightLoose, "description summary"},
	{false, weightLoose, "form survey questionnaire poll"},
	{false, weightLoose, "response answer submission"},
	{false, weightMid, "subscriber subscribe signup"},
	{false, weightLoose, "text paragraph sentence content"},
}

// oneWay holds synonyms that apply in one direction only: "message bob"
// means send, but a query about a message must not match every "send" action.
var oneWay = []struct {
	from   string
	verb   bool
	weight float64
	to     string
}{
	{"message", true, weightLoose, "send post"},
	{"dm", false, weightClose, "direct"},
	{"dm", false, weightLoose, "message"},
	{"text", true, weightLoose, "send"},
	{"email", true, weightLoose, "send"},
	{"notification", true, weightLoose, "notify send"},
	{"gsheet", false, weightClose, "sheet spreadsheet"},
	{"text", false, weightMid, "sms"},
	{"reminder", false, weightLoose, "task todo"},
	{"remind", false, weightLoose, "task todo"},
	{"done", false, weightLoose, "complete close resolve finish"},
}

// questionWords start a question ("what meetings do I have today"): a query
// that starts with one and names no verb asks to read, so actions whose verb
// is one of readVerbs earn a synonym's verb bonus.
var (
	questionWords = toSet(`what whats which who when where how any is are do does did`)
	// whWords start a question about things ("which deals closed", "who
	// attended"), where a verb in the past describes them rather than asks
	// for an action; "how do I send ..." still asks to send.
	whWords   = toSet(`what whats which who whom whose when where`)
	readVerbs = stems("list get find search retrieve fetch query show read view lookup")
)

func stems(words string) []string {
	var out []string
	for _, w := range strings.Fields(words) {
		out = append(out, stem(w))
	}
	return out
}

// synonym is one query-time expansion of a stem.
type synonym struct {
	stem   string
	weight float64
	verb   bool // the expansion comes from a verb group
}

// synonyms maps a stem to its expansions, sorted by stem, strongest weight
// kept when a pair appears in more than one group.
var synonyms = buildSynonyms()

// verbStems holds every stem that appears in a verb group: such a word plays
// the query's verb wherever it stands.
var verbStems = func() map[string]bool {
	m := make(map[string]bool)
	for _, g := range synonymTable {
		if g.verb {
			for _, w := range strings.Fields(g.words) {
				m[stem(w)] = true
			}
		}
	}
	return m
}()

// leadVerbs are words that are verbs only when they start a request, as an
// imperative ("file a bug", "log a call", "text the customer"), and nouns
// anywhere else ("upload a file", "the call log"). At the start, a word
// plays the query's verb with these verbs as its synonyms; a word whose noun
// sense would mislead there ("file", "log") loses it (keepNoun false). The
// one-way verb synonyms of oneWay ("message bob") are lead verbs too.
var leadVerbs = []struct {
	from     string
	keepNoun bool
	to       string
}{
	{"file", false, "create add submit"},
	{"log", false, "create add"},
	{"record", false, "create add"},
	{"raise", false, "create"},
	{"jot", false, "create add"},
	{"draft", true, "create"},
	{"tag", true, "add"},
	{"label", true, "add"},
	{"bill", true, "create send"},
	{"ask", true, "send"},
	{"call", true, ""},
	{"ping", true, "send notify"},
	{"pull", true, "get list fetch"},
	{"remind", true, "create"},
}

// leadVerbSyns maps a lead verb as written (an imperative is the base form:
// "record a payment", not "records") to its verb synonyms and whether it
// keeps its noun sense, the one-way verb synonyms included.
var leadVerbSyns = func() map[string]leadVerb {
	m := make(map[string]leadVerb)
	for _, o := range oneWay {
		if o.verb {
			lv := m[o.from]
			lv.keepNoun = true
			for _, to := range strings.Fields(o.to) {
				lv.to = append(lv.to, stem(to))
			}
			m[o.from] = lv
		}
	}
	for _, l := range leadVerbs {
		lv := leadVerb{keepNoun: l.keepNoun}
		for _, to := range strings.Fields(l.to) {
			lv.to = append(lv.to, stem(to))
		}
		m[l.from] = lv
	}
	return m
}()

// leadVerb is what a lead verb means at the start of a query.
type leadVerb struct {
	to       []string // verb synonyms (stems)
	keepNoun bool     // the word still matches as itself and its noun synonyms
}

func buildSynonyms() map[string][]synonym {
	type key struct{ from, to string }
	best := make(map[key]synonym)
	add := func(from, to string, weight float64, verb bool) {
		if from == to {
			return
		}
		k := key{from, to}
		old, ok := best[k]
		if !ok || weight > old.weight {
			best[k] = synonym{stem: to, weight: weight, verb: verb || old.verb}
		} else if verb {
			old.verb = true
			best[k] = old
		}
	}
	for _, g := range synonymTable {
		words := strings.Fields(g.words)
		for _, a := range words {
			for _, b := range words {
				add(stem(a), stem(b), g.weight, g.verb)
			}
		}
	}
	for _, o := range oneWay {
		for _, to := range strings.Fields(o.to) {
			add(stem(o.from), stem(to), o.weight, o.verb)
		}
	}
	out := make(map[string][]synonym)
	for k, s := range best {
		out[k.from] = append(out[k.from], s)
	}
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool { return list[i].stem < list[j].stem })
	}
	return out
}
