"""A generator's figures from its per-case samples, under any bootstrap weights.

Every figure is a ratio of weighted sums of per-case columns, so one function gives the
point estimate (a row of ones) and the bootstrap replicates (the rows of
:class:`audit.metrics.Resampler`'s weights) alike, and a paired difference is the same
function on two generators' columns under one set of weights.

- Pathology, per label (the rules parser's reading of the report against the reference
  boxes, one row per case): precision TP/(TP+FP), recall TP/(TP+FN), F1 2TP/(2TP+FP+FN),
  accuracy (TP+TN)/N. F1 is written as counts so that a report that never names a present
  finding scores 0, not "undefined": it is undefined only where the label is neither in
  the reference nor in any report.
- Macro: the mean over the labels where the figure is defined.
- Flag rates per case: the share of cases with at least one MISSING, UNSUPPORTED or
  LATERALITY flag; for URGENT, the share of cases showing an urgent finding whose report
  omitted or denied it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audit.labels import FINDING_LABELS, Label
from audit.metrics import Resampler, interval, ratio_array
from audit.report_eval.records import RATED_FLAGS, ReportSample
from audit.schema import FlagType

PATHOLOGY_FIGURES: tuple[str, ...] = ("precision", "recall", "f1", "accuracy")
URGENT_RATE = "URGENT"


@dataclass(frozen=True)
class Columns:
    """Per-case 0/1 columns of one generator's samples, in the samples' order."""

    reference: dict[Label, np.ndarray]
    asserted: dict[Label, np.ndarray]
    flagged: dict[FlagType, np.ndarray]  # the case has at least one flag of the type
    urgent: np.ndarray  # the case shows an urgent finding (an URGENT flag was raised)
    urgent_omitted: np.ndarray  # ... and the report omitted or denied it

    @classmethod
    def of(cls, samples: Sequence[ReportSample]) -> Columns:
        def column(values: Sequence[bool]) -> np.ndarray:
            return np.array(values, dtype=np.float64)

        return cls(
            reference={label: column([label in s.reference for s in samples]) for label in FINDING_LABELS},
            asserted={label: column([label in s.asserted for s in samples]) for label in FINDING_LABELS},
            flagged={flag_type: column([s.has(flag_type) for s in samples]) for flag_type in RATED_FLAGS},
            urgent=column([s.has("URGENT") for s in samples]),
            urgent_omitted=column([bool(s.urgent_omitted) for s in samples]),
        )

    @property
    def n(self) -> int:
        return len(self.urgent)


def figure_table(columns: Columns, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every figure by name, one value per row of ``weights`` (replicates × cases)."""
    n = weights.sum(axis=1)
    table: dict[str, np.ndarray] = {}
    for label in FINDING_LABELS:
        ref, pred = columns.reference[label], columns.asserted[label]
        tp, fp, fn = weights @ (ref * pred), weights @ ((1 - ref) * pred), weights @ (ref * (1 - pred))
        tn = n - tp - fp - fn
        table[f"pathology.{label}.precision"] = ratio_array(tp, tp + fp)
        table[f"pathology.{label}.recall"] = ratio_array(tp, tp + fn)
        table[f"pathology.{label}.f1"] = ratio_array(2 * tp, 2 * tp + fp + fn)
        table[f"pathology.{label}.accuracy"] = ratio_array(tp + tn, n)
    for figure in PATHOLOGY_FIGURES:
        stacked = np.stack([table[f"pathology.{label}.{figure}"] for label in FINDING_LABELS], axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a replicate where no label is defined
            table[f"macro_{figure}"] = np.nanmean(stacked, axis=1)
    for flag_type in RATED_FLAGS:
        table[f"flag_rates.{flag_type}"] = ratio_array(weights @ columns.flagged[flag_type], n)
    table[f"flag_rates.{URGENT_RATE}"] = ratio_array(
        weights @ columns.urgent_omitted, weights @ columns.urgent
    )
    return table


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float
    ci_high: float


def estimates(columns: Columns, reps: int, seed: int) -> dict[str, Estimate]:
    """Each figure's value with its seeded bootstrap 95% interval (cases resampled)."""
    point = figure_table(columns, np.ones((1, columns.n)))
    weights = Resampler(columns.n, reps, seed).weights
    replicates = figure_table(columns, weights) if weights is not None else {}
    out: dict[str, Estimate] = {}
    for name, value in point.items():
        low, high = interval(replicates.get(name))
        out[name] = Estimate(float(value[0]), low, high)
    return out


def paired_estimates(earlier: Columns, later: Columns, reps: int, seed: int) -> dict[str, Estimate]:
    """``later − earlier`` for each figure on the same cases (the columns row for row), with a
    paired bootstrap 95% interval: both generators' figures recomputed on each resample."""
    if earlier.n != later.n:
        raise ValueError(f"paired columns differ in length: {earlier.n} and {later.n}")
    ones = np.ones((1, earlier.n))
    point_a, point_b = figure_table(earlier, ones), figure_table(later, ones)
    weights = Resampler(earlier.n, reps, seed).weights
    rep_a = figure_table(earlier, weights) if weights is not None else {}
    rep_b = figure_table(later, weights) if weights is not None else {}
    out: dict[str, Estimate] = {}
    for name in point_a:
        delta = point_b[name] - point_a[name]
        replicates = rep_b[name] - rep_a[name] if name in rep_a else None
        low, high = interval(replicates)
        out[name] = Estimate(float(delta[0]), low, high)
    return out
