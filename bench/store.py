"""Store benchmarks (issue 4): ``python -m bench.store [--cases N] [--flags N] [--keep DIR]``.

Prints, against a database file of 100,000 cases and 500,000 flags (bulk-loaded with
``INSERT … SELECT`` over ``range()``, not ``executemany``):

- a filtered, sorted worklist page of 50 rows (target ≤ 50 ms);
- recording one decision, 95th percentile (target ≤ 20 ms);
- exporting every decision (target ≤ 5 s), per format;
- importing the 1,080 shared NIH images (target ≤ 60 s), when ``../shared/data`` is there.

Numbers are printed, never asserted: the tests do not depend on wall time.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.store_probe import QUERIES
from data.export import EXPORT_FORMATS, write_export
from data.importers.nih import import_nih
from data.records import WorklistQuery
from data.store import Store
from data.summary import refresh_all_summaries
from data.worklist import neighbour_case, worklist_page

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

_REPORT = '{"mode": "full", "flags": [], "warnings": [], "timings": {}}'
_LABELS = "['pleural_effusion', 'pneumothorax', 'lung_opacity', 'nodule_mass', 'cardiomegaly']"
_TYPES = "['URGENT', 'MISSING', 'MISSING', 'UNSUPPORTED', 'LATERALITY']"


def bulk_load(store: Store, n_cases: int, n_flags: int, decided_fraction: float) -> dict[str, float]:
    """Fill the store with synthetic rows in a few set-based statements; returns seconds per step."""
    n_audited = int(n_cases * 0.8)  # a fifth of the cases are not audited yet
    timings: dict[str, float] = {}

    def step(name: str, sql: str, params: list[object] | None = None) -> None:
        started = time.perf_counter()
        store.transaction(name, lambda cur: cur.execute(sql, params or []))
        timings[name] = time.perf_counter() - started

    step(
        "cases",
        """
        INSERT INTO cases (case_id, image_id, image_path, width, height, source, view, is_phantom, metadata,
                           created_at, updated_at)
        SELECT printf('case-%06d', i), printf('img-%06d.png', i), NULL, 1024, 1024,
               CASE WHEN i % 10 = 0 THEN 'vindr' ELSE 'nih' END, CASE WHEN i % 3 = 0 THEN 'AP' ELSE 'PA' END,
               false, '{}', now(), now()
        FROM range(?) t(i)
        """,
        [n_cases],
    )
    step(
        "reference_findings",
        f"""
        INSERT INTO reference_findings (case_id, label, x0, y0, x1, y1, source, created_at)
        SELECT printf('case-%06d', i % ?), {_LABELS}[1 + (hash(i) % 5)::INTEGER], 0.1, 0.1, 0.3, 0.3,
               'reference:NIH', now()
        FROM range(?) t(i)
        """,
        [n_cases, int(n_cases * 1.5)],
    )
    step(
        "audit_runs",
        """
        INSERT INTO audit_runs (run_id, case_id, mode, grounder, grounder_version, parser, parser_version,
                                image_outcome, draft_outcome, durations, raw_outputs, warnings, report,
                                created_at)
        SELECT nextval('run_id_seq'), printf('case-%06d', i), 'full', 'reference', '1', 'rules', '1',
               'ok', 'ok', '{}', '{}', '[]', ?, now() - to_seconds(i)
        FROM range(?) t(i)
        """,
        [_REPORT, n_audited],
    )
    step(
        "flags",
        f"""
        INSERT INTO flags (flag_id, run_id, case_id, position, type, label, x0, y0, x1, y1, finding_source,
                           phrase, phrase_start, phrase_end, reason)
        SELECT nextval('flag_id_seq'), r.run_id, r.case_id, (i // ?)::INTEGER,
               {_TYPES}[1 + (hash(i) % 5)::INTEGER], {_LABELS}[1 + (hash(i * 7) % 5)::INTEGER],
               0.1, 0.1, 0.3, 0.3, 'reference:NIH', 'No pneumothorax', 0, 15, 'benchmark flag'
        FROM range(?) t(i)
        JOIN (SELECT run_id, case_id, row_number() OVER (ORDER BY run_id) - 1 AS k FROM audit_runs) r
          ON r.k = i % ?
        """,
        [n_audited, n_flags, n_audited],
    )
    step(
        "decisions",
        """
        INSERT INTO decisions (decision_id, flag_id, run_id, case_id, reviewer, decision, reason_code, note,
                               decided_at)
        SELECT nextval('decision_id_seq'), flag_id, run_id, case_id,
               CASE WHEN flag_id % 2 = 0 THEN 'amy' ELSE 'bob' END,
               CASE WHEN flag_id % 3 = 0 THEN 'dismiss' ELSE 'accept' END,
               CASE WHEN flag_id % 3 = 0 THEN 'image_finding_wrong' ELSE NULL END, NULL, now()
        FROM flags WHERE hash(flag_id) % 1000 < ?
        """,
        [int(decided_fraction * 1000)],
    )
    started = time.perf_counter()
    store.transaction("refresh case summaries", refresh_all_summaries)
    timings["case_summary"] = time.perf_counter() - started
    return timings


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def describe(samples: list[float]) -> str:
    median, high = statistics.median(samples), max(samples)
    return f"median {median:7.1f} ms   p95 {p95(samples):7.1f} ms   max {high:7.1f} ms"


def bench_worklist(store: Store) -> None:
    print("worklist page of 50 rows (target ≤ 50 ms):")
    for name, query in QUERIES.items():
        worklist_page(store, query)  # warm
        page = worklist_page(store, query)
        samples = timed(lambda q=query: worklist_page(store, q), 20)
        print(f"  {name:42s} {describe(samples)}   ({page.total:,} match)")
    started = time.perf_counter()
    neighbour_case(store, "case-050000", WorklistQuery(status="audited"))
    print(f"  next case in a filtered list             {(time.perf_counter() - started) * 1000:7.1f} ms")


def bench_decisions(store: Store, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    row = store.query_df("SELECT min(flag_id) AS lo, max(flag_id) AS hi FROM flags").iloc[0]
    flag_ids = rng.integers(int(row.lo), int(row.hi) + 1, size=n)
    store.decisions.record(int(flag_ids[0]), "bench", "accept")
    samples: list[float] = []
    for flag_id in flag_ids:
        started = time.perf_counter()
        store.decisions.record(int(flag_id), "bench", "dismiss", reason_code="other", note="bench")
        samples.append((time.perf_counter() - started) * 1000)
    print(f"record one decision (target p95 ≤ 20 ms), {n} decisions:\n  {describe(samples)}")


def bench_export(store: Store, folder: Path) -> None:
    n = int(store.query_df("SELECT count(*) AS n FROM decisions").iloc[0].n)
    print(f"export all decisions ({n:,} decisions; target ≤ 5 s):")
    for fmt in EXPORT_FORMATS:
        started = time.perf_counter()
        summary = write_export(store, fmt, folder / f"export.{fmt}")
        seconds = time.perf_counter() - started
        size = (folder / f"export.{fmt}").stat().st_size / 1e6
        print(f"  {fmt:8s} {seconds:6.2f} s   {summary.rows:,} rows   {size:,.1f} MB")


def bench_import(folder: Path) -> None:
    images, boxes, labels = SHARED_DATA / "images", SHARED_DATA / "boxes.csv", SHARED_DATA / "labels.csv"
    if not images.is_dir():
        print(f"import of the shared NIH images: skipped ({images} not found)")
        return
    with Store.open(folder / "nih.duckdb", idle_release_s=0) as store:
        summary = import_nih(store, images, boxes, labels)
        again = import_nih(store, images, boxes, labels)
    print("import of the shared NIH images (target ≤ 60 s):")
    print(
        f"  first import  {summary.seconds:6.1f} s   {summary.imported:,} cases, "
        f"{summary.findings:,} findings"
    )
    print(
        f"  re-import     {again.seconds:6.1f} s   {again.imported:,} new, {again.updated:,} already present"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--flags", type=int, default=500_000)
    parser.add_argument("--decided", type=float, default=0.6, help="fraction of flags with a decision")
    parser.add_argument("--decisions", type=int, default=200, help="decisions to time one by one")
    parser.add_argument("--keep", type=Path, default=None, help="write the database here and keep it")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="cxr-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"CPU cores: {os.cpu_count()}; database: {folder / 'bench.duckdb'}")
        with Store.open(folder / "bench.duckdb") as store:
            if store.cases.count() == 0:
                started = time.perf_counter()
                steps = bulk_load(store, args.cases, args.flags, args.decided)
                total = time.perf_counter() - started
                detail = ", ".join(f"{k} {v:.2f} s" for k, v in steps.items())
                print(f"bulk load: {total:.1f} s ({detail})")
            stats = store.stats()
            print(f"rows: {stats.cases:,} cases, {stats.flags:,} flags, {stats.decisions:,} decisions")
            bench_worklist(store)
            bench_decisions(store, args.decisions, seed=0)
            bench_export(store, folder)
        if not args.skip_import:
            bench_import(folder)


if __name__ == "__main__":
    main()
