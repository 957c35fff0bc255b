// Small HTTP helpers for run.sh, so CI needs no curl.
//
//   node http.mjs ready <server log> <server pid>
//     waits (up to 20 s) for the server's JSON "listening" log line and for
//     GET /readyz to answer 200, then prints the base URL (http://host:port).
//   node http.mjs status <method> <url>
//     prints the HTTP status of one request without credentials.
import { readFileSync } from "node:fs";

const [cmd, ...args] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const die = (msg) => { console.error(msg); process.exit(1); };

if (cmd === "ready") {
  const [log, pid] = args;
  const deadline = Date.now() + 20_000;
  let base;
  while (Date.now() < deadline) {
    try { process.kill(Number(pid), 0); } catch { die(`server ${pid} exited:\n${readFileSync(log, "utf8")}`); }
    if (!base) {
      const rec = readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l)).find((r) => r.msg === "listening" && r.addr);
      if (rec) base = `http://${rec.addr}`;
    }
    if (base) {
      const res = await fetch(`${base}/readyz`).catch(() => undefined);
      if (res?.status === 200) { console.log(base); process.exit(0); }
    }
    await sleep(100);
  }
  die(`server not ready within 20 s:\n${readFileSync(log, "utf8")}`);
} else if (cmd === "status") {
  const [method, url] = args;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 5000).unref();
  const res = await fetch(url, { method, signal: ac.signal });
  console.log(res.status);
  await res.body?.cancel();
  process.exit(0);
} else {
  die(`unknown command ${cmd}`);
}
