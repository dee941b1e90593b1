"""Workstation benchmarks (issue 5): ``python -m bench.app [--cases N] [--flags N] [--reruns N]
[--baseline TREE]``.

Prints, never asserts:

- **launch**: ``./run.sh`` (ready venv, a database that already holds the demo worklist)
  until the app answers HTTP on ``/`` — target ≤ 5 s; ``streamlit run`` alone beside it;
- **review rerun after a decision** with a database of 100,000 cases and 500,000 flags
  (``bench.store.bulk_load``) plus the demo worklist, CPU defaults: the Review page's script
  run after clicking Accept/Dismiss, measured with Streamlit's AppTest (server-side time:
  the script run and its element protos; the browser's paint is not included) — target
  ≤ 300 ms. With ``--baseline TREE`` (a checkout of older code, e.g. ``git worktree add
  /tmp/old <commit>``), the reruns are measured for that tree and this one in turn, each in
  its own process, and the new/old ratio of each figure is printed. The older tree builds
  the database, since it cannot open a newer schema; this tree reviews a copy it migrates,
  so both start from the same rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.server import REPO, free_port, stop

APP = REPO / "workstation" / "app.py"
LAUNCH_TIMEOUT_S = 60.0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def time_launch(command: list[str], db: Path) -> float:
    """Seconds from starting ``command`` until ``/`` answers 200; the server is stopped after."""
    port = free_port()
    env = {**os.environ, "CXR_AUDIT_DB": str(db)}
    args = [*command, "--server.port", str(port)]
    started = time.perf_counter()
    server = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < LAUNCH_TIMEOUT_S:
            if server.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} exited with {server.returncode}")
            if _answers(f"http://127.0.0.1:{port}/"):
                return time.perf_counter() - started
            time.sleep(0.05)
        raise TimeoutError(f"no answer within {LAUNCH_TIMEOUT_S} s")
    finally:
        stop(server)


def _p95(samples_ms: list[float]) -> float:
    ordered = sorted(samples_ms)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def describe(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    median, p95, top = statistics.median(ordered), _p95(ordered), ordered[-1]
    return f"median {median:7.1f} ms   p95 {p95:7.1f} ms   max {top:7.1f} ms"


def bench_launch(folder: Path, repeats: int) -> None:
    from data.demo import seed_demo
    from data.store import Store

    db = folder / "launch.duckdb"
    with Store.open(db) as store:
        seed_demo(store, image_dir=folder / "demo-images")
    # ./run.sh binds 127.0.0.1 itself (and refuses --server.address); "app" passes the rest on.
    run_sh = [str(REPO / "run.sh"), "app"]
    streamlit = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    for name, command in (("./run.sh", run_sh), ("streamlit run", streamlit)):
        samples = [time_launch(command, db) for _ in range(repeats)]
        print(
            f"launch, {name:<13} until HTTP 200 on /: best {min(samples):.2f} s, "
            f"median {statistics.median(samples):.2f} s over {repeats} (target ≤ 5 s)"
        )


def build_review_db(folder: Path, n_cases: int, n_flags: int) -> tuple[Path, str]:
    """A database of bulk rows plus the demo worklist, and the first demo case whose audit raises flags.

    Only calls that older trees have too (``--baseline`` runs it with the baseline's code).
    """
    from bench.store import bulk_load
    from data.demo import seed_demo
    from data.store import Store
    from workstation import services

    db = folder / "review.duckdb"
    started = time.perf_counter()
    with Store.open(db) as store:
        bulk_load(store, n_cases, n_flags, decided_fraction=0.6)
        seed_demo(store, image_dir=folder / "demo-images")
        stats = store.stats()
        demo = store.query_df("SELECT case_id FROM cases WHERE source = 'demo' ORDER BY case_id").case_id
        case_id = next(  # each demo case is audited once here, so opening it does not audit
            str(case) for case in demo if services.ensure_audited(store, str(case))[0].flag_ids
        )
    print(
        f"database: {stats.cases:,} cases, {stats.flags:,} flags, {stats.decisions:,} decisions "
        f"(built in {time.perf_counter() - started:.1f} s); reviewing {case_id}"
    )
    return db, case_id


def measure_reruns(app: Path, db: Path, case_id: str, reruns: int) -> dict[str, list[float]]:
    """The Review page of ``app`` under AppTest: its first open, then ``reruns`` times a rerun with no
    change and one after clicking Accept or Dismiss (in ms). Imports only Streamlit here, so the app's
    own modules come from whichever tree is first on the path."""
    from streamlit.testing.v1 import AppTest

    os.environ["CXR_AUDIT_DB"] = str(db)
    at = AppTest.from_file(str(app), default_timeout=120)
    at.query_params["reviewer"] = "bench"
    at.query_params["case"] = case_id
    at.run()
    at.switch_page("app_pages/review.py")
    first = time.perf_counter()
    at.run()
    opened_ms = (time.perf_counter() - first) * 1e3
    if at.exception:
        raise RuntimeError([item.value for item in at.exception])
    flag_buttons = [b.key for b in at.button if b.key.startswith(("accept_", "dismiss_"))]
    if not flag_buttons:
        raise RuntimeError(f"{case_id} has no flags to decide")
    plain, decided = [], []
    for index in range(reruns):
        started = time.perf_counter()
        at.run()
        plain.append((time.perf_counter() - started) * 1e3)
        at.button(key=flag_buttons[index % len(flag_buttons)]).click()
        started = time.perf_counter()
        at.run()
        decided.append((time.perf_counter() - started) * 1e3)
        if at.exception:
            raise RuntimeError([item.value for item in at.exception])
    return {"opened": [opened_ms], "plain": plain, "decided": decided}


def print_reruns(samples: dict[str, list[float]], label: str = "") -> None:
    reruns, opened = len(samples["decided"]), statistics.median(samples["opened"])
    print(f"review page{label}, first open (decodes the image): {opened:.0f} ms")
    print(f"review page{label} rerun, no change      : {describe(samples['plain'])}")
    print(
        f"review page{label} rerun after a decision: {describe(samples['decided'])}   "
        f"(target ≤ 300 ms, n={reruns})"
    )


def run_in_tree(tree: Path, args: list[str], db: Path | None = None) -> str:
    """The output of ``python ARGS`` in a fresh process whose ``workstation`` (and all else) comes
    from ``tree``, with ``db`` as the audit database when given."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if db is not None:
        env["CXR_AUDIT_DB"] = str(db)
    done = subprocess.run(
        [sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} in {tree} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def in_tree(tree: Path, args: list[str], db: Path | None = None) -> str:
    """The last line this file prints when run with ``args`` in ``tree`` (``run_in_tree``)."""
    return run_in_tree(tree, [__file__, *args], db).strip().splitlines()[-1]


def measure_in_tree(tree: Path, db: Path, case_id: str, reruns: int) -> dict[str, list[float]]:
    """``measure_reruns`` of ``tree``'s app in a process of its own."""
    app = tree / "workstation" / "app.py"
    args = ["--measure", str(db), case_id, "--reruns", str(reruns), "--app", str(app)]
    return dict(json.loads(in_tree(tree, args, db)))


def compare_with_baseline(
    baseline: Path, folder: Path, n_cases: int, n_flags: int, reruns: int, rounds: int
) -> None:
    """The reruns for ``baseline`` and for this tree, in alternating processes, and new/old ratios."""
    trees = {"old": baseline.resolve(), "new": REPO}
    build = ["--build", str(folder), "--cases", str(n_cases), "--flags", str(n_flags)]
    built = json.loads(in_tree(trees["old"], build))
    case_id, dbs = built["case_id"], {"old": Path(built["db"]), "new": folder / "review-new.duckdb"}
    shutil.copy(dbs["old"], dbs["new"])
    pooled: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    for round_number in range(rounds):
        order = list(trees.items())
        if round_number % 2:  # each tree goes first in half the rounds, so neither gains from going second
            order.reverse()
        for name, tree in order:
            for key, values in measure_in_tree(tree, dbs[name], case_id, reruns).items():
                pooled[name].setdefault(key, []).extend(values)
    for name, tree in trees.items():
        print(f"{name}: {tree}")
        print_reruns(pooled[name], f" ({name})")
    for key, what in (("plain", "rerun, no change"), ("decided", "rerun after a decision")):
        old, new = sorted(pooled["old"][key]), sorted(pooled["new"][key])
        median = statistics.median(new) / statistics.median(old)
        p95 = _p95(new) / _p95(old)
        print(f"new/old, review page {what}: median ×{median:.2f}, p95 ×{p95:.2f} (n={len(new)} each)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--flags", type=int, default=500_000)
    parser.add_argument("--reruns", type=int, default=30)
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--skip-launch", action="store_true")
    parser.add_argument(
        "--baseline", type=Path, help="a checkout of older code: measure its review reruns beside these"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per tree with --baseline")
    parser.add_argument("--measure", nargs=2, metavar=("DB", "CASE"), help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, metavar="FOLDER", help=argparse.SUPPRESS)
    parser.add_argument("--app", type=Path, default=APP, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.measure:  # a child of --baseline: one tree's samples, as JSON on the last line
        print(json.dumps(measure_reruns(args.app, Path(args.measure[0]), args.measure[1], args.reruns)))
        return 0
    if args.build:  # a child of --baseline: the database, built by the baseline's code
        db, case_id = build_review_db(args.build, args.cases, args.flags)
        print(json.dumps({"db": str(db), "case_id": case_id}))
        return 0
    print(f"CPU cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="cxr-bench-app-") as scratch:
        folder = Path(scratch)
        if not args.skip_launch:
            bench_launch(folder, args.launches)
        if args.baseline is None:
            print_reruns(measure_reruns(APP, *build_review_db(folder, args.cases, args.flags), args.reruns))
        else:
            compare_with_baseline(args.baseline, folder, args.cases, args.flags, args.reruns, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
