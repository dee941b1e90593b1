"""This tree against an older commit, in one run: ``python -m bench.regression [--old REF] [--review]``.

Checks the older commit out into a temporary ``git worktree``, gives each tree a database of
100,000 cases and 500,000 flags built by its own ``bench.store.bulk_load``, then times both in
alternating subprocesses (``bench/store_probe.py``: the worklist pages of ``bench.store`` and
single decisions), so both see the same machine load. Prints each figure for the old and the
new code and the ratio new / old (below 1: faster now); ``--review`` adds the Review page's
reruns (``bench.app --baseline`` with the same worktree). Also prints how long the new code takes to migrate
the old tree's database. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.app import compare_with_baseline, run_in_tree
from bench.store import p95

REPO = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("store_probe.py")
# main when issue 14 (the store split by record family) began.
BASELINE = "dec331ee0322d450382362db24cf547197bc3fd7"

BUILD = """
import sys
from bench.store import bulk_load
from data.store import Store
with Store.open(sys.argv[1]) as store:
    bulk_load(store, int(sys.argv[2]), int(sys.argv[3]), decided_fraction=0.6)
"""
OPEN = "import sys; from data.store import Store; Store.open(sys.argv[1]).close()"


@contextmanager
def checked_out(ref: str, folder: Path) -> Iterator[tuple[Path, str]]:
    """The commit ``ref`` as a detached worktree in ``folder``; removed afterwards."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(folder), sha], check=True
    )
    try:
        yield folder, sha
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder)], check=False)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _row(name: str, old: list[float], new: list[float]) -> str:
    return (
        f"  {name:42s} old median {statistics.median(old):6.1f} p95 {p95(old):6.1f}   "
        f"new median {statistics.median(new):6.1f} p95 {p95(new):6.1f}   "
        f"p95 new/old {p95(new) / p95(old):5.2f}"
    )


def compare_store(
    trees: dict[str, Path], dbs: dict[str, Path], rounds: int, repeat: int, decisions: int
) -> None:
    source = PROBE.read_text()
    samples: dict[str, dict[str, list[float]]] = {side: {} for side in trees}
    for round_no in range(rounds):
        for side in ("old", "new") if round_no % 2 == 0 else ("new", "old"):
            args = ["-c", source, str(dbs[side]), "--repeat", str(repeat), "--decisions", str(decisions)]
            measured = json.loads(run_in_tree(trees[side], [*args, "--seed", str(round_no)]))
            for name, values in measured["worklist"].items():
                samples[side].setdefault(name, []).extend(values)
            samples[side].setdefault("decision", []).extend(measured["decision"])
        print(f"  round {round_no + 1} of {rounds} done, load {_load()}", flush=True)
    old, new = samples["old"], samples["new"]
    pages = [name for name in old if name != "decision"]
    print(f"worklist page of 50 rows, ms ({rounds} x {repeat} per query and side):")
    for name in pages:
        print(_row(name, old[name], new[name]))
    every_old = [value for name in pages for value in old[name]]
    every_new = [value for name in pages for value in new[name]]
    print(_row("every page above", every_old, every_new))
    print(f"record one decision, ms ({rounds} x {decisions} per side):")
    print(_row("decision write", old["decision"], new["decision"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--old", default=BASELINE, help="the commit to compare with (default: %(default).12s)"
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--flags", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=4, help="alternating timing passes per side")
    parser.add_argument("--repeat", type=int, default=10, help="timed pages per query and pass")
    parser.add_argument("--decisions", type=int, default=100, help="timed decisions per pass")
    parser.add_argument("--review", action="store_true", help="also time the Review page's rerun (slow)")
    parser.add_argument("--reruns", type=int, default=20, help="Review page reruns per pass with --review")
    args = parser.parse_args(argv)
    print(f"CPU cores: {os.cpu_count()}; load average (1, 5, 15 min) {_load()}")
    with tempfile.TemporaryDirectory(prefix="cxr-bench-regression-") as scratch:
        folder = Path(scratch)
        with checked_out(args.old, folder / "old") as (old_tree, sha):
            trees = {"old": old_tree, "new": REPO}
            print(f"old: {sha[:12]} (worktree {old_tree}); new: this tree ({REPO})")
            dbs = {side: folder / f"{side}.duckdb" for side in trees}
            for side, tree in trees.items():
                started = time.perf_counter()
                run_in_tree(tree, ["-c", BUILD, str(dbs[side]), str(args.cases), str(args.flags)])
                print(f"{side} database built by its own code in {time.perf_counter() - started:.1f} s")
            migrated = folder / "migrated.duckdb"
            shutil.copy(dbs["old"], migrated)
            started = time.perf_counter()
            run_in_tree(REPO, ["-c", OPEN, str(migrated)])
            seconds = time.perf_counter() - started
            print(f"new code migrating the old database: {seconds:.1f} s (opening included)")
            compare_store(trees, dbs, args.rounds, args.repeat, args.decisions)
            if args.review:
                print("review page reruns (bench.app --baseline):", flush=True)
                compare_with_baseline(old_tree, folder, args.cases, args.flags, args.reruns, args.rounds)
    print(f"load average at the end {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
