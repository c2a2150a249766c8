"""`make bench`: the performance issue's dataset, pages served by gunicorn (2 workers) on
loopback under load, each page's throughput as a ratio to a bare Flask endpoint measured in the
same run, SQL queries per page (at two dataset sizes), peak RSS per worker, the booking burst,
and PASS/FAIL lines against the issue's budgets. Results go to bench/results/ as JSON.

    python -m bench [--scale 0.05] [--seconds 2] [--connections 32] [--generator wrk|python]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from bench import burst, loadgen, serve
from bench.serve import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET = "benchmark-secret-key-not-for-production-use-000"
SMALL_SCALE = 0.1  # the second dataset size for the query-count comparison
BUILD_BUDGET_SECONDS = 120
POST_REQUESTS = 40_000  # distinct (person, session) pairs available to the booking POST
# The production setting: the busiest pages' fragments shared in Redis (training/cache.py).
# Queries are counted without it, so the counts are those of a page built from the database.
CACHE_REDIS_URL = os.environ.get("BENCH_CACHE_REDIS_URL", "redis://127.0.0.1:6379/13")


def _base_url():
    return make_url(os.environ.get("BENCH_DATABASE_URL") or os.environ["TEST_DATABASE_URL"])


def _prepare_database(engine_name: str, suffix: str = "bench") -> str:
    """An empty database of our own, named after the base one so two runs cannot collide."""
    if engine_name == "sqlite":
        data = ROOT / "instance" / "bench"
        data.mkdir(parents=True, exist_ok=True)
        path = data / f"{suffix}.sqlite"
        for extra in ("", "-wal", "-shm"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    base = _base_url()
    name = f"{base.database}_{suffix}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _cookies(app, user_ids: list[int]) -> dict[int, str]:
    """Session cookies as signing in makes them, for requests from loopback with no user agent.

    A cookie with only the user id would be topped up with the session's marks on every request
    and so signed again and sent back each time, which a browser's real session is not.
    """
    from flask_login.utils import _create_identifier

    from training.accounts.models import User
    from training.accounts.tokens import SESSION_PASSWORD_MARK, password_fingerprint
    from training.extensions import db
    from training.security import LAST_ACTIVE, SESSION_ID, STARTED

    wanted = set(user_ids)
    serializer = app.session_interface.get_signing_serializer(app)
    now = time.time()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        identifier = _create_identifier()
        query = select(User.id, User.password_hash)
        if len(wanted) < 500:
            query = query.where(User.id.in_(wanted))
        cookies = {}
        for user_id, password_hash in db.session.execute(query):
            if user_id in wanted:
                mark = password_fingerprint(User(password_hash=password_hash))
                cookies[user_id] = "session=" + serializer.dumps({
                    "_user_id": str(user_id), "_fresh": True, "_id": identifier, SESSION_ID: secrets.token_urlsafe(32),
                    STARTED: now, LAST_ACTIVE: now, SESSION_PASSWORD_MARK: mark,
                    "csrf_token": secrets.token_hex(20)})  # Flask-WTF's secret, set by the first page with a form
        db.session.remove()
    return cookies


def _cookie(app, user_id: int) -> str:
    return _cookies(app, [user_id])[user_id]


def _last_financial_year(today: date) -> tuple[date, date]:
    """The last complete financial year (April to March) before today."""
    start = today.year - 1 if today.month >= 4 else today.year - 2
    return date(start, 4, 1), date(start + 1, 3, 31)


def _pages(app, ids: dict) -> dict[str, tuple[str, str, str | None]]:
    first, last = _last_financial_year(datetime.now(UTC).date())
    return {
        "catalogue": ("GET", "/", None),
        "catalogue (filtered)": ("GET", "/?format=virtual&available=y", None),
        "course page": ("GET", f"/courses/{ids['course_id']}", None),
        "my training (heavy user)": ("GET", "/my-training", _cookie(app, ids["heavy_user_id"])),
        "register of 30": ("GET", f"/sessions/{ids['past_session_id']}/register", _cookie(app, ids["trainer_id"])),
        "summary (a year)": ("GET", f"/reports/summary?from={first.isoformat()}&to={last.isoformat()}",
                             _cookie(app, ids["coordinator_id"])),
    }


def _count_queries(app, pages, upcoming: list[int], people_to_book: tuple[int, int]) -> dict[str, int | str]:
    """SQL statements per page, counted in-process (deterministic). Each request gets its own
    app context, as in production (Flask-Login caches the user on g)."""
    from training.extensions import db

    with app.app_context():
        engine = db.engine
    count = {"n": 0}

    def _count(*_a, **_k):
        count["n"] += 1

    event.listen(engine, "before_cursor_execute", _count)
    client = app.test_client()
    queries: dict[str, int | str] = {}
    try:
        for name, (method, path, cookie) in pages.items():
            client.delete_cookie("session")
            if cookie:
                client.set_cookie("session", cookie.split("=", 1)[1])
            client.open(path, method=method)  # warm up
            count["n"] = 0
            response = client.open(path, method=method)
            queries[name] = count["n"] if response.status_code == 200 else f"HTTP {response.status_code}"
        # A booking POST changes data, so the warm-up and the counted request book different people.
        session_id = upcoming[-1]
        for n, user_id in enumerate(people_to_book):
            client.set_cookie("session", _cookie(app, user_id).split("=", 1)[1])
            count["n"] = 0
            response = client.post(f"/sessions/{session_id}/book")
            if n:
                queries["booking POST"] = count["n"] if response.status_code == 302 else f"HTTP {response.status_code}"
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    return queries


def _never_booked(ids: dict) -> tuple[int, int]:
    """Two people the dataset never books."""
    return ids["spare_people"][0], ids["spare_people"][1]


def _warm_up(port: int, method: str, lines: loadgen.Lines) -> None:
    """A few requests first, so each worker has imported and compiled what the page needs."""
    if method != "GET":
        return
    for path, cookie in lines[:1] * 6:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(method, path, headers={"Cookie": cookie} if cookie else {})
        conn.getresponse().read()
        conn.close()


def _drain(port: int) -> None:
    """Wait until the workers have finished requests the generator left queued when it stopped
    (sync workers still serve a request whose client has gone), so pages do not share a window."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", "/_bench/bare")
    conn.getresponse().read()
    conn.close()


def _build(app, scale: float) -> tuple[dict, float]:
    from bench import dataset
    from training.extensions import db

    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        ids = dataset.build(dataset.Sizes.issue(scale))
        seconds = round(time.perf_counter() - started, 1)
        db.engine.dispose()
    return ids, seconds


def _worker_rss(master: subprocess.Popen) -> list[float]:
    """Peak resident memory (MiB) of each gunicorn worker."""
    peaks = []
    for child in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        peaks.append(round(int(hwm.split()[1]) / 1024, 1))
    return peaks


def _booking_state(app, session_ids: list[int]) -> dict:
    """Bookings now, and whether places and waiting lists are right on the upcoming sessions."""
    from training.booking.models import Booking, BookingStatus
    from training.catalogue.models import CourseSession
    from training.extensions import db

    problems: list[str] = []
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # One snapshot for every statement below: a booking still finishing after the load
            # stopped must not be counted in one and missed in the next (SQLite's read
            # transaction is a snapshot already).
            db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        total = db.session.scalar(select(func.count(Booking.id)))
        holding = dict(db.session.execute(
            select(Booking.session_id, func.count(Booking.id))
            .where(Booking.session_id.in_(session_ids), Booking.holds_place).group_by(Booking.session_id)).all())
        sessions = db.session.execute(select(CourseSession.id, CourseSession.capacity, CourseSession.places_taken)
                                      .where(CourseSession.id.in_(session_ids))).all()
        waiting: dict[int, list[tuple[int, datetime]]] = {}
        for sid, bid, queued in db.session.execute(
                select(Booking.session_id, Booking.id, Booking.queued_at)
                .where(Booking.session_id.in_(session_ids), Booking.status == BookingStatus.WAITLISTED)
                .order_by(Booking.session_id, Booking.id)).all():
            waiting.setdefault(sid, []).append((bid, queued))
        for sid, capacity, taken in sessions:
            held = holding.get(sid, 0)
            if held > capacity:
                problems.append(f"session {sid}: {held} places held, capacity {capacity}")
            if held != taken:
                problems.append(f"session {sid}: places_taken {taken} but {held} bookings hold a place")
            queue = waiting.get(sid, [])
            if queue and held < capacity:
                problems.append(f"session {sid}: {len(queue)} waiting while {capacity - held} places are free")
            # Positions are the order of booking id; they must also be the order people arrived.
            if [q for _, q in queue] != sorted(q for _, q in queue):
                problems.append(f"session {sid}: waiting list not in arrival order")
        db.engine.dispose()
    return {"bookings": total, "problems": problems}


def run_engine(engine_name: str, scale: float, seconds: float, connections: int, gen: str) -> dict:
    from training import create_app

    url = _prepare_database(engine_name)
    os.environ["SECRET_KEY"] = SECRET
    os.environ["DATABASE_URL"] = url
    app = create_app({"WTF_CSRF_ENABLED": False})

    # Query counts at a small size first, then the real build: the same count at both sizes
    # means no page's statements grow with the data.
    small_ids, _ = _build(app, scale * SMALL_SCALE)
    small_queries = _count_queries(app, _pages(app, small_ids), small_ids["upcoming_session_ids"],
                                   _never_booked(small_ids))
    ids, build_seconds = _build(app, scale)
    pages = _pages(app, ids)
    queries = _count_queries(app, pages, ids["upcoming_session_ids"], _never_booked(ids))
    print(f"[{engine_name}] dataset built in {build_seconds} s", flush=True)

    upcoming = ids["upcoming_session_ids"]
    people = ids["people"]
    posters = _cookies(app, [1 + (n * 7919) % people for n in range(POST_REQUESTS)])
    post_lines = loadgen.many(POST_REQUESTS, lambda n: (
        f"/sessions/{upcoming[n % len(upcoming)]}/book", posters[1 + (n * 7919) % people]))

    port = free_port()
    # No worker restarts after max_requests: the peak memory is read from the workers at the end.
    with serve.gunicorn(url, SECRET, port, 2, ready_path="/_bench/bare", args=("--max-requests", "0"),
                        extra_env={"CACHE_REDIS_URL": CACHE_REDIS_URL}) as server:
        _warm_up(port, "GET", [("/_bench/bare", None)])
        results = {"bare endpoint": loadgen.run(gen, port, "GET", [("/_bench/bare", None)], seconds, connections)}
        _drain(port)
        # Cookies made now, as a sign-in just before each page would: the session's last-activity
        # mark is then as recent as a browser's (see _cookies).
        for name in pages:
            method, path, cookie = _pages(app, ids)[name]
            _warm_up(port, method, [(path, cookie)])
            results[name] = loadgen.run(gen, port, method, [(path, cookie)], seconds, connections)
            _drain(port)
        before = _booking_state(app, upcoming)
        results["booking POST"] = loadgen.run(gen, port, "POST", post_lines, seconds, connections)
        _drain(port)
        after = _booking_state(app, upcoming)
        rss = _worker_rss(server)
    bare = results["bare endpoint"]["rps"]
    for name, r in results.items():
        r["ratio_to_bare"] = round(r["rps"] / bare, 3) if bare else None
        r["queries"] = queries.get(name)
        r["queries_small_dataset"] = small_queries.get(name)
    booked = after["bookings"] - before["bookings"]
    results["booking POST"]["bookings_written"] = booked
    results["booking POST"]["bookings_per_s"] = round(booked / seconds, 1)
    results["booking POST"]["check_problems"] = after["problems"]
    ids = {k: v for k, v in ids.items() if k != "upcoming_session_ids"}
    return {"engine": engine_name, "dataset": ids, "build_seconds": build_seconds, "pages": results,
            "worker_peak_rss_mib": rss, "small_dataset_people": small_ids["people"]}


def _print(report: dict) -> list[str]:
    d = report["dataset"]
    print(f"\n== {report['engine']}: {d['agencies']} agencies, {d['people']} people, {d['courses']} courses, "
          f"{d['sessions']} sessions ({d['upcoming_sessions']} upcoming), {d['bookings']} bookings, "
          f"{d['evaluations']} evaluations ({d['answers']} answers), {d['attendances']} attendances; "
          f"built in {report['build_seconds']} s; heavy user has {d['heavy_user_bookings']} bookings")
    print(f"{'page':26} {'req/s':>8} {'ratio':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'queries':>8}  statuses")
    for name, r in report["pages"].items():
        print(f"{name:26} {r['rps']:8} {r['ratio_to_bare']:7} {r['p50_ms']:8} {r['p95_ms']:8} {r['p99_ms']:8} "
              f"{str(r['queries'] if r['queries'] is not None else '-'):>8}  {r['statuses']}")
    post = report["pages"]["booking POST"]
    print(f"booking POST wrote {post['bookings_written']} bookings ({post['bookings_per_s']}/s)")
    print(f"peak RSS per worker (MiB): {report['worker_peak_rss_mib']}")
    lines = _budgets(report)
    for line in lines:
        print(line)
    return lines


def _budgets(report: dict) -> list[str]:
    """The performance issue's budgets on this machine, as pass/fail lines (not a test)."""
    engine, pages = report["engine"], report["pages"]
    lines = []

    def line(ok: bool, what: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'} [{engine}] {what}")

    line(report["build_seconds"] < BUILD_BUDGET_SECONDS,
         f"dataset build: {report['build_seconds']} s (budget {BUILD_BUDGET_SECONDS} s)")
    for name in ("catalogue", "catalogue (filtered)", "course page", "my training (heavy user)"):
        r = pages[name]
        ok = r["ratio_to_bare"] >= 0.15 and r["p95_ms"] < 50 and set(r["statuses"]) == {"200"}
        line(ok, f"{name}: {r['ratio_to_bare']:.1%} of bare (budget 15%), p95 {r['p95_ms']} ms (budget 50 ms)")
    r = pages["summary (a year)"]
    line(r["p95_ms"] < 500 and set(r["statuses"]) == {"200"}, f"summary for a year: p95 {r['p95_ms']} ms (budget 500 ms)")
    post = pages["booking POST"]
    correct = not post["check_problems"] and not any(k.startswith("5") or k == "error" for k in post["statuses"])
    what = (f"booking POST: {post['bookings_per_s']} bookings/s written, waiting lists "
            f"{'correct' if not post['check_problems'] else 'WRONG: ' + '; '.join(post['check_problems'][:3])}")
    if engine == "postgresql":
        line(post["bookings_per_s"] >= 300 and correct, what + " (budget 300/s)")
    else:
        line(correct, what + " (no throughput budget on SQLite)")
    rss = max(report["worker_peak_rss_mib"] or [0])
    line(rss < 200, f"worker RSS: {rss} MiB (budget 200 MiB)")
    for name, r in pages.items():
        if r["queries"] is None:
            continue
        same = r["queries"] == r["queries_small_dataset"]
        line(same, f"{name}: {r['queries']} queries at {report['dataset']['people']} people, "
                   f"{r['queries_small_dataset']} at {report['small_dataset_people']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="dataset size as a share of the issue's (1.0)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per page, seconds (10)")
    parser.add_argument("--connections", type=int, default=32, help="connections kept busy (32)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk when installed (auto), or Python threads")
    parser.add_argument("--no-burst", action="store_true", help="skip the booking burst")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma separated (both)")
    args = parser.parse_args()
    has_pg = bool(os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"))
    engines = [e for e in args.engines.split(",") if e == "sqlite" or (e == "postgresql" and has_pg)]
    gen = loadgen.generator(args.generator)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip() or "unknown"
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True,
                                cwd=ROOT).stdout.strip())
    print(f"load generator: {gen}" + (" (wrk, 2 threads)" if gen == "wrk" else " (Python threads, fallback)")
          + f"; {args.connections} connections for {args.seconds} s per page; gunicorn sync, 2 workers, "
          f"fragment cache {CACHE_REDIS_URL or 'off'}; "
          f"{os.cpu_count()} CPUs shared by server, generator and database", flush=True)
    reports = [run_engine(e, args.scale, args.seconds, args.connections, gen) for e in engines]
    burst_result = None
    if has_pg and not args.no_burst and "postgresql" in engines:
        burst_result = burst.run(_prepare_database("postgresql", "burst"), SECRET, free_port())
    elif not args.no_burst:
        print("burst skipped: it needs PostgreSQL (set BENCH_DATABASE_URL)")
    budget_lines = []
    for report in reports:
        budget_lines += _print(report)
    if burst_result:
        print()
        for line in burst.lines(burst_result):
            print(line)
        budget_lines += burst.lines(burst_result)[:1]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = RESULTS / f"{stamp}-{commit}.json"
    out.write_text(json.dumps({"date": stamp, "commit": commit, "uncommitted_changes": dirty, "generator": gen,
                               "scale": args.scale, "seconds": args.seconds, "connections": args.connections,
                               "cpus": os.cpu_count(), "fragment_cache": CACHE_REDIS_URL or None, "reports": reports, "burst": burst_result,
                               "budgets": budget_lines}, indent=2, default=str))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    if engines and "sqlite" in engines:
        shutil.rmtree(ROOT / "instance" / "bench", ignore_errors=True)


if __name__ == "__main__":
    main()
