"""Workstation benchmarks (issue 5): ``python -m bench.app [--cases N] [--flags N] [--reruns N]``.

Prints, never asserts:

- **launch**: ``./run.sh`` (ready venv, a database that already holds the demo worklist)
  until the app answers HTTP on ``/`` — target ≤ 5 s; ``streamlit run`` alone beside it;
- **review rerun after a decision** with a database of 100,000 cases and 500,000 flags
  (``bench.store.bulk_load``) plus the demo worklist, CPU defaults: the Review page's script
  run after clicking Accept/Dismiss, measured with Streamlit's AppTest (server-side time:
  the script run and its element protos; the browser's paint is not included) — target
  ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "workstation" / "app.py"
LAUNCH_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def time_launch(command: list[str], db: Path) -> float:
    """Seconds from starting ``command`` until ``/`` answers 200; the server is stopped after."""
    port = _free_port()
    env = {**os.environ, "CXR_AUDIT_DB": str(db)}
    args = [*command, "--server.port", str(port), "--server.address", "127.0.0.1"]
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
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def describe(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   max {ordered[-1]:7.1f} ms"


def bench_launch(folder: Path, repeats: int) -> None:
    from data.demo import seed_demo
    from data.store import Store

    db = folder / "launch.duckdb"
    with Store.open(db) as store:
        seed_demo(store, image_dir=folder / "demo-images")
    run_sh = [str(REPO / "run.sh"), "app"]  # "app" passes the rest to streamlit
    streamlit = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
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


def bench_review(folder: Path, n_cases: int, n_flags: int, reruns: int) -> None:
    from streamlit.testing.v1 import AppTest

    from bench.store import bulk_load
    from data.demo import seed_demo
    from data.records import WorklistQuery
    from data.store import Store
    from workstation import services

    db = folder / "review.duckdb"
    started = time.perf_counter()
    with Store.open(db) as store:
        bulk_load(store, n_cases, n_flags, decided_fraction=0.6)
        seed_demo(store, image_dir=folder / "demo-images")
        stats = store.stats()
        demo = store.worklist(WorklistQuery(source="demo", page_size=100)).rows
        case_id = next(  # the first demo case whose audit raises flags (each is audited once here)
            row.case_id for row in demo if services.ensure_audited(store, row.case_id)[0].flag_ids
        )
    print(
        f"database: {stats.cases:,} cases, {stats.flags:,} flags, {stats.decisions:,} decisions "
        f"(built in {time.perf_counter() - started:.1f} s); reviewing {case_id}"
    )

    os.environ["CXR_AUDIT_DB"] = str(db)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["reviewer"] = "bench"
    at.query_params["case"] = case_id
    at.run()
    at.switch_page("app_pages/review.py")
    first = time.perf_counter()
    at.run()
    opened_ms = (time.perf_counter() - first) * 1e3
    print(f"review page, first open (audits the case, decodes the image): {opened_ms:.0f} ms")
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
        key = flag_buttons[index % len(flag_buttons)]
        at.button(key=key).click()
        started = time.perf_counter()
        at.run()
        decided.append((time.perf_counter() - started) * 1e3)
        if at.exception:
            raise RuntimeError([item.value for item in at.exception])
    print(f"review page rerun, no change      : {describe(plain)}")
    print(f"review page rerun after a decision: {describe(decided)}   (target ≤ 300 ms, n={reruns})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--flags", type=int, default=500_000)
    parser.add_argument("--reruns", type=int, default=30)
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--skip-launch", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"CPU cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="cxr-bench-app-") as scratch:
        folder = Path(scratch)
        if not args.skip_launch:
            bench_launch(folder, args.launches)
        bench_review(folder, args.cases, args.flags, args.reruns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
