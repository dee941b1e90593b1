"""Stored report-generator evaluations as the Evaluation page shows them, without Streamlit:
one table with the generators side by side (every figure with the fraction it came from), the
reviewers' accepted-flag rate now, and the paired differences."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from audit.report_eval import Feedback, ReportEvaluation
from audit.report_eval.markdown import feedback_text, label_cell, macro_cell, rate_cell
from audit.report_eval.records import RATED_FLAGS
from data.records import ReportEvaluationRecord
from workstation.text import md

_FIGURE_NAMES = {"precision": "precision", "recall": "recall", "f1": "F1", "accuracy": "accuracy"}
MACRO_ORDER = ("f1", "recall", "precision", "accuracy")  # the headline first


def evaluation_of(record: ReportEvaluationRecord) -> ReportEvaluation:
    return ReportEvaluation.model_validate(record.evaluation)


def side_by_side(evaluation: ReportEvaluation, feedback_now: Mapping[str, Feedback]) -> list[dict[str, Any]]:
    """One row per figure, one column per generator, in the order the evaluation scored them."""
    generators = evaluation.generators
    rows: list[dict[str, Any]] = []

    def add(figure: str, cells: Mapping[str, str]) -> None:
        rows.append({"figure": figure, **cells})

    add(
        "cases (scored / failed)",
        {n: f"{g.cases:,} ({g.scored:,} / {g.failed:,})" for n, g in generators.items()},
    )
    for figure in MACRO_ORDER:
        add(f"macro {_FIGURE_NAMES[figure]}", {n: macro_cell(g.macro[figure]) for n, g in generators.items()})
    for label in FINDING_LABELS:
        for figure in ("f1", "recall", "precision"):
            add(
                f"{DISPLAY_NAMES[label]} · {_FIGURE_NAMES[figure]}",
                {n: label_cell(g.pathology[label], figure) for n, g in generators.items()},
            )
    for flag_type in RATED_FLAGS:
        add(
            f"cases with {flag_type}", {n: rate_cell(g.flag_counts[flag_type]) for n, g in generators.items()}
        )
    add(
        "urgent finding omitted or denied",
        {n: rate_cell(g.flag_counts["URGENT"]) for n, g in generators.items()},
    )
    add(
        "accepted flags (at evaluation)",
        {n: feedback_text(g.reviewer_feedback) for n, g in generators.items()},
    )
    add("accepted flags (now)", {n: feedback_text(feedback_now.get(n)) for n in generators})
    return rows


def difference_rows(evaluation: ReportEvaluation) -> list[dict[str, Any]]:
    """The paired differences that are defined, later minus earlier, with their intervals and N."""
    rows = []
    for diff in evaluation.differences:
        if diff.difference is None:
            continue
        low, high = diff.ci
        rows.append(
            {
                "figure": diff.figure.replace("pathology.", "").replace(".", " · "),
                "generators": f"{diff.later} − {diff.earlier}",
                "difference": f"{diff.difference:+.3f}",
                "95% interval": f"[{low:+.3f}, {high:+.3f}]" if low is not None and high is not None else "",
                "shared cases": diff.cases,
            }
        )
    return rows


def caption(evaluation: ReportEvaluation) -> str:
    """The evaluation's settings as Markdown (the values a researcher typed escaped)."""
    failed_as = "scored as silence" if evaluation.failed_as == "silence" else "left out"
    reference = evaluation.reference_source
    source = f", reference boxes from {md(reference)}" if reference else ""
    return (
        f"{evaluation.cases:,} cases{source}; reports read by the {md(evaluation.parser)} parser, judged "
        f"by the comparator; failed or missing reports {failed_as}; 95% intervals from "
        f"{evaluation.bootstrap_reps:,} bootstrap replicates; "
        f"† = fewer than {evaluation.directional_below} positives."
    )
