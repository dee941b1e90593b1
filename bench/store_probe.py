"""One timing pass over a prepared store, printed as JSON: the worklist pages of ``bench.store`` and
single decisions. ``bench.regression`` runs this file's source in each tree it compares (the
current one and an older commit), so it speaks both store APIs: the record families of today
and the one flat ``Store`` class before issue 14.

``python -c "$(cat bench/store_probe.py)" DB [--repeat N] [--decisions N] [--seed N]``
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from data.records import WorklistQuery
from data.store import Store

QUERIES: dict[str, WorklistQuery] = {
    "first page, no filter": WorklistQuery(),
    "status=audited, flag=MISSING, page 20": WorklistQuery(status="audited", flag_type="MISSING", page=20),
    "label=pneumothorax, source=nih, page 100": WorklistQuery(label="pneumothorax", source="nih", page=100),
    "reviewer=amy, sort=recent": WorklistQuery(reviewer="amy", sort="recent"),
    "search '0420'": WorklistQuery(search="0420"),
    "not audited, last page": WorklistQuery(status="not_audited", page=399),
}


def _api(store: Store) -> tuple[Callable[[WorklistQuery], Any], Callable[[int], Any]]:
    """The worklist page and the decision write of whichever store API this tree has."""
    try:
        from data.worklist import worklist_page
    except ImportError:  # before issue 14: one Store class with flat methods
        old: Any = store
        return old.worklist, lambda flag_id: old.record_decision(
            flag_id, "bench", "dismiss", reason_code="other", note="bench"
        )
    return lambda query: worklist_page(store, query), lambda flag_id: store.decisions.record(
        flag_id, "bench", "dismiss", reason_code="other", note="bench"
    )


def _ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db")
    parser.add_argument("--repeat", type=int, default=20, help="timed pages per worklist query")
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="picks the flags decided")
    args = parser.parse_args(argv)
    with Store.open(args.db) as store:
        page, decide = _api(store)
        worklist: dict[str, list[float]] = {}
        for name, query in QUERIES.items():
            page(query)  # warm
            worklist[name] = [_ms(lambda q=query: page(q)) for _ in range(args.repeat)]
        bounds = store.query_df("SELECT min(flag_id) AS lo, max(flag_id) AS hi FROM flags").iloc[0]
        rng = np.random.default_rng(args.seed)
        flag_ids = [int(f) for f in rng.integers(int(bounds.lo), int(bounds.hi) + 1, size=args.decisions + 1)]
        decide(flag_ids[0])  # warm
        decisions = [_ms(lambda f=flag_id: decide(f)) for flag_id in flag_ids[1:]]
    print(json.dumps({"worklist": worklist, "decision": decisions}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
