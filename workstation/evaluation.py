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
from data.store import Store
from finetune.comparison import Value
from finetune.comparison_report import figure_text

_CURRENT = """
    SELECT d.flag_id, d.reviewer, d.decision, d.reason_code, f.type AS flag_type, f.label,
           r.grounder, r.parser
    FROM decisions d
    JOIN flags f ON f.flag_id = d.flag_id
    JOIN audit_runs r ON r.run_id = d.run_id
    QUALIFY row_number() OVER (PARTITION BY d.flag_id, d.reviewer ORDER BY d.decision_id DESC) = 1
"""


def _rate(frame: pd.DataFrame, numerator: str, denominator: str) -> pd.Series:
    return frame[numerator] / frame[denominator].where(frame[denominator] > 0)


def acceptance(store: Store, by: str) -> pd.DataFrame:
    """Per ``flag_type`` or ``label``: flags in the latest audits, decisions, accepted, dismissed, rate."""
    if by not in ("flag_type", "label"):
        raise ValueError(f"acceptance is grouped by flag_type or label, not {by!r}")
    column = "type" if by == "flag_type" else "label"
    frame = store.query_df(
        f"""
        WITH cur AS ({_CURRENT}),
        latest AS (
            SELECT f.{column} AS key, count(*) AS flags FROM flags f
            JOIN case_summary s ON s.latest_run_id = f.run_id GROUP BY 1
        ),
        dec AS (
            SELECT {by} AS key, count(*) AS decisions,
                   count(*) FILTER (WHERE decision = 'accept') AS accepted,
                   count(*) FILTER (WHERE decision = 'dismiss') AS dismissed
            FROM cur GROUP BY 1
        )
        SELECT coalesce(latest.key, dec.key) AS {by}, coalesce(latest.flags, 0) AS latest_flags,
               coalesce(dec.decisions, 0) AS decisions, coalesce(dec.accepted, 0) AS accepted,
               coalesce(dec.dismissed, 0) AS dismissed
        FROM latest FULL OUTER JOIN dec ON latest.key = dec.key
        ORDER BY 1
        """
    )
    frame["acceptance_rate"] = _rate(frame, "accepted", "decisions")
    return frame


def dismissal_reasons(store: Store) -> pd.DataFrame:
    """Current dismissals per reason code (``no reason given`` counted, not dropped)."""
    frame = store.query_df(
        f"SELECT coalesce(reason_code, '') AS reason_code, count(*) AS dismissals FROM ({_CURRENT}) "
        "WHERE decision = 'dismiss' GROUP BY 1 ORDER BY 2 DESC, 1"
    )
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
    summary = store.query_df(
        f"""
        SELECT count(*) AS flags, count(*) FILTER (WHERE n_decisions = 1) AS agree FROM (
            SELECT flag_id, count(DISTINCT decision) AS n_decisions FROM ({_CURRENT})
            GROUP BY flag_id HAVING count(*) >= 2
        )
        """
    )
    pairs = store.query_df(
        f"""
        WITH cur AS ({_CURRENT})
        SELECT a.reviewer AS reviewer_a, b.reviewer AS reviewer_b, count(*) AS shared_flags,
               count(*) FILTER (WHERE a.decision = b.decision) AS agreed,
               count(*) FILTER (WHERE a.decision = 'accept' AND b.decision = 'accept') AS both_accept,
               count(*) FILTER (WHERE a.decision = 'dismiss' AND b.decision = 'dismiss') AS both_dismiss,
               count(*) FILTER (WHERE a.decision = 'accept') AS a_accepts,
               count(*) FILTER (WHERE b.decision = 'accept') AS b_accepts
        FROM cur a JOIN cur b ON a.flag_id = b.flag_id AND a.reviewer < b.reviewer
        GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
    pairs["agreement"] = _rate(pairs, "agreed", "shared_flags")
    pairs["kappa"] = [
        _kappa(
            int(r.both_accept), int(r.both_dismiss), int(r.a_accepts), int(r.b_accepts), int(r.shared_flags)
        )
        for r in pairs.itertuples()
    ]
    row = summary.iloc[0]
    return Agreement(
        flags_with_several_reviewers=int(row["flags"]),
        flags_all_agree=int(row["agree"] or 0),
        pairs=pairs[["reviewer_a", "reviewer_b", "shared_flags", "agreed", "agreement", "kappa"]],
    )


def backends(store: Store) -> pd.DataFrame:
    """Per (grounder, parser): runs, modes, parse and grounding outcomes, flags, decisions, acceptance."""
    frame = store.query_df(
        f"""
        WITH runs AS (
            SELECT coalesce(grounder, '?') AS grounder, coalesce(parser, '?') AS parser, count(*) AS runs,
                   count(*) FILTER (WHERE mode = 'full') AS full_audits,
                   count(*) FILTER (WHERE mode = 'image_only') AS image_only,
                   count(*) FILTER (WHERE mode = 'draft_only') AS draft_only,
                   count(*) FILTER (WHERE draft_outcome = 'failed') AS failed_parses,
                   count(*) FILTER (WHERE draft_outcome = 'recovered') AS recovered_parses,
                   count(*) FILTER (WHERE image_outcome = 'failed') AS failed_groundings,
                   count(*) FILTER (WHERE image_outcome = 'recovered') AS recovered_groundings
            FROM audit_runs GROUP BY 1, 2
        ),
        fl AS (
            SELECT coalesce(r.grounder, '?') AS grounder, coalesce(r.parser, '?') AS parser, count(*) AS flags
            FROM flags f JOIN audit_runs r ON r.run_id = f.run_id GROUP BY 1, 2
        ),
        dec AS (
            SELECT coalesce(grounder, '?') AS grounder, coalesce(parser, '?') AS parser,
                   count(*) AS decisions, count(*) FILTER (WHERE decision = 'accept') AS accepted
            FROM ({_CURRENT}) GROUP BY 1, 2
        )
        SELECT runs.*, coalesce(fl.flags, 0) AS flags, coalesce(dec.decisions, 0) AS decisions,
               coalesce(dec.accepted, 0) AS accepted
        FROM runs LEFT JOIN fl USING (grounder, parser) LEFT JOIN dec USING (grounder, parser)
        ORDER BY runs DESC, grounder, parser
        """
    )
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
        for run in store.eval_runs()
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
