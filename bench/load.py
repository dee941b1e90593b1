"""Many reviewers deciding at once (issue 15 item 7): ``python -m bench load [--sessions 8]
[--decisions 15] [--think 1.0] [--tree DIR]``.

Starts ``streamlit run`` on a fresh demo database (every case audited), then drives
``--sessions`` sessions at once through ``bench.stclient``, a headless client that speaks
Streamlit's own websocket protocol (no Chromium: eight browsers would share this machine's
cores with the server being measured). Each session is its own reviewer: it opens a case on
the Review page, accepts each flag in turn, pressing Next when a case has none left, and
waits ``--think`` seconds (jittered, seeded) between actions. Click-to-card is the time
from sending the Accept press until the card's "Accepted by …" text arrives. Prints the
median, p95 and max, how many decisions the database holds afterwards, and the load average.
``--tree`` runs another checkout's app (an older commit, for before/after) on the same kind
of database. Prints numbers; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.app import _free_port, _p95
from bench.stclient import Client, Session

log = logging.getLogger("bench.load")

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0


def build_db(folder: Path) -> tuple[Path, list[str]]:
    """The demo worklist with every case audited, and its case ids in worklist order."""
    from data.demo import seed_demo
    from data.records import WorklistQuery
    from data.store import Store
    from workstation import services

    db = folder / "load.duckdb"
    with Store.open(db) as store:
        seed_demo(store, image_dir=folder / "demo-images")
        rows = store.worklist(WorklistQuery(page_size=200)).rows
        services.audit_not_audited(store, [row.case_id for row in rows])
        return db, [row.case_id for row in store.worklist(WorklistQuery(page_size=200)).rows]


def start_server(tree: Path, db: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "CXR_AUDIT_DB": str(db), "PYTHONPATH": str(tree)}
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
    deadline = time.monotonic() + START_TIMEOUT_S
    import urllib.request

    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise TimeoutError(f"the app did not start within {START_TIMEOUT_S} s; see {log}")


def _accepted(reviewer: str, at_least: int):  # noqa: ANN202 - a predicate over a session
    mark = f"Accepted by {reviewer}"
    return lambda session: sum(mark in text for text in session.texts()) >= at_least


def _title(session: Session) -> str:
    headings = [session.elements[path].text for path in sorted(session.elements) if session.elements[path].kind == "heading"]
    return headings[0] if headings else ""


async def reviewer_session(
    url: str, index: int, start: str, first: str, decisions: int, think_s: float, samples: list[float]
) -> int:
    """One reviewer deciding ``decisions`` flags, case after case from ``start`` (Next moves on; past
    the last case it starts again at the worklist's ``first`` in a new session); returns how many."""
    reviewer = f"load-{index}"
    rng = random.Random(index)
    made = 0
    case_id = start
    while made < decisions:
        client = Client(url, "review", f"case={case_id}&reviewer={reviewer}")
        case_id = first
        try:
            await client.open()
            while made < decisions:
                mark = f"Accepted by {reviewer}"
                shown = sum(mark in text for text in client.session.texts())
                pending = [key for key in client.session.buttons() if key.startswith("accept_")]
                undecided = pending[shown:] if shown < len(pending) else []
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
                if undecided:
                    samples.append(await client.click(undecided[0], _accepted(reviewer, shown + 1)))
                    made += 1
                    log.info("%s accepted %s in %.0f ms", reviewer, undecided[0], 1e3 * samples[-1])
                    continue
                before = _title(client.session)
                await client.click("rv_next", lambda _: True)
                if _title(client.session) == before:
                    break  # the last case: start again at the first
                log.info("%s: next case %s (%d flag buttons)", reviewer, _title(client.session), len([k for k in client.session.buttons() if k.startswith("accept_")]))
            if client.session.exceptions:
                raise RuntimeError(f"{reviewer}: {client.session.exceptions[0]}")
        finally:
            await client.close()
    return made


async def run_sessions(url: str, cases: list[str], sessions: int, decisions: int, think_s: float) -> list[float]:
    samples: list[float] = []
    # Each reviewer starts two cases after the one before, so they overlap as colleagues would.
    await asyncio.gather(
        *(
            reviewer_session(url, i, cases[(2 * i) % len(cases)], cases[0], decisions, think_s, samples)
            for i in range(sessions)
        )
    )
    return samples


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--decisions", type=int, default=15, help="decisions per session")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a reviewer's actions")
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose app is measured")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every action as it completes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    import duckdb

    with tempfile.TemporaryDirectory(prefix="cxr-bench-load-") as scratch:
        folder = Path(scratch)
        db, cases = build_db(folder)
        server, url = start_server(args.tree.resolve(), db, folder / "server.log")
        try:
            print(f"app: {args.tree.resolve()}; client: bench.stclient (Streamlit's websocket protocol)")
            print(f"before: {_load()}")
            started = time.perf_counter()
            samples = asyncio.run(run_sessions(url, cases, args.sessions, args.decisions, args.think))
            elapsed = time.perf_counter() - started
            print(f"after:  {_load()}")
        finally:
            server.terminate()
            server.wait(timeout=20)
        # Read with DuckDB itself: the measured tree may have a newer schema than this one.
        with duckdb.connect(str(db), read_only=True) as connection:
            row = connection.execute("SELECT count(*) FROM decisions").fetchone()
            stored = int(row[0]) if row else 0
        ms = sorted(1e3 * s for s in samples)
        print(
            f"{args.sessions} sessions, think {args.think:.1f} s: click-to-card median {statistics.median(ms):.0f} ms, "
            f"p95 {_p95(ms):.0f} ms, max {ms[-1]:.0f} ms over {len(ms)} decisions in {elapsed:.0f} s "
            f"(target p95 <= 1500 ms); {stored} decisions stored"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
