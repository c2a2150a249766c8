"""gunicorn on loopback for the benchmark, the burst and the burst test: start it with the
production config, wait until it answers, and always stop it."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    """A loopback port nothing is listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(port: int, server: subprocess.Popen, ready_path: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode} before serving")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", ready_path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer {ready_path} within {seconds:.0f} s")


@contextmanager
def gunicorn(database_url: str, secret_key: str, port: int, workers: int, *, log: IO | None = None,
             ready_path: str = "/healthz", args: tuple[str, ...] = (),
             extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """`bench.app:app` (the app plus a bare endpoint) under gunicorn.conf.py with `workers`
    sync workers on 127.0.0.1:`port`, serving once `ready_path` answers 200. `args` override
    the config file's settings; `extra_env` adds settings (the fragment cache, say)."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret_key, "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": str(workers), "LOG_LEVEL": "warning", **(extra_env or {})}
    env.pop("PORT", None)  # gunicorn.conf.py would prefer it to BIND
    server = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null", *args,
                               "bench.app:app"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT if log else None)
    try:
        _wait_until_serving(port, server, ready_path)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
