"""`python -m bench.history_import`: how fast a 50,000-row history file imports.

It writes a CSV of 50,000 attendance records (5 years, 1,000 sessions of 40 courses, 15,000
people in 120 agencies, with ratings and comments), then on a fresh SQLite database and, when
BENCH_DATABASE_URL or TEST_DATABASE_URL is set, a fresh PostgreSQL database named
`bench_history` next to it, times:
- the preview (read, check and match the file; nothing written);
- the import (one transaction; target: under 60 seconds);
- the same file imported again (every row already recorded, nothing added).
Prints a table and writes JSON to bench/results/history-import-<date>.json.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from training import create_app
from training.accounts.models import Sector
from training.booking.models import Booking
from training.extensions import db
from training.history import services
from training.history.parser import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_SECONDS = 60.0
PG_DATABASE = "bench_history"


def build_csv(rows: int, seed: int = 2019) -> bytes:
    """A realistic history file of `rows` records, the same for the same seed."""
    rng = random.Random(seed)
    courses = [f"Multi-agency course {n}: {topic}" for n, topic in enumerate(
        ["neglect", "child protection", "domestic abuse", "exploitation", "prevent", "online safety", "FGM",
         "early help"] * 5, start=1)]
    sectors = [s.value for s in Sector]
    agencies = [(f"Partner agency {n}", sectors[n % len(sectors)]) for n in range(120)]
    people = [(f"Person {n} Surname", f"person{n}@history.example", agencies[rng.randrange(len(agencies))])
              for n in range(15000)]
    per_session = 50
    sessions = rows // per_session + (1 if rows % per_session else 0)
    first = date(2019, 4, 1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    written = 0
    for s in range(sessions):
        day = first + timedelta(days=(s * 1825) // sessions)
        start = f"{day.isoformat()}T{rng.choice(['09:30', '10:00', '13:30'])}"
        end = "" if s % 3 == 0 else f"{int(start[-5:-3]) + 3:02d}:{start[-2:]}"
        course = courses[s % len(courses)]
        kind = "workshop" if s % 9 == 0 else "training"
        course_format = "virtual" if s % 4 == 0 else "face-to-face"
        for name, email, (agency, sector) in rng.sample(people, min(per_session, rows - written)):
            status = rng.choices(["attended", "did-not-attend", "late-cancellation"], [85, 10, 5])[0]
            rating = comment = ""
            if status == "attended" and rng.random() < 0.8:
                rating = rng.choices(["excellent", "good", "satisfactory", "poor"], [50, 35, 10, 5])[0]
                if rng.random() < 0.25:
                    comment = "The case studies made it real, and I will use the referral pathway."
            writer.writerow([start, end, course, kind, course_format, name, email, agency, sector, status, rating,
                             comment])
            written += 1
    return out.getvalue().encode("utf-8")


def _database_url(engine_name: str, folder: Path) -> str:
    if engine_name == "sqlite":
        return f"sqlite:///{folder}/history.sqlite"
    base = make_url(os.environ.get("BENCH_DATABASE_URL") or os.environ["TEST_DATABASE_URL"])
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    return base.set(database=PG_DATABASE).render_as_string(hide_password=False)


def run_engine(engine_name: str, data: bytes) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        url = _database_url(engine_name, Path(folder))
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            plan = services.preview_file(data)
            preview_seconds = time.perf_counter() - started
            db.session.rollback()

            started = time.perf_counter()
            counts = services.import_file(data, "history.csv")
            import_seconds = time.perf_counter() - started
            bookings = db.session.scalar(select(func.count(Booking.id)))

            started = time.perf_counter()
            again = services.import_file(data, "history.csv")
            again_seconds = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    return {
        "engine": engine_name,
        "rows": plan.counts.rows,
        "preview_seconds": round(preview_seconds, 2),
        "import_seconds": round(import_seconds, 2),
        "second_import_seconds": round(again_seconds, 2),
        "created": {k: getattr(counts, k) for k in ("courses", "sessions", "agencies", "people", "bookings",
                                                    "attendances", "evaluations")},
        "bookings_in_database": bookings,
        "second_import_new_rows": again.new_rows,
        "within_target": import_seconds < TARGET_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    data = build_csv(args.rows)
    engines = ["sqlite"]
    if os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"):
        engines.append("postgresql")
    reports = [run_engine(name, data) for name in engines]

    print(f"History import of {args.rows:,} rows ({len(data) / 1_000_000:.1f} MB), target under {TARGET_SECONDS:.0f} s")
    print(f"{'engine':<12}{'preview s':>11}{'import s':>10}{'again s':>9}  created")
    for r in reports:
        created = ", ".join(f"{v:,} {k}" for k, v in r["created"].items())
        print(f"{r['engine']:<12}{r['preview_seconds']:>11.2f}{r['import_seconds']:>10.2f}"
              f"{r['second_import_seconds']:>9.2f}  {created}")
        if not r["within_target"]:
            print(f"  OVER BUDGET: {r['engine']} took {r['import_seconds']:.1f} s")

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip() or "unknown"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"history-import-{stamp[:10]}.json"
    out.write_text(json.dumps({"date": stamp, "commit": commit, "rows": args.rows, "cpus": os.cpu_count(),
                               "target_seconds": TARGET_SECONDS, "reports": reports}, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
