"""``report_eval.md``: the evaluation as tables, generators side by side, every figure with its N."""

from __future__ import annotations

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from audit.report_eval.document import (
    Difference,
    Feedback,
    FlagRate,
    Interval,
    LabelScores,
    MacroScore,
    ReportEvaluation,
)
from audit.report_eval.figures import PATHOLOGY_FIGURES
from audit.report_eval.records import RATED_FLAGS

FAILURES_LISTED = 20
_NAMES = {"precision": "precision", "recall": "recall", "f1": "F1", "accuracy": "accuracy"}
_DIFFERENCES_SHOWN = (
    *(f"macro_{figure}" for figure in PATHOLOGY_FIGURES),
    *(f"pathology.{label}.f1" for label in FINDING_LABELS),
    *(f"flag_rates.{name}" for name in (*RATED_FLAGS, "URGENT")),
)


def value_text(value: float | None, ci: Interval, basis: str) -> str:
    """'0.985 [0.970, 0.995] (197/200)' or 'n/a (0/0)'."""
    if value is None:
        return f"n/a {basis}"
    low, high = ci
    bounds = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{value:.3f}{bounds} {basis}"


def label_cell(scores: LabelScores, figure: str) -> str:
    fractions = {
        "precision": (scores.tp, scores.tp + scores.fp),
        "recall": (scores.tp, scores.tp + scores.fn),
        "f1": (2 * scores.tp, 2 * scores.tp + scores.fp + scores.fn),
        "accuracy": (scores.tp + scores.tn, scores.n_cases),
    }
    numerator, denominator = fractions[figure]
    text = value_text(getattr(scores, figure), scores.ci[figure], f"({numerator:,}/{denominator:,})")
    return text + (" †" if scores.directional else "")


def macro_cell(score: MacroScore) -> str:
    return value_text(score.value, score.ci, f"({score.labels} label{'' if score.labels == 1 else 's'})")


def rate_cell(rate: FlagRate) -> str:
    return value_text(rate.rate, rate.ci, f"({rate.cases:,}/{rate.of:,})")


def feedback_text(feedback: Feedback | None) -> str:
    """Reviewers' accepted-flag rate, '0.667 (2/3)' accepted of decided, or why there is none yet."""
    if feedback is None or feedback.decisions == 0:
        return "no decisions yet"
    basis = f"({feedback.accepted:,}/{feedback.decisions:,})"
    return value_text(feedback.accepted_flag_rate, (None, None), basis)


def _difference_row(diff: Difference) -> str:
    name = diff.figure.replace("pathology.", "").replace(".", " · ")
    if diff.difference is None:
        shown = "n/a"
    else:
        low, high = diff.ci
        shown = f"{diff.difference:+.3f}" + (f" [{low:+.3f}, {high:+.3f}]" if low is not None else "")
    return f"| {name} | {diff.later} − {diff.earlier} | {shown} | {diff.cases:,} |"


def render_markdown(evaluation: ReportEvaluation) -> str:
    generators = evaluation.generators
    names = list(generators)
    failed_as = "scored as silence" if evaluation.failed_as == "silence" else "left out of the figures"
    source = f", reference boxes from sources containing {evaluation.reference_source!r}"
    lines = [
        "# Report generators against the expert boxes",
        "",
        f"> {evaluation.disclaimer}",
        "",
        f"{evaluation.cases:,} cases{source if evaluation.reference_source else ''}; reports read by the "
        f"`{evaluation.parser}` parser and judged by the comparator against the `{evaluation.grounder}` "
        f"grounder; failed or missing reports {failed_as}; 95% intervals from "
        f"{evaluation.bootstrap_reps:,} bootstrap replicates of the cases (seed {evaluation.seed}); "
        f"† = directional (fewer than {evaluation.directional_below} positives).",
        "",
        "| generator | cases | scored | failed | no report | recovered | accepted flags (reviewers) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, scores in generators.items():
        lines.append(
            f"| {name} | {scores.cases:,} | {scores.scored:,} | {scores.failed:,} | {scores.not_generated:,} "
            f"| {scores.recovered:,} | {feedback_text(scores.reviewer_feedback)} |"
        )
    header = ["", "| figure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += ["", "## Pathology (rules parser on the report vs reference labels, per case)", *header]
    for label in FINDING_LABELS:
        for figure in PATHOLOGY_FIGURES:
            cells = [label_cell(generators[name].pathology[label], figure) for name in names]
            lines.append(f"| {DISPLAY_NAMES[label]} · {_NAMES[figure]} | " + " | ".join(cells) + " |")
    for figure in PATHOLOGY_FIGURES:
        cells = [macro_cell(generators[name].macro[figure]) for name in names]
        lines.append(f"| **macro {_NAMES[figure]}** | " + " | ".join(cells) + " |")
    lines += ["", "## Flags per case (the comparator's)", *header]
    for flag_type in RATED_FLAGS:
        cells = [rate_cell(generators[name].flag_counts[flag_type]) for name in names]
        lines.append(f"| cases with {flag_type} | " + " | ".join(cells) + " |")
    cells = [rate_cell(generators[name].flag_counts["URGENT"]) for name in names]
    lines.append("| urgent finding omitted or denied | " + " | ".join(cells) + " |")
    shown = [diff for diff in evaluation.differences if diff.figure in _DIFFERENCES_SHOWN]
    if shown:
        lines += ["", "## Paired differences on shared cases (later − earlier, bootstrap 95% interval)", ""]
        lines += ["| figure | generators | difference | cases |", "|---|---|---|---|"]
        lines += [_difference_row(diff) for diff in shown]
        lines += ["", "Every figure's difference is in `report_eval.json` (`differences`)."]
    for name, scores in generators.items():
        if not scores.failures:
            continue
        lines += ["", f"## Failures of {name} ({scores.failed:,})", ""]
        lines += [f"- `{f.case_id}`: {' '.join(f.reason.split())}" for f in scores.failures[:FAILURES_LISTED]]
        if scores.failed > FAILURES_LISTED:
            lines.append(f"- ... and {scores.failed - FAILURES_LISTED:,} more in `report_eval.json`")
    return "\n".join(lines) + "\n"
