"""A run's summary as Markdown tables; each table states its N and its failures."""

from __future__ import annotations

from audit.evaluate.summary import EvalSummary
from audit.metrics import Figure


def _row(name: str, *figures: Figure) -> str:
    return f"| {name} | " + " | ".join(figure.short() for figure in figures) + " |"


def summary_markdown(summary: EvalSummary, title: str | None = None, level: int = 2) -> str:
    """The summary as Markdown tables, headed at ``level``; each table states its N and its failures."""
    config = summary.config
    h, sub = "#" * level, "#" * (level + 1)
    audit_coverage = summary.audit.per_type["MISSING"].recall.coverage()
    lines = [
        f"{h} {title or f'Evaluation: grounder `{config.grounder}`, parser `{config.parser}`'}",
        "",
        f"Seed {config.seed}; corruptions {', '.join(config.corruptions)}; {summary.n_cases:,} cases, "
        f"{summary.n_input:,} drafts: **{summary.coverage()}**.",
        "Figures are value [bootstrap 95% interval, cases resampled] (numerator/denominator).",
        "",
        "| corruption | drafts | applied | not applicable |",
        "|---|---|---|---|",
        *(
            f"| {c.corruption} | {c.n:,} | {c.applicable:,} | {c.not_applicable:,} |"
            for c in summary.corruptions
        ),
        "",
        f"{sub} Audit flags against the expected flags ({audit_coverage})",
        "",
        "| flag type | precision | recall |",
        "|---|---|---|",
        *(_row(flag_type, m.precision, m.recall) for flag_type, m in summary.audit.per_type.items()),
        "",
        "| urgent label | URGENT recall |",
        "|---|---|",
        *(_row(label, figure) for label, figure in summary.audit.urgent_recall.items()),
    ]
    grounding = summary.grounding
    lines += [
        "",
        f"{sub} Grounder against the reference, one row per case ({grounding.box_hit_rate_50.coverage()})",
        "",
        "| label | precision | recall | F1 |",
        "|---|---|---|---|",
        *(_row(label, p.precision, p.recall, p.f1) for label, p in grounding.presence.items()),
        _row("macro (labels defined)", grounding.macro_precision, grounding.macro_recall, grounding.macro_f1),
        "",
        "| box figure | value |",
        "|---|---|",
        _row("hit rate @ IoU ≥ 0.5 (reference boxes)", grounding.box_hit_rate_50),
        _row("hit rate @ IoU ≥ 0.3 (reference boxes)", grounding.box_hit_rate_30),
        _row("precision @ IoU ≥ 0.5 (predicted boxes)", grounding.box_precision_50),
        _row("mean IoU of matched boxes (sum/pairs)", grounding.mean_iou),
        "",
        f"{sub} Parser reading vs what the draft says",
        "",
        f"{summary.n_samples_misread:,} of {summary.n_input:,} drafts hold a sentence "
        "the parser read otherwise.",
    ]
    if summary.misreads:
        lines += ["", "| count | misread |", "|---|---|"]
        lines += [f"| {m.count:,} | {m.text.replace('|', '/')} |" for m in summary.misreads]
    if summary.failed:
        lines += ["", f"{sub} Failed items ({summary.n_failed:,})", ""]
        lines += [f"- `{item.sample_id}`: {item.reason}" for item in summary.failed]
    return "\n".join(lines) + "\n"
