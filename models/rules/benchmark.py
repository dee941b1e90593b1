"""Scoring a draft parser against two gold standards on the Indiana University reports.

The data (``../shared/data/reports/iu_openi/iu_reports_with_negbio_gold_canonical.csv``) holds
each report's FINDINGS and IMPRESSION text and NegBio's gold labels mapped to the six
canonical labels (column ``lung_opacity_consolidation`` is our ``lung_opacity``). The gold
is positive-only, so a parser is scored on ``present``: "strict" counts only present as
positive, "lenient" counts uncertain as positive too. A report with neither section is
skipped and counted. The draft a parser reads is ``FINDINGS: ...`` then ``IMPRESSION: ...``.

Two golds, on the same reports and the same NegBio test/dev split:
- ``negbio`` (primary): NegBio's human gold. Its lung opacity is Infiltration, Consolidation
  or Pneumonia only, so "right lower lobe opacity" or "patchy airspace opacity" is not in it.
- ``mesh``: the IU radiologists' manual MeSH major coding (``iu_labels_from_mesh_major.csv``,
  joined by ``uid``), whose ``lung_opacity_consolidation`` also counts Opacity and Airspace
  Disease, closer to the product's ``lung_opacity``; ``no_finding`` is MeSH "normal". The
  other labels agree with NegBio's on all but 4 effusions. A report the coders marked "No
  Indexing" (95 of 3,955; 20 in the test split) was never coded, so it is skipped and counted
  like a report without coding; ``mesh_as_issued`` scores those reports as coded with no
  label at all, the convention of the issue-16 reference figures, for comparison.

Per-report results first (:func:`score_reports`), aggregation second
(``benchmark_report.format_table``), and where the parser fails on the development reports
(``benchmark_report.failure_report``).
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
from models.errors import BenchmarkDataError

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
MESH_FILE = Path("reports") / "iu_openi" / "iu_labels_from_mesh_major.csv"
GOLDS = ("negbio", "mesh")  # the tables printed
SCORABLE_GOLDS = (*GOLDS, "mesh_as_issued")
_NOT_INDEXED = "No Indexing"


@dataclass(frozen=True)
class GoldReport:
    uid: str
    split: str
    draft: str  # empty when the report has neither FINDINGS nor IMPRESSION
    gold: frozenset[Label]  # NegBio's
    mesh: frozenset[Label] | None = None  # the MeSH coding's; None when not loaded or not coded
    mesh_not_indexed: bool = False  # the MeSH coders marked it "No Indexing"

    def labels(self, gold: str) -> frozenset[Label] | None:
        """The gold labels of this report under ``gold`` ("negbio", "mesh" or "mesh_as_issued")."""
        if gold == "negbio":
            return self.gold
        if gold == "mesh_as_issued" and self.mesh_not_indexed:
            return frozenset()
        return self.mesh


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
    gold: str = "negbio"
    scored: int = 0
    skipped: int = 0
    failed: int = 0
    strict: dict[Label, LabelCounts] = field(
        default_factory=lambda: {label: LabelCounts() for label in LABELS}
    )
    lenient: dict[Label, LabelCounts] = field(
        default_factory=lambda: {label: LabelCounts() for label in LABELS}
    )
    speed: Throughput | None = None  # measured on the first split only

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


def _positives(row: dict[str, str]) -> frozenset[Label]:
    return frozenset(label for label, column in GOLD_COLUMNS.items() if row[column].strip() == "1")


def load_mesh(data_dir: Path) -> dict[str, frozenset[Label] | None] | None:
    """The MeSH-coded labels by report ``uid`` (None for a report marked "No Indexing"), or
    None when the file is absent."""
    path = data_dir / MESH_FILE
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"uid", *GOLD_COLUMNS.values()} - set(reader.fieldnames or ())
        if missing:
            raise BenchmarkDataError(f"{path.name} lacks column(s): {', '.join(sorted(missing))}")
        return {
            row["uid"]: None if (row.get("mesh_major") or "").strip() == _NOT_INDEXED else _positives(row)
            for row in reader
        }


def load_gold(data_dir: Path) -> list[GoldReport]:
    """Every report of the NegBio gold file, in file order, with its MeSH labels where loaded."""
    path = data_dir / GOLD_FILE
    if not path.is_file():
        raise BenchmarkDataError(f"gold file not found: {path}")
    mesh = load_mesh(data_dir) or {}
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
                gold=_positives(row),
                mesh=mesh.get(row["uid"]),
                mesh_not_indexed=row["uid"] in mesh and mesh[row["uid"]] is None,
            )
            for row in reader
        ]


def select_split(reports: Iterable[GoldReport], split: str) -> list[GoldReport]:
    """The reports of one split: ``test`` (NegBio's 771) or ``dev`` (the rest)."""
    if split not in SPLITS:
        raise BenchmarkDataError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    return [report for report in reports if report.split == SPLITS[split]]


def score_reports(
    parser: DraftParser, reports: Sequence[GoldReport], split: str, gold: str = "negbio"
) -> Scores:
    """Parse every report and count agreement with the ``gold`` labels. A failed parse is
    scored as silence (no label read) and counted in ``failed``, never dropped; a report
    without text, or without labels under this gold, is skipped and counted."""
    if gold not in SCORABLE_GOLDS:
        raise BenchmarkDataError(f"unknown gold {gold!r}; choose one of: {', '.join(SCORABLE_GOLDS)}")
    scores = Scores(parser=parser.name, split=split, gold=gold)
    for report in reports:
        truths = report.labels(gold)
        if not report.draft or truths is None:
            scores.skipped += 1
            continue
        reading = parser.parse(report.draft)
        if reading.failed:
            scores.failed += 1
        scores.scored += 1
        statuses = {item.label: item.status for item in reading.labels}
        for label in LABELS:
            truth = label in truths
            for table, positive in (
                (scores.strict, statuses.get(label) == "present"),
                (scores.lenient, statuses.get(label) in ("present", "uncertain")),
            ):
                counts = table[label]
                counts.tp += truth and positive
                counts.fp += positive and not truth
                counts.fn += truth and not positive
    return scores


@dataclass(frozen=True)
class Throughput:
    """Drafts parsed per CPU second: the best timed pass and the median pass, over ``passes``."""

    best: float
    median: float
    passes: int


_MIN_PASSES = 5


def throughput(parse: Callable[[str], object], drafts: Sequence[str], min_seconds: float = 1.0) -> Throughput:
    """Drafts parsed per CPU second of this single-threaded process (one core). The set is
    parsed once to warm up, then timed pass by pass for at least ``min_seconds`` and
    ``_MIN_PASSES`` passes. CPU time, not wall time, so that other processes on a shared
    machine do not count against the parser; the best pass is the figure least disturbed by
    them (they still share caches and the core's sibling), the median says how much they did."""
    if not drafts:
        return Throughput(math.nan, math.nan, 0)
    for draft in drafts:
        parse(draft)
    rates: list[float] = []
    started = time.process_time()
    while len(rates) < _MIN_PASSES or time.process_time() - started < min_seconds:
        begun = time.process_time()
        for draft in drafts:
            parse(draft)
        elapsed = time.process_time() - begun
        rates.append(len(drafts) / elapsed if elapsed > 0 else math.nan)
    rates.sort()
    return Throughput(best=rates[-1], median=rates[len(rates) // 2], passes=len(rates))


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
    """Every parser on every split against NegBio's gold (``results``, the primary table) and
    against the MeSH coding (``mesh_results``, empty when its file is absent), with
    throughput measured on the first split; the same against the MeSH coding as issued
    (``mesh_as_issued``); and the ``variants`` (a parser read under another policy) on both
    golds."""

    results: tuple[Scores, ...]
    data_file: Path
    mesh_results: tuple[Scores, ...] = ()
    mesh_as_issued: tuple[Scores, ...] = ()
    variants: tuple[Scores, ...] = ()


def run_benchmark(
    data_dir: Path,
    parsers: Sequence[DraftParser],
    splits: Sequence[str] = ("test", "dev"),
    min_seconds: float = 1.0,
    variants: Sequence[DraftParser] = (),
) -> BenchmarkResult:
    """Score every parser on every split; throughput is timed on the first split's drafts.
    ``variants`` are scored on every split and gold, without timing."""
    reports = load_gold(data_dir)
    has_mesh = any(report.mesh is not None for report in reports)
    golds = GOLDS if has_mesh else GOLDS[:1]
    results: list[Scores] = []
    mesh_results: list[Scores] = []
    as_issued: list[Scores] = []
    variant_scores: list[Scores] = []
    for split in splits:
        chosen = select_split(reports, split)
        for parser in parsers:
            scores = score_reports(parser, chosen, split)
            if split == splits[0]:
                drafts = [report.draft for report in chosen if report.draft]
                scores.speed = throughput(parser.parse, drafts, min_seconds)
            results.append(scores)
            if has_mesh:
                mesh_results.append(score_reports(parser, chosen, split, gold="mesh"))
                as_issued.append(score_reports(parser, chosen, split, gold="mesh_as_issued"))
        for variant in variants:
            variant_scores.extend(score_reports(variant, chosen, split, gold=gold) for gold in golds)
    return BenchmarkResult(
        results=tuple(results),
        data_file=data_dir / GOLD_FILE,
        mesh_results=tuple(mesh_results),
        mesh_as_issued=tuple(as_issued),
        variants=tuple(variant_scores),
    )
