"""Load generators: `wrk` (C, event loop) when installed, else Python threads as a fallback.

On a 2-core machine the generator shares the CPU with the server, so a cheap one matters:
wrk costs a fraction of what Python threads do. Gunicorn's sync workers close the connection
after every response, so every request opens a new connection whichever generator runs.
"""
from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# Each wrk thread walks its own slice of the request list, so no two threads send the same
# request (a booking POST must not be sent twice for one person and session). done() writes
# the figures as JSON, since wrk's own summary has no p95.
_WRK_SCRIPT = r"""
local requests, n, threads_ = {}, 0, {}
tid = 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter - 1)
  table.insert(threads_, thread)
end
function init(args)
  local method, nthreads = args[1], tonumber(args[3])
  for line in io.lines(args[2]) do
    local path, cookie = line:match("^([^\t]*)\t?(.*)$")
    local headers = {}
    if cookie ~= "" then headers["Cookie"] = cookie end
    if method == "POST" then headers["Content-Length"] = "0" end
    table.insert(requests, wrk.format(method, path, headers))
  end
  n = tid
  step = nthreads
  s2, s3, s4, s5 = 0, 0, 0, 0
end
function request()
  local r = requests[(n % #requests) + 1]
  n = n + step
  return r
end
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1
  elseif status >= 300 then s3 = s3 + 1 else s2 = s2 + 1 end
end
function done(summary, latency, requests_)
  local codes = {["200"] = 0, ["300"] = 0, ["400"] = 0, ["500"] = 0}
  for _, t in ipairs(threads_) do
    codes["200"] = codes["200"] + t:get("s2"); codes["300"] = codes["300"] + t:get("s3")
    codes["400"] = codes["400"] + t:get("s4"); codes["500"] = codes["500"] + t:get("s5")
  end
  local e = summary.errors
  local f = io.open(os.getenv("WRK_OUT"), "w")
  f:write(string.format('{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"statuses": {"200": %d, "300": %d, "400": %d, "500": %d}}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, codes["200"], codes["300"], codes["400"], codes["500"]))
  f:close()
end
"""

Lines = list[tuple[str, str | None]]  # (path, cookie header or None)


def generator(preferred: str = "auto") -> str:
    """'wrk' when asked for (or auto) and installed, else 'python'."""
    if preferred == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if preferred == "wrk":
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --generator python")
    return "python"


def run(kind: str, port: int, method: str, lines: Lines, seconds: float, connections: int) -> dict:
    """Keep `connections` requests in flight for `seconds`; throughput, percentiles and status counts."""
    if kind == "wrk":
        return _wrk(port, method, lines, seconds, connections)
    return _python(port, method, lines, seconds, connections)


def _wrk(port: int, method: str, lines: Lines, seconds: float, connections: int) -> dict:
    threads = 2 if connections >= 2 else 1
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script, reqs, out = Path(tmp, "bench.lua"), Path(tmp, "requests.tsv"), Path(tmp, "out.json")
        script.write_text(_WRK_SCRIPT)
        reqs.write_text("".join(f"{path}\t{cookie or ''}\n" for path, cookie in lines))
        subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "30s",
                        "-s", str(script), f"http://127.0.0.1:{port}", "--", method, str(reqs), str(threads)],
                       check=True, capture_output=True, env={"WRK_OUT": str(out), "PATH": "/usr/bin:/bin"})
        raw = json.loads(out.read_text())
    statuses = {k: v for k, v in raw["statuses"].items() if v}
    socket_errors = sum(raw["errors"].values())
    if socket_errors:
        statuses["error"] = socket_errors
    return {"requests": raw["requests"], "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
            "p50_ms": round(raw["p50_us"] / 1000, 1), "p95_ms": round(raw["p95_us"] / 1000, 1),
            "p99_ms": round(raw["p99_us"] / 1000, 1), "statuses": statuses}


def _python(port: int, method: str, lines: Lines, seconds: float, connections: int) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    def worker() -> None:
        local, codes = [], Counter()
        conn: http.client.HTTPConnection | None = None
        while time.perf_counter() < deadline:
            path, cookie = lines[next(counter) % len(lines)]
            headers = {"Cookie": cookie} if cookie else {}
            if method == "POST":
                headers["Content-Length"] = "0"
            started = time.perf_counter()
            try:
                # Reuse the connection when the server keeps it open (sync gunicorn does not).
                conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(method, path, headers=headers)
                response = conn.getresponse()
                response.read()
                codes[str(response.status // 100 * 100)] += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                codes["error"] += 1
                conn = None
            local.append(time.perf_counter() - started)
        with lock:
            latencies.extend(local)
            statuses.update(codes)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    begun = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - begun
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 1) if latencies else 0.0

    return {"requests": len(latencies), "rps": round(len(latencies) / elapsed, 1), "p50_ms": pct(0.50),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99), "statuses": dict(statuses)}


def one_line(method: str, path: str, cookie: str | None) -> Lines:
    """The same request every time."""
    return [(path, cookie)]


def many(count: int, make: Callable[[int], tuple[str, str | None]]) -> Lines:
    """`count` different requests, made by `make(n)`."""
    return [make(n) for n in range(count)]
