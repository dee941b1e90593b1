"""Many reviewers deciding at once (issue 15 item 7): ``python -m bench load [--sessions 8]
[--decisions 15] [--think 1.0] [--tree DIR]``.

Starts ``streamlit run`` on a fresh demo database (every case audited, built by the measured
tree's own ``cxr-audit demo``), then drives ``--sessions`` sessions at once through
``bench.stclient``, a headless client that speaks
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
import sys
import tempfile
import time
from pathlib import Path

from bench.app import _p95
from bench.server import REPO, demo_db, streamlit_app
from bench.stclient import Client, Session

log = logging.getLogger("bench.load")


def _accepted(reviewer: str, at_least: int):
    mark = f"Accepted by {reviewer}"
    return lambda session: sum(mark in text for text in session.texts()) >= at_least


def _title(session: Session) -> str:
    headings = [
        session.elements[path].text
        for path in sorted(session.elements)
        if session.elements[path].kind == "heading"
    ]
    return headings[0] if headings else ""


async def reviewer_session(
    url: str, index: int, start: str, decisions: int, think_s: float, samples: list[float]
) -> int:
    """One reviewer deciding ``decisions`` flags, case after case from ``start`` (Next moves on; past
    the last case it starts again in a new session, which Review opens on the worklist's first
    case); returns how many."""
    reviewer = f"load-{index}"
    rng = random.Random(index)
    made = 0
    query = f"case={start}&reviewer={reviewer}"
    accepted: set[str] = set()
    while made < decisions:
        client = Client(url, "review", query)
        query = f"reviewer={reviewer}"
        try:
            await client.open()
            while made < decisions:
                mark = f"Accepted by {reviewer}"
                shown = sum(mark in text for text in client.session.texts())
                # By flag id, not by place: a page may order its cards otherwise than decided first.
                buttons = [key for key in client.session.buttons() if key.startswith("accept_")]
                undecided = [key for key in buttons if key not in accepted]
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
                if undecided:
                    samples.append(await client.click(undecided[0], _accepted(reviewer, shown + 1)))
                    accepted.add(undecided[0])
                    made += 1
                    log.info("%s accepted %s in %.0f ms", reviewer, undecided[0], 1e3 * samples[-1])
                    continue
                before = _title(client.session)
                await client.click("rv_next", lambda _: True)
                if _title(client.session) == before:
                    break  # the last case: start again at the first
                log.info(
                    "%s: next case %s (%d flag buttons)",
                    reviewer,
                    _title(client.session),
                    len([k for k in client.session.buttons() if k.startswith("accept_")]),
                )
            if client.session.exceptions:
                raise RuntimeError(f"{reviewer}: {client.session.exceptions[0]}")
        finally:
            await client.close()
    return made


async def run_sessions(
    url: str, cases: list[str], sessions: int, decisions: int, think_s: float
) -> list[float]:
    samples: list[float] = []
    # Each reviewer starts two cases after the one before, so they overlap as colleagues would.
    await asyncio.gather(
        *(
            reviewer_session(url, i, cases[(2 * i) % len(cases)], decisions, think_s, samples)
            for i in range(sessions)
        )
    )
    return samples


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
        db, cases = demo_db(args.tree.resolve(), folder)
        with streamlit_app(db, folder / "server.log", args.tree.resolve()) as url:
            print(f"app: {args.tree.resolve()}; client: bench.stclient (Streamlit's websocket protocol)")
            print(f"before: {_load()}")
            started = time.perf_counter()
            samples = asyncio.run(run_sessions(url, cases, args.sessions, args.decisions, args.think))
            elapsed = time.perf_counter() - started
            print(f"after:  {_load()}")
        # Read with DuckDB itself: the measured tree may have a newer schema than this one.
        with duckdb.connect(str(db), read_only=True) as connection:
            row = connection.execute("SELECT count(*) FROM decisions").fetchone()
            stored = int(row[0]) if row else 0
        ms = sorted(1e3 * s for s in samples)
        print(
            f"{args.sessions} sessions, think {args.think:.1f} s: "
            f"click-to-card median {statistics.median(ms):.0f} ms, "
            f"p95 {_p95(ms):.0f} ms, max {ms[-1]:.0f} ms over {len(ms)} decisions in {elapsed:.0f} s "
            f"(target p95 <= 1500 ms); {stored} decisions stored"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
