"""`streamlit run` the workstation over a database on a free loopback port, for the benchmarks
that drive it from outside (``bench.browser``, ``bench.load``) and for the browser tests; and
the demo database such a benchmark opens, built by the measured checkout itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0


def demo_db(tree: Path, folder: Path) -> tuple[Path, list[str]]:
    """``cxr-audit demo`` of checkout ``tree`` into ``folder`` (every demo case audited, as
    ``./run.sh`` leaves it), so an older tree (before/after) gets a database of its own schema
    and its own demo; returns the database and its case ids."""
    import duckdb

    db = folder / "demo.duckdb"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "workstation.cli.main", "demo", "--db", str(db)]
    command += ["--image-dir", str(folder / "demo-images")]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"cxr-audit demo in {tree} failed:\n{done.stderr[-3000:]}")
    with duckdb.connect(str(db), read_only=True) as connection:
        rows = connection.execute("SELECT case_id FROM cases ORDER BY case_id").fetchall()
    return db, [str(row[0]) for row in rows]


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop a server process: politely, then for good after ten seconds."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(
    url: str, server: subprocess.Popen[bytes], timeout_s: float, log: Path | None = None
) -> None:
    """Return once the app at ``url`` answers its health check; raise if it exits or is too slow."""
    where = f"; see {log}" if log is not None else ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {server.returncode}{where}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout_s} s{where}")


@contextmanager
def streamlit_app(
    db: Path, log: Path, tree: Path = REPO, timeout_s: float = START_TIMEOUT_S
) -> Iterator[str]:
    """The app of checkout ``tree`` over ``db``, its output in ``log``; yields its URL, stops it after."""
    port = free_port()
    env = {**os.environ, "CXR_AUDIT_DB": str(db), "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(tree / "workstation" / "app.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, server, timeout_s, log)
        yield url
    finally:
        stop(server)
