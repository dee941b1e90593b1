"""Scoring a draft parser against the NegBio human gold standard on the Indiana University reports.

The data (``../shared/data/reports/iu_openi/iu_reports_with_negbio_gold_canonical.csv``) holds
each report's FINDINGS and IMPRESSION text and NegBio's gold labels mapped to the six
canonical labels (column ``lung_opacity_consolidation`` is our ``lung_opacity``). The gold
is positive-only, so a parser is scored on ``present``: "strict" counts only present as
positive, "lenient" counts uncertain as positive too. A report with neither section is
skipped and counted. The draft a parser reads is ``FINDINGS: ...`` then ``IMPRESSION: ...``.

Per-report results first (:func:`score_reports`), aggregation second (:func:`summarise`).
"""

from __future__ import annotations

import csv
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from audit.labels import FINDING_LABELS, LABELS, Label
from audit.metrics import f1, ratio
from audit.protocols import DraftParser
from audit.schema import DraftLabel, DraftReading, ParseOutcome

GOLD_FILE = Path("reports") / "iu_openi" / "iu_reports_with_negbio_gold_canonical.csv"
GOLD_COLUMNS: dict[Label, str] = {
    "pleural_effusion": "pleural_effusion",
    "pneumothorax": "pneumothorax",
    "lung_opacity": "lung_opacity_consolidation",
    "nodule_mass": "nodule_mass",
    "cardiomegaly": "cardiomegaly",
    "no_finding": "no_finding",
}
SPLITS: dict[str, str] = {"test": "test", "dev": "other"}  # our name -> the CSV's split_negbio value


class BenchmarkDataError(ValueError):
    """The gold-standard file is missing or does not have the expected columns."""


@dataclass(frozen=True)
class GoldReport:
    uid: str
    split: str
    draft: str  # empty when the report has neither FINDINGS nor IMPRESSION
    gold: frozenset[Label]


@dataclass
class LabelCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return f1(self.precision, self.recall)


@dataclass
class Scores:
    """What one parser scored on one split; ``strict`` and ``lenient`` per label."""

    parser: str
    split: str
    scored: int = 0
    skipped: int = 0
    failed: int = 0
    strict: dict[Label, LabelCounts] = field(
        default_factory=lambda: {label: LabelCounts() for label in LABELS}
    )
    lenient: dict[Label, LabelCounts] = field(
        default_factory=lambda: {label: LabelCounts() for label in LABELS}
    )
    drafts_per_second: float = math.nan

    def macro_f1(self, lenient: bool = False) -> float:
        """Mean F1 over the five finding labels (NaN if any is undefined)."""
        table = self.lenient if lenient else self.strict
        values = [table[label].f1 for label in FINDING_LABELS]
        return math.nan if any(math.isnan(v) for v in values) else sum(values) / len(values)


def compose_draft(findings: str, impression: str) -> str:
    """The draft a parser reads: the report's two sections under their headers."""
    parts = []
    if findings.strip():
        parts.append(f"FINDINGS: {findings.strip()}")
    if impression.strip():
        parts.append(f"IMPRESSION: {impression.strip()}")
    return "\n".join(parts)


def load_gold(data_dir: Path) -> list[GoldReport]:
    """Every report of the gold file, in file order."""
    path = data_dir / GOLD_FILE
    if not path.is_file():
        raise BenchmarkDataError(f"gold file not found: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        needed = {"uid", "split_negbio", "findings", "impression", *GOLD_COLUMNS.values()}
        missing = needed - set(reader.fieldnames or ())
        if missing:
            raise BenchmarkDataError(f"{path.name} lacks column(s): {', '.join(sorted(missing))}")
        return [
            GoldReport(
                uid=row["uid"],
                split=row["split_negbio"],
                draft=compose_draft(row["findings"], row["impression"]),
                gold=frozenset(label for label, column in GOLD_COLUMNS.items() if row[column].strip() == "1"),
            )
            for row in reader
        ]


def select_split(reports: Iterable[GoldReport], split: str) -> list[GoldReport]:
    """The reports of one split: ``test`` (NegBio's 771) or ``dev`` (the rest)."""
    if split not in SPLITS:
        raise BenchmarkDataError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    return [report for report in reports if report.split == SPLITS[split]]


def score_reports(parser: DraftParser, reports: Sequence[GoldReport], split: str) -> Scores:
    """Parse every report and count agreement with the gold labels. A failed parse is scored
    as silence (no label read) and counted in ``failed``, never dropped."""
    scores = Scores(parser=parser.name, split=split)
    for report in reports:
        if not report.draft:
            scores.skipped += 1
            continue
        reading = parser.parse(report.draft)
        if reading.failed:
            scores.failed += 1
        scores.scored += 1
        statuses = {item.label: item.status for item in reading.labels}
        for label in LABELS:
            truth = label in report.gold
            for table, positive in (
                (scores.strict, statuses.get(label) == "present"),
                (scores.lenient, statuses.get(label) in ("present", "uncertain")),
            ):
                counts = table[label]
                counts.tp += truth and positive
                counts.fp += positive and not truth
                counts.fn += truth and not positive
    return scores


def throughput(parse: Callable[[str], object], drafts: Sequence[str], min_seconds: float = 1.0) -> float:
    """Drafts parsed per CPU second of this single-threaded process (one core), repeating the
    set for at least ``min_seconds``. CPU time, not wall time, so that other processes on a
    shared machine do not count against the parser."""
    if not drafts:
        return math.nan
    count = 0
    started = time.process_time()
    elapsed = 0.0
    while elapsed < min_seconds:
        for draft in drafts:
            parse(draft)
        count += len(drafts)
        elapsed = time.process_time() - started
    return count / elapsed if elapsed > 0 else math.nan


# The naive baseline: keywords anywhere in the draft, no negation, no uncertainty, no
# sections. It shows what the negation and pseudo-negation rules are worth.
BASELINE_KEYWORDS: dict[Label, str] = {
    "pleural_effusion": r"effusion|pleural fluid|costophrenic",
    "pneumothorax": r"pneumothora|ptx",
    "lung_opacity": r"consolidat|airspace|air space|infiltrat|pneumonia",
    "nodule_mass": r"nodul|mass",
    "cardiomegaly": r"cardiomegaly|enlarged heart|cardiac enlargement|heart size",
    "no_finding": r"normal|no acute|no active|unremarkable",
}


class KeywordBaseline:
    """The naive keyword parser the rules are compared with: any keyword means present."""

    name = "keywords"

    def __init__(self) -> None:
        self._patterns = {
            label: re.compile(rf"\b(?:{pattern})", re.IGNORECASE)
            for label, pattern in BASELINE_KEYWORDS.items()
        }

    def parse(self, text: str) -> DraftReading:
        labels = []
        for label, pattern in self._patterns.items():
            match = pattern.search(text)
            if match:
                labels.append(
                    DraftLabel(
                        label=label,
                        status="present",
                        span=match.group(0),
                        start=match.start(),
                        end=match.end(),
                        rule_id=f"BASELINE.{label.upper()}",
                        backend=self.name,
                    )
                )
        return DraftReading(backend=self.name, text=text, labels=tuple(labels), outcome=ParseOutcome.ok())


@dataclass(frozen=True)
class BenchmarkResult:
    """Both parsers on both splits, with throughput measured on the scored split."""

    results: tuple[Scores, ...]
    data_file: Path


def run_benchmark(
    data_dir: Path,
    parsers: Sequence[DraftParser],
    splits: Sequence[str] = ("test", "dev"),
    min_seconds: float = 1.0,
) -> BenchmarkResult:
    """Score every parser on every split; throughput is timed on the first split's drafts."""
    reports = load_gold(data_dir)
    results: list[Scores] = []
    for split in splits:
        chosen = select_split(reports, split)
        for parser in parsers:
            scores = score_reports(parser, chosen, split)
            if split == splits[0]:
                drafts = [report.draft for report in chosen if report.draft]
                scores.drafts_per_second = throughput(parser.parse, drafts, min_seconds)
            results.append(scores)
    return BenchmarkResult(results=tuple(results), data_file=data_dir / GOLD_FILE)


def _cell(value: float) -> str:
    return "  n/a" if math.isnan(value) else f"{value:.3f}"


def format_table(scores: Sequence[Scores]) -> str:
    """A plain-text table: per label P/R/F1 (strict, then lenient F1) for each parser side by side."""
    lines: list[str] = []
    by_split: dict[str, list[Scores]] = {}
    for item in scores:
        by_split.setdefault(item.split, []).append(item)
    for split, items in by_split.items():
        lines.append(f"== split: {split} ==")
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
            if not math.isnan(item.drafts_per_second):
                rate = f"{item.drafts_per_second:,.0f}"
                lines.append(f"throughput {item.parser}: {rate} drafts/s (one core, CPU time)")
        lines.append("")
    lines.append(
        "F1 = uncertain counted as negative; F1(unc+) = uncertain counted as positive. "
        "Targets (test, rules): macro-F1 >= 0.90, no_finding F1 >= 0.95, no label < 0.85, >= 5,000 drafts/s."
    )
    return "\n".join(lines)
