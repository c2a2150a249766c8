"""`make bench`: a synthetic dataset, pages served by gunicorn (2 workers) on loopback under
load, each page's throughput as a ratio to a bare Flask endpoint measured in the same run,
SQL queries per page, and peak RSS per worker. Results go to bench/results/ as JSON."""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET = "benchmark-secret-key-not-for-production-use-000"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare_database(engine_name: str) -> str:
    if engine_name == "sqlite":
        data = ROOT / "instance" / "bench"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        return f"sqlite:///{data}/bench.sqlite"
    base = make_url(os.environ.get("BENCH_DATABASE_URL") or os.environ["TEST_DATABASE_URL"])
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "bench"'))
    admin.dispose()
    return base.set(database="bench").render_as_string(hide_password=False)


def _cookie(app, user_id: int) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    return "session=" + serializer.dumps({"_user_id": str(user_id), "_fresh": True})


def _load(port: int, method: str, paths, cookies, seconds: float, connections: int) -> dict:
    """Keep `connections` clients busy for `seconds`; return throughput and latency percentiles."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    def worker() -> None:
        local, codes = [], Counter()
        while time.perf_counter() < deadline:
            n = next(counter)
            path = paths(n) if callable(paths) else paths
            headers = {"Cookie": cookies(n) if callable(cookies) else cookies} if cookies else {}
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(method, path, headers=headers)
                response = conn.getresponse()
                response.read()
                codes[response.status // 100 * 100] += 1
            except OSError:
                codes["error"] += 1
            finally:
                conn.close()
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
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 1)

    return {"requests": len(latencies), "rps": round(len(latencies) / elapsed, 1), "p50_ms": pct(0.50),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99), "statuses": {str(k): v for k, v in statuses.items()}}


def _worker_rss(master: subprocess.Popen) -> list[int]:
    """Peak resident memory (MiB) of each gunicorn worker."""
    peaks = []
    for child in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        peaks.append(round(int(hwm.split()[1]) / 1024, 1))
    return peaks


def run_engine(engine_name: str, seconds: float, connections: int) -> dict:
    from bench import dataset
    from training import create_app
    from training.extensions import db

    url = _prepare_database(engine_name)
    os.environ["SECRET_KEY"] = SECRET
    os.environ["DATABASE_URL"] = url
    app = create_app({"WTF_CSRF_ENABLED": False})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        ids = dataset.build()
        build_seconds = round(time.perf_counter() - started, 1)
        from training.catalogue.models import CourseSession

        upcoming = db.session.scalars(
            select(CourseSession.id).where(CourseSession.booking_closes_at > datetime.now(UTC))
        ).all()
    pages = {
        "catalogue": ("GET", "/", None),
        "catalogue (filtered)": ("GET", "/?format=virtual&available=y", None),
        "course page": ("GET", f"/courses/{ids['course_id']}", None),
        "session page": ("GET", f"/sessions/{ids['session_id']}", None),
        "my training (heavy user)": ("GET", "/my-training", _cookie(app, ids["heavy_user_id"])),
        "register of 25": ("GET", f"/sessions/{ids['past_session_id']}/register", _cookie(app, ids["trainer_id"])),
    }

    # SQL statements per page, counted in-process (deterministic). Requests run outside any
    # app context of ours, so each gets its own, as in production (Flask-Login caches on g).
    queries: dict[str, int | str] = {}
    with app.app_context():
        engine = db.engine
    count = {"n": 0}

    def _count(*_a, **_k):
        count["n"] += 1

    event.listen(engine, "before_cursor_execute", _count)
    client = app.test_client()
    for name, (method, path, cookie) in pages.items():
        client.delete_cookie("session")
        if cookie:
            client.set_cookie("session", cookie.split("=", 1)[1])
        client.open(path, method=method)  # warm up
        count["n"] = 0
        response = client.open(path, method=method)
        queries[name] = count["n"] if response.status_code == 200 else f"HTTP {response.status_code}"
    event.remove(engine, "before_cursor_execute", _count)
    engine.dispose()

    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", "--access-logfile", "/dev/null", "bench.app:app"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET})
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/_bench/bare")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        results = {"bare endpoint": _load(port, "GET", "/_bench/bare", None, seconds, connections)}
        for name, (method, path, cookie) in pages.items():
            results[name] = _load(port, method, path, cookie, seconds, connections)
        results["booking POST"] = _load(
            port, "POST", lambda n: f"/sessions/{upcoming[n % len(upcoming)]}/book",
            lambda n: _cookie(app, 1 + (n * 7919) % ids["people"]), seconds, connections)
        rss = _worker_rss(server)
    finally:
        server.terminate()
        server.wait(timeout=10)
    bare = results["bare endpoint"]["rps"]
    for name, r in results.items():
        r["ratio_to_bare"] = round(r["rps"] / bare, 3) if bare else None
        r["queries"] = queries.get(name)
    return {"engine": engine_name, "dataset": ids, "build_seconds": build_seconds, "pages": results,
            "worker_peak_rss_mib": rss}


def _print(report: dict) -> None:
    print(f"\n== {report['engine']}: dataset of {report['dataset']['people']} people, "
          f"{report['dataset']['bookings']} bookings, built in {report['build_seconds']} s")
    print(f"{'page':28} {'req/s':>8} {'ratio':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'queries':>8}  statuses")
    for name, r in report["pages"].items():
        print(f"{name:28} {r['rps']:8} {r['ratio_to_bare']:7} {r['p50_ms']:8} {r['p95_ms']:8} {r['p99_ms']:8} "
              f"{str(r['queries'] or '-'):>8}  {r['statuses']}")
    print(f"peak RSS per worker (MiB): {report['worker_peak_rss_mib']}")
    for line in _budgets(report):
        print(line)


def _budgets(report: dict) -> list[str]:
    """The performance issue's budgets on this machine, as pass/fail lines (not a test)."""
    lines = []
    for name in ("catalogue", "course page", "my training (heavy user)"):
        r = report["pages"][name]
        ok = r["ratio_to_bare"] >= 0.15 and r["p95_ms"] < 50
        lines.append(f"{'PASS' if ok else 'FAIL'} {name}: {r['ratio_to_bare']:.1%} of bare (budget 15%), "
                     f"p95 {r['p95_ms']} ms (budget 50 ms)")
    rss = max(report["worker_peak_rss_mib"] or [0])
    lines.append(f"{'PASS' if rss < 200 else 'FAIL'} worker RSS: {rss} MiB (budget 200 MiB)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    engines = ["sqlite"]
    if os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"):
        engines.append("postgresql")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip() or "unknown"
    reports = [run_engine(e, args.seconds, args.connections) for e in engines]
    for report in reports:
        _print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = RESULTS / f"{stamp}-{commit}.json"
    out.write_text(json.dumps({"date": stamp, "commit": commit, "seconds": args.seconds,
                               "connections": args.connections, "reports": reports}, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
