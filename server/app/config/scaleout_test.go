package config

import (
	"strings"
	"testing"
)

// TestConfigRedisURL: a malformed Redis URL, from any source, is a problem
// that names where it came from and never repeats the URL's password; a
// good one is kept as written.
func TestConfigRedisURL(t *testing.T) {
	t.Parallel()
	const password = "PLANTED-redis-pw-7"
	for _, tc := range []struct {
		name, yaml, from string
		args             []string
		env              map[string]string
	}{
		{name: "flag, not redis://", args: []string{"--redis-url", "http://u:" + password + "@cache:6379"}, from: "--redis-url"},
		{name: "env, bad port", env: map[string]string{EnvRedisURL: "redis://u:" + password + "@cache:port"}, from: EnvRedisURL},
		{name: "env, bad database", env: map[string]string{EnvRedisURL: "redis://u:" + password + "@cache:6379/notadb"}, from: EnvRedisURL},
		{name: "file, no host", yaml: "redis_url: \"redis://u:" + password + "@:6379\"\n", from: "redis_url"},
		{name: "flag, not a URL", args: []string{"--redis-url", "redis://u:" + password + "@cache:6379/%zz"}, from: "--redis-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := validEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := resolveWith(t, append([]string{"--app", "slack"}, tc.args...), env, tc.yaml)
			probs := problemsOf(t, err)
			found := false
			for _, p := range probs {
				if strings.Contains(p, password) {
					t.Errorf("a problem repeats the password: %q", p)
				}
				if strings.HasPrefix(p, "invalid Redis URL (from "+tc.from) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem names the Redis URL from %s: %q", tc.from, probs)
			}
		})
	}
	cfg := mustResolve(t, []string{"--app", "slack"}, with(validEnv(), EnvRedisURL, "rediss://u:"+password+"@cache:6380/2"), "")
	if cfg.ScaleOut.RedisURL != "rediss://u:"+password+"@cache:6380/2" {
		t.Errorf("RedisURL = %q", cfg.ScaleOut.RedisURL)
	}
}
