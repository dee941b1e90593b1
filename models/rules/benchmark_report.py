"""The benchmark's printed side: per-label tables, policy variants, and where a parser fails.

Kept apart from ``benchmark`` (loading and scoring) so that each stays one concern.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from audit.labels import LABELS
from audit.protocols import DraftParser
from models.errors import BenchmarkDataError
from models.rules.benchmark import GOLDS, SPLITS, GoldReport, Scores

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_SPACES = re.compile(r"\s+")


def _phrase(text: str) -> str:
    """A span as a phrase to count: lower case, numbers as #, spaces collapsed."""
    return _SPACES.sub(" ", _DIGITS.sub("#", text.lower())).strip()


def failure_report(
    parser: DraftParser, reports: Sequence[GoldReport], golds: Sequence[str] = GOLDS, top: int = 3
) -> str:
    """Per gold and label, the commonest false positives (the phrase read as present, and the
    rule that read it) and false negatives (what the parser made of the report instead: the
    status and deciding rule, or "not mentioned"). Meant for the ``dev`` split: it quotes
    report text, so it must never be given the test split."""
    if any(report.split == SPLITS["test"] for report in reports):
        raise BenchmarkDataError("failure_report quotes report text: give it development reports only")
    readings = [(report, parser.parse(report.draft)) for report in reports if report.draft]
    lines = [f"== where {parser.name} fails and why (dev split, {len(readings)} reports; top {top}) =="]
    for gold in golds:
        lines.append(f"-- gold: {gold}")
        for label in LABELS:
            false_pos: Counter[str] = Counter()
            false_neg: Counter[str] = Counter()
            for report, reading in readings:
                truths = report.labels(gold)
                if truths is None:
                    continue
                item = reading.get(label)
                present = item is not None and item.status == "present"
                if present and label not in truths and item is not None:
                    false_pos[f'"{_phrase(item.span)}" [{(item.rule_id or "").split("|")[0]}]'] += 1
                elif label in truths and not present:
                    why = "not mentioned" if item is None else f"{item.status} [{item.rule_id}]"
                    false_neg[why] += 1
            if not false_pos and not false_neg:
                continue
            lines.append(f"{label}: {sum(false_pos.values())} FP, {sum(false_neg.values())} FN")
            if false_pos:
                lines.append("  FP: " + "; ".join(f"{key} x{n}" for key, n in false_pos.most_common(top)))
            if false_neg:
                lines.append("  FN: " + "; ".join(f"{key} x{n}" for key, n in false_neg.most_common(top)))
    return "\n".join(lines)


def _cell(value: float) -> str:
    return "  n/a" if math.isnan(value) else f"{value:.3f}"


def format_table(scores: Sequence[Scores]) -> str:
    """A plain-text table: per label P/R/F1 (strict, then lenient F1) for each parser side by side."""
    lines: list[str] = []
    by_split: dict[tuple[str, str], list[Scores]] = {}
    for item in scores:
        by_split.setdefault((item.split, item.gold), []).append(item)
    for (split, gold), items in by_split.items():
        lines.append(f"== split: {split} ==" if gold == "negbio" else f"== split: {split} (gold: {gold}) ==")
        for item in items:
            lines.append(
                f"{item.parser}: {item.scored} reports scored, {item.skipped} skipped"
                " (no findings/impression),"
                f" {item.failed} failed parses"
            )
        header = f"{'label':<17}" + "".join(
            f" | {item.parser:>8} P     R     F1   F1(unc+)" for item in items
        )
        lines.append(header)
        for label in LABELS:
            row = f"{label:<17}"
            for item in items:
                strict, lenient = item.strict[label], item.lenient[label]
                row += (
                    f" | {strict.tp + strict.fn:>4}pos {_cell(strict.precision)} {_cell(strict.recall)}"
                    f" {_cell(strict.f1)} {_cell(lenient.f1)}"
                )
            lines.append(row)
        row = f"{'macro-F1 (5)':<17}"
        for item in items:
            row += f" | {'':>7} {'':5} {'':5} {_cell(item.macro_f1())} {_cell(item.macro_f1(lenient=True))}"
        lines.append(row)
        for item in items:
            if item.speed is not None:
                lines.append(
                    f"throughput {item.parser}: {item.speed.best:,.0f} drafts/s, best of {item.speed.passes} "
                    f"passes (median {item.speed.median:,.0f}; one core, CPU time)"
                )
        lines.append("")
    lines.append(
        "F1 = uncertain counted as negative; F1(unc+) = uncertain counted as positive. "
        "Targets (issue 16, test split, rules): against the MeSH coding macro-F1 >= 0.92, no finding "
        "label below 0.85, no_finding >= 0.93; against NegBio macro-F1 >= 0.785; >= 5,000 drafts/s "
        "on one core."
    )
    return "\n".join(lines)


def format_variants(primary: Sequence[Scores], variants: Sequence[Scores], label: str) -> str:
    """One line per split and gold: macro-F1 (strict, unc+) and ``label``'s P/R/F1 for the
    primary parser and for each variant scored the same way, side by side."""
    lines = [f"{'split':<5} {'gold':<7} {'parser':<28} {'macro-F1':>8} {'unc+':>6}   {label} P / R / F1"]
    for item in [*primary, *variants]:
        counts = item.strict[label]
        lines.append(
            f"{item.split:<5} {item.gold:<7} {item.parser:<28} {_cell(item.macro_f1()):>8} "
            f"{_cell(item.macro_f1(lenient=True)):>6}   {_cell(counts.precision)} / {_cell(counts.recall)} / "
            f"{_cell(counts.f1)}"
        )
    return "\n".join(lines)


def format_summary(scores: Sequence[Scores]) -> str:
    """One line per parser and split: reports scored and skipped, macro-F1 (strict, unc+) and
    no_finding F1."""
    return "\n".join(
        f"{item.split:<5} {item.gold:<15} {item.parser:<10} {item.scored:>5} scored "
        f"{item.skipped:>3} skipped  "
        f"macro-F1 {_cell(item.macro_f1())} (unc+ {_cell(item.macro_f1(lenient=True))})  "
        f"no_finding {_cell(item.strict['no_finding'].f1)}"
        for item in scores
    )
