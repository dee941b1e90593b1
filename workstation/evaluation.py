"""What reviewers' decisions say about the auditor: acceptance per flag type and label (a proxy
for precision), dismissal reasons, agreement between reviewers, and each backend pair's runs
with their parse outcomes. Every rate comes with the counts it was computed from; an empty
denominator gives NaN, never an error.

A decision here is the *current* one per (flag, reviewer): decisions are append-only and
the newest counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from audit.metrics import ratio
from data.records import REASON_CODE_NAMES, ComparisonRecord
from data.review_stats import (
    AcceptanceKey,
    acceptance_counts,
    agreement_counts,
    backend_counts,
    dismissal_counts,
    reviewer_pairs,
)
from data.store import Store
from finetune.comparison import Value
from finetune.comparison_report import figure_text


def _rate(frame: pd.DataFrame, numerator: str, denominator: str) -> pd.Series:
    return frame[numerator] / frame[denominator].where(frame[denominator] > 0)


def acceptance(store: Store, by: AcceptanceKey) -> pd.DataFrame:
    """Per ``flag_type`` or ``label``: flags in the latest audits, decisions, accepted, dismissed, rate."""
    frame = acceptance_counts(store, by)
    frame["acceptance_rate"] = _rate(frame, "accepted", "decisions")
    return frame


def dismissal_reasons(store: Store) -> pd.DataFrame:
    """Current dismissals per reason code (``no reason given`` counted, not dropped)."""
    frame = dismissal_counts(store)
    frame["reason"] = [REASON_CODE_NAMES.get(code, "no reason given") for code in frame["reason_code"]]  # type: ignore[call-overload]
    return frame[["reason", "dismissals"]]


@dataclass(frozen=True)
class Agreement:
    """Flags decided by two or more reviewers, how many got the same decision from all, and pairs."""

    flags_with_several_reviewers: int
    flags_all_agree: int
    pairs: pd.DataFrame  # reviewer_a, reviewer_b, shared_flags, agreed, agreement, kappa

    @property
    def rate(self) -> float:
        return ratio(self.flags_all_agree, self.flags_with_several_reviewers)


def _kappa(both_accept: int, both_dismiss: int, a_accepts: int, b_accepts: int, shared: int) -> float:
    """Cohen's kappa for two reviewers' accept/dismiss on their shared flags (NaN when undefined)."""
    if shared == 0:
        return float("nan")
    observed = (both_accept + both_dismiss) / shared
    pa, pb = a_accepts / shared, b_accepts / shared
    expected = pa * pb + (1 - pa) * (1 - pb)
    return ratio(observed - expected, 1 - expected)


def agreement(store: Store) -> Agreement:
    counts = agreement_counts(store)
    pairs = reviewer_pairs(store)
    pairs["agreement"] = _rate(pairs, "agreed", "shared_flags")
    pairs["kappa"] = [
        _kappa(
            int(r.both_accept), int(r.both_dismiss), int(r.a_accepts), int(r.b_accepts), int(r.shared_flags)
        )
        for r in pairs.itertuples()
    ]
    return Agreement(
        flags_with_several_reviewers=counts.flags_with_several_reviewers,
        flags_all_agree=counts.flags_all_agree,
        pairs=pairs[["reviewer_a", "reviewer_b", "shared_flags", "agreed", "agreement", "kappa"]],
    )


def backends(store: Store) -> pd.DataFrame:
    """Per (grounder, parser): runs, modes, parse and grounding outcomes, flags, decisions, acceptance."""
    frame = backend_counts(store)
    frame["acceptance_rate"] = _rate(frame, "accepted", "decisions")
    return frame


def eval_run_rows(store: Store) -> list[dict[str, Any]]:
    """Stored ``cxr-audit eval`` runs, newest first, with scored and failed counts side by side."""
    return [
        {
            "eval": run.eval_id,
            "when (UTC)": f"{run.created_at:%Y-%m-%d %H:%M}",
            "grounder": run.grounder,
            "parser": run.parser,
            "seed": run.seed,
            "items": run.n_items,
            "scored": run.n_scored,
            "failed": run.n_failed,
            "note": run.note or "",
        }
        for run in store.eval_runs.newest_first()
    ]


# The headline figures of a stored grounder comparison, one column each: (column, key path).
COMPARISON_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("presence macro-F1", ("presence_macro_f1",)),
    ("box hit @0.5", ("box_hit_rate", "0.5")),
    ("box hit @0.3", ("box_hit_rate", "0.3")),
    ("box precision @0.5", ("box_precision", "0.5")),
    ("mean IoU", ("mean_iou",)),
)


def comparison_rows(record: ComparisonRecord) -> list[dict[str, Any]]:
    """One row per run of a stored comparison: coverage, then the headline figures as text."""
    rows: list[dict[str, Any]] = []
    runs = record.comparison.get("runs", {})
    for name in record.runs:  # the order they were given in (stored JSON keeps no order)
        run = runs[name]
        row: dict[str, Any] = {
            "run": name,
            "scored": run["scored"],
            "failed": run["failed"],
            "parse failures": run["parse_failures"],
        }
        for column, path in COMPARISON_COLUMNS:
            figure: Any = run
            for key in path:
                figure = figure.get(key, {}) if isinstance(figure, dict) else {}
            row[column] = figure_text(Value.model_validate(figure), interval=False) if figure else ""
        for label, figure in run.get("urgent_recall", {}).items():
            row[f"urgent recall · {label}"] = figure_text(Value.model_validate(figure), interval=False)
        rows.append(row)
    return rows


def difference_rows(record: ComparisonRecord) -> list[dict[str, Any]]:
    """The comparison's paired differences that are defined, with their 95% intervals."""
    rows = []
    for diff in record.comparison.get("differences", []):
        if diff.get("difference") is None:
            continue
        interval = (
            f"[{diff['ci_low']:+.3f}, {diff['ci_high']:+.3f}]" if diff.get("ci_low") is not None else ""
        )
        rows.append(
            {
                "figure": diff["figure"],
                "runs": f"{diff['later']} − {diff['earlier']}",
                "difference": f"{diff['difference']:+.3f}" + (" †" if diff.get("directional") else ""),
                "95% interval": interval,
                "N": diff["n"],
            }
        )
    return rows
