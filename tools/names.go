package tools

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// maxToolName is the longest tool name every major host accepts (OpenAI and
// Claude function names: ^[a-zA-Z0-9_-]{1,64}$).
const maxToolName = 64

var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ValidToolName reports whether name is accepted by every major MCP host.
func ValidToolName(name string) bool { return toolNameRE.MatchString(name) }

// baseToolName is the name DESIGN.md pins: "<connection>_<key without app
// prefix>", with every character outside [a-zA-Z0-9_] turned into "_".
func baseToolName(connection, app, key string) string {
	rest := strings.TrimPrefix(key, app+"-")
	return sanitizeName(connection + "_" + rest)
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// shortHash is 8 hex characters of the SHA-256 of s: stable across runs, so a
// shortened or de-duplicated name does not change between restarts.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

// assignToolNames gives each action key of one connection a unique, valid tool
// name. Keys are processed in the given order (the caller sorts them), so the
// result is deterministic. Names longer than 64 characters are cut and end in
// "_<hash of the key>"; a name already taken (two keys that differ only in "-"
// versus "_") gets the same hash suffix. taken holds names used by other
// connections and the helpers; it is updated.
func assignToolNames(connection, app string, keys []string, taken map[string]bool) map[string]string {
	names := make(map[string]string, len(keys))
	for _, key := range keys {
		name := baseToolName(connection, app, key)
		if len(name) > maxToolName || taken[name] {
			suffix := "_" + shortHash(connection+"/"+key)
			if len(name)+len(suffix) > maxToolName {
				name = name[:maxToolName-len(suffix)]
			}
			name += suffix
		}
		taken[name] = true
		names[key] = name
	}
	return names
}
