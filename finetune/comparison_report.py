"""``comparison.json`` and ``comparison.md``: a comparison of grounders as data and as a table."""

from __future__ import annotations

import json
from pathlib import Path

from finetune.comparison import Comparison, Value

JSON_FILE = "comparison.json"
MARKDOWN_FILE = "comparison.md"
DISCLAIMER = "Research and education only: these figures describe grounders on held-out data, not patients."


def figure_text(value: Value, interval: bool = True) -> str:
    """'0.531 [0.45, 0.61] (45/85)', the fraction a count of items, or '(N 34)' where it is not
    (a mean of F1 values or of IoUs); ' †' when the figure rests on fewer than 20 items."""
    whole = float(value.numerator).is_integer() and float(value.denominator).is_integer()
    basis = f"({value.numerator:g}/{value.denominator:g})" if whole else f"(N {value.n:,})"
    if value.value is None:
        text = f"n/a {basis}"
    else:
        bounds = (
            f" [{value.ci_low:.3f}, {value.ci_high:.3f}]" if interval and value.ci_low is not None else ""
        )
        text = f"{value.value:.3f}{bounds} {basis}"
    return text + (" †" if value.directional else "")


def _rows(comparison: Comparison) -> list[tuple[str, list[Value]]]:
    runs = list(comparison.runs.values())
    first = runs[0]
    rows: list[tuple[str, list[Value]]] = []
    for label in first.presence_f1:
        rows.append((f"presence F1 · {label}", [run.presence_f1[label] for run in runs]))
    rows.append(("presence macro-F1", [run.presence_macro_f1 for run in runs]))
    for threshold in first.box_hit_rate:
        rows.append((f"box hit rate @ IoU {threshold}", [run.box_hit_rate[threshold] for run in runs]))
        rows.append((f"box precision @ IoU {threshold}", [run.box_precision[threshold] for run in runs]))
    rows.append(("mean IoU of matched boxes", [run.mean_iou for run in runs]))
    for label in first.urgent_recall:
        rows.append((f"urgent recall · {label}", [run.urgent_recall[label] for run in runs]))
    return rows


def _coverage(comparison: Comparison) -> str:
    text = f"{comparison.cases:,} cases"
    if comparison.reference_source:
        text += f", reference boxes from sources containing {comparison.reference_source!r}"
    return (
        text + f"; 95% intervals from {comparison.bootstrap_reps:,} bootstrap replicates "
        f"(seed {comparison.seed}); † = directional (N < {comparison.directional_below})."
    )


def render_markdown(comparison: Comparison) -> str:
    names = list(comparison.runs)
    lines = [
        "# Grounder comparison",
        "",
        f"> {DISCLAIMER}",
        "",
        _coverage(comparison),
        "",
        "| run | scored | failed | parse failures | not grounded | recovered | failed cases are |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run in comparison.runs.items():
        lines.append(
            f"| {name} | {run.scored:,} | {run.failed:,} | {run.parse_failures:,} | {run.not_grounded:,} "
            f"| {run.recovered:,} | {'scored as silence' if run.failed_as == 'silence' else 'excluded'} |"
        )
    lines += ["", "| figure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for title, values in _rows(comparison):
        lines.append(f"| {title} | " + " | ".join(figure_text(v) for v in values) + " |")
    if comparison.differences:
        lines += ["", "## Differences (later − earlier, paired bootstrap 95% interval)", ""]
        lines += ["| figure | runs | difference | 95% interval | N |", "|---|---|---|---|---|"]
        for diff in comparison.differences:
            if diff.difference is None and diff.ci_low is None:
                continue  # undefined in both runs (no item to score): listed in comparison.json only
            if diff.difference is None:
                value, interval = "n/a", ""
            else:
                value = f"{diff.difference:+.3f}"
                interval = f"[{diff.ci_low:+.3f}, {diff.ci_high:+.3f}]" if diff.ci_low is not None else ""
            mark = " †" if diff.directional else ""
            lines.append(
                f"| {diff.figure} | {diff.later} − {diff.earlier} | {value}{mark} | {interval} | {diff.n} |"
            )
    failing = [(name, run) for name, run in comparison.runs.items() if run.failures]
    if failing:
        lines += ["", "## Failures", ""]
        for name, run in failing:
            for failure in run.failures:
                lines.append(f"- {name} · {failure.case_id}: {' '.join(failure.reason.split())[:200]}")
    return "\n".join(lines) + "\n"


def write_comparison(out: Path, comparison: Comparison) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = json.loads(comparison.model_dump_json())
    (out / JSON_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out / MARKDOWN_FILE).write_text(render_markdown(comparison), encoding="utf-8")


def read_comparison(out: Path) -> Comparison:
    return Comparison.model_validate_json((out / JSON_FILE).read_text(encoding="utf-8"))
