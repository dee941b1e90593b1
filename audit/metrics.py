"""Evaluation metrics: per-sample scores first, aggregation second, nothing dropped.

- Per sample: :func:`score_audit_sample` (expected vs produced flags) and
  :func:`score_grounding_sample` (reference vs predicted findings and boxes).
- Aggregation: :func:`aggregate_audit` and :func:`aggregate_grounding` turn the per-sample
  scores into :class:`Figure` values, each with its numerator, denominator, a seeded
  bootstrap 95% interval, and how many items were scored and how many failed.

Hygiene: every division goes through :func:`ratio` (NaN for an empty denominator, never
ZeroDivisionError); :func:`f1` is NaN-safe and 0 when precision and recall are both 0;
randomness comes from a local ``np.random.default_rng(seed)``. A failed item is either
excluded from a figure or counted as silence (whatever the degraded report produced),
and the figure says which.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from pydantic import field_validator

from audit.boxes import iou
from audit.labels import DEFAULT_URGENT, FINDING_LABELS, Label
from audit.schema import FLAG_TYPES, Box, FlagType, Frozen

FailedAs = Literal["excluded", "silence"]
FlagKey = tuple[FlagType, Label]

IOU_HIT = 0.5
IOU_LOOSE = 0.3
BOOTSTRAP_REPS = 1000


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or NaN when there is nothing to divide by."""
    return numerator / denominator if denominator else math.nan


def f1(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall: NaN if either is undefined, 0 if both are 0."""
    if math.isnan(precision) or math.isnan(recall):
        return math.nan
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def f1_array(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """:func:`f1` elementwise (bootstrap replicates)."""
    total = precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total == 0, 0.0, 2 * precision * recall / total)
    return np.where(np.isnan(precision) | np.isnan(recall), np.nan, out)


def ratio_array(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """:func:`ratio` elementwise: NaN wherever the denominator is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator == 0, np.nan, numerator / np.where(denominator == 0, 1, denominator))


class Figure(Frozen):
    """One reported number, with what it was computed from and what could not be scored."""

    name: str
    value: float
    numerator: float
    denominator: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_input: int  # items that should have been scored
    n_scored: int  # items scored normally
    n_failed: int  # items whose grounding or parse failed
    failed_as: FailedAs = "excluded"

    @field_validator("value", "ci_low", "ci_high", mode="before")
    @classmethod
    def _nan_from_null(cls, value: object) -> object:
        # JSON has no NaN: an undefined figure is written as null and read back as NaN.
        return math.nan if value is None else value

    def short(self) -> str:
        """'0.985 [0.970, 0.995] (197/200)' or 'n/a (0/0)'."""
        if math.isnan(self.value):
            return f"n/a ({_count(self.numerator)}/{_count(self.denominator)})"
        interval = ""
        if not math.isnan(self.ci_low):
            interval = f" [{self.ci_low:.3f}, {self.ci_high:.3f}]"
        return f"{self.value:.3f}{interval} ({_count(self.numerator)}/{_count(self.denominator)})"

    def coverage(self) -> str:
        """'scored 1,058 of 1,080; 22 failed (see list), excluded'."""
        text = f"scored {self.n_scored:,} of {self.n_input:,}; {self.n_failed:,} failed"
        if self.n_failed:
            how = "excluded" if self.failed_as == "excluded" else "counted as silence"
            text += f" (see list), {how}"
        return text


def _count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.2f}"


# --- per-sample scores ------------------------------------------------------------------------


class AuditSampleScore(Frozen):
    """Expected vs produced flags for one synthetic draft."""

    sample_id: str
    case_id: str  # the bootstrap resamples a case's drafts together
    failed: bool
    expected: tuple[FlagKey, ...]
    produced: tuple[FlagKey, ...]

    def tp(self, flag_type: FlagType) -> int:
        return sum(1 for key in self.produced if key[0] == flag_type and key in self.expected)

    def fp(self, flag_type: FlagType) -> int:
        return sum(1 for key in self.produced if key[0] == flag_type and key not in self.expected)

    def fn(self, flag_type: FlagType) -> int:
        return sum(1 for key in self.expected if key[0] == flag_type and key not in self.produced)


def score_audit_sample(
    sample_id: str,
    expected: Iterable[FlagKey],
    produced: Iterable[FlagKey],
    failed: bool = False,
    case_id: str | None = None,
) -> AuditSampleScore:
    """Compare flags as (type, label) pairs: the comparator raises at most one per pair."""
    return AuditSampleScore(
        sample_id=sample_id,
        case_id=case_id if case_id is not None else sample_id,
        failed=failed,
        expected=tuple(sorted(set(expected))),
        produced=tuple(sorted(set(produced))),
    )


class BoxMatch(Frozen):
    label: Label
    iou: float


class GroundingSampleScore(Frozen):
    """Reference vs predicted findings for one image: label presence and one-to-one box matches."""

    case_id: str
    failed: bool
    reference_labels: tuple[Label, ...]
    predicted_labels: tuple[Label, ...]
    n_reference_boxes: int
    n_predicted_boxes: int
    matches: tuple[BoxMatch, ...]  # one per matched pair (IoU > 0), greedy by IoU within a label


def _greedy_matches(reference: Sequence[Box], predicted: Sequence[Box]) -> list[float]:
    """IoUs of a one-to-one matching, best pair first; pairs that do not overlap are not matched."""
    pairs = sorted(
        ((iou(r, p), i, j) for i, r in enumerate(reference) for j, p in enumerate(predicted)),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    used_r: set[int] = set()
    used_p: set[int] = set()
    matched: list[float] = []
    for value, i, j in pairs:
        if value <= 0:
            break
        if i in used_r or j in used_p:
            continue
        used_r.add(i)
        used_p.add(j)
        matched.append(value)
    return matched


def score_grounding_sample(
    case_id: str,
    reference: Iterable[tuple[Label, Box | None]],
    predicted: Iterable[tuple[Label, Box | None]],
    failed: bool = False,
) -> GroundingSampleScore:
    """Score one image's findings against the reference (``no_finding`` is not a finding)."""
    ref = [(label, box) for label, box in reference if label != "no_finding"]
    pred = [(label, box) for label, box in predicted if label != "no_finding"]
    matches: list[BoxMatch] = []
    for label in FINDING_LABELS:
        ref_boxes = [box for lab, box in ref if lab == label and box is not None]
        pred_boxes = [box for lab, box in pred if lab == label and box is not None]
        matches.extend(BoxMatch(label=label, iou=value) for value in _greedy_matches(ref_boxes, pred_boxes))
    return GroundingSampleScore(
        case_id=case_id,
        failed=failed,
        reference_labels=tuple(label for label in FINDING_LABELS if any(lab == label for lab, _ in ref)),
        predicted_labels=tuple(label for label in FINDING_LABELS if any(lab == label for lab, _ in pred)),
        n_reference_boxes=sum(1 for _, box in ref if box is not None),
        n_predicted_boxes=sum(1 for _, box in pred if box is not None),
        matches=tuple(matches),
    )


# --- aggregation ------------------------------------------------------------------------------


class Resampler:
    """Bootstrap weights: row b says how often each sample is drawn in replicate b.

    With ``groups`` (one key per sample), whole groups are drawn: the drafts of one case
    share an image and a grounding, so they are not independent and are resampled together.
    """

    def __init__(self, n: int, reps: int, seed: int, groups: Sequence[str] | None = None) -> None:
        self.weights: np.ndarray | None = None
        if not n or not reps:
            return
        rng = np.random.default_rng(seed)
        if groups is None:
            index = np.arange(n)
        else:
            keys = {key: position for position, key in enumerate(dict.fromkeys(groups))}
            index = np.array([keys[key] for key in groups])
        k = int(index.max()) + 1
        draws = rng.integers(0, k, size=(reps, k))
        flat = (draws + (np.arange(reps) * k)[:, None]).ravel()
        per_group = np.bincount(flat, minlength=reps * k).reshape(reps, k).astype(np.float64)
        self.weights = per_group[:, index]

    def sums(self, column: np.ndarray) -> np.ndarray | None:
        return None if self.weights is None else self.weights @ column


def interval(replicates: np.ndarray | None) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap replicates (NaN ones ignored; NaN when none)."""
    if replicates is None or np.all(np.isnan(replicates)):
        return math.nan, math.nan
    low, high = np.nanpercentile(replicates, [2.5, 97.5])
    return float(low), float(high)


class _Counts(Frozen):
    n_input: int
    n_scored: int
    n_failed: int
    failed_as: FailedAs


def _ratio_figure(
    name: str, numerator: np.ndarray, denominator: np.ndarray, resampler: Resampler, counts: _Counts
) -> Figure:
    num, den = float(numerator.sum()), float(denominator.sum())
    num_b, den_b = resampler.sums(numerator), resampler.sums(denominator)
    replicates = None if num_b is None or den_b is None else ratio_array(num_b, den_b)
    low, high = interval(replicates)
    return Figure(
        name=name,
        value=ratio(num, den),
        numerator=num,
        denominator=den,
        ci_low=low,
        ci_high=high,
        **counts.model_dump(),
    )


def _f1_figure(
    name: str, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, resampler: Resampler, counts: _Counts
) -> Figure:
    t, p, n = float(tp.sum()), float(fp.sum()), float(fn.sum())
    value = f1(ratio(t, t + p), ratio(t, t + n))
    tb, pb, nb = resampler.sums(tp), resampler.sums(fp), resampler.sums(fn)
    replicates = None
    if tb is not None and pb is not None and nb is not None:
        replicates = f1_array(ratio_array(tb, tb + pb), ratio_array(tb, tb + nb))
    low, high = interval(replicates)
    # F1 has no single fraction: numerator and denominator are 2·TP and 2·TP + FP + FN.
    return Figure(
        name=name,
        value=value,
        numerator=2 * t,
        denominator=2 * t + p + n,
        ci_low=low,
        ci_high=high,
        **counts.model_dump(),
    )


def _macro_figure(
    name: str, per_label: Sequence[Figure], replicate_rows: list[np.ndarray], counts: _Counts
) -> Figure:
    """Mean over the labels where the figure is defined; numerator/denominator count those labels."""
    values = np.array([figure.value for figure in per_label])
    defined = ~np.isnan(values)
    value = float(values[defined].mean()) if defined.any() else math.nan
    low, high = math.nan, math.nan
    if replicate_rows:
        stacked = np.stack(replicate_rows, axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a replicate where no label is defined
            low, high = interval(np.nanmean(stacked, axis=1))
    return Figure(
        name=name,
        value=value,
        numerator=float(values[defined].sum()),
        denominator=float(defined.sum()),
        ci_low=low,
        ci_high=high,
        **counts.model_dump(),
    )


def _counts(failed: Sequence[bool], failed_as: FailedAs) -> tuple[_Counts, np.ndarray]:
    """The coverage counts and which samples enter the figures."""
    flags = np.array(failed, dtype=bool)
    included = ~flags if failed_as == "excluded" else np.ones(len(flags), dtype=bool)
    n_failed = int(flags.sum())
    return _Counts(
        n_input=len(flags), n_scored=len(flags) - n_failed, n_failed=n_failed, failed_as=failed_as
    ), included


class FlagTypeMetrics(Frozen):
    precision: Figure
    recall: Figure


class AuditMetrics(Frozen):
    """Audit precision and recall per flag type, and URGENT recall per urgent label."""

    per_type: dict[FlagType, FlagTypeMetrics]
    urgent_recall: dict[Label, Figure]


def aggregate_audit(
    samples: Sequence[AuditSampleScore],
    failed_as: FailedAs = "excluded",
    seed: int = 0,
    reps: int = BOOTSTRAP_REPS,
    urgent_labels: Sequence[Label] = DEFAULT_URGENT,
) -> AuditMetrics:
    counts, included = _counts([s.failed for s in samples], failed_as)
    kept = [s for s, keep in zip(samples, included, strict=True) if keep]
    resampler = Resampler(len(kept), reps, seed, groups=[s.case_id for s in kept])
    per_type: dict[FlagType, FlagTypeMetrics] = {}
    for flag_type in FLAG_TYPES:
        tp = np.array([s.tp(flag_type) for s in kept], dtype=np.float64)
        fp = np.array([s.fp(flag_type) for s in kept], dtype=np.float64)
        fn = np.array([s.fn(flag_type) for s in kept], dtype=np.float64)
        per_type[flag_type] = FlagTypeMetrics(
            precision=_ratio_figure(f"{flag_type} precision", tp, tp + fp, resampler, counts),
            recall=_ratio_figure(f"{flag_type} recall", tp, tp + fn, resampler, counts),
        )
    urgent: dict[Label, Figure] = {}
    for label in urgent_labels:
        key: FlagKey = ("URGENT", label)
        expected = np.array([key in s.expected for s in kept], dtype=np.float64)
        hit = np.array([key in s.expected and key in s.produced for s in kept], dtype=np.float64)
        urgent[label] = _ratio_figure(f"URGENT recall ({label})", hit, expected, resampler, counts)
    return AuditMetrics(per_type=per_type, urgent_recall=urgent)


class LabelPresence(Frozen):
    precision: Figure
    recall: Figure
    f1: Figure


class GroundingMetrics(Frozen):
    """Image-level label presence and box agreement of a grounder against the reference."""

    presence: dict[Label, LabelPresence]
    macro_precision: Figure
    macro_recall: Figure
    macro_f1: Figure
    box_hit_rate_50: Figure  # reference boxes matched at IoU ≥ 0.5
    box_hit_rate_30: Figure  # reference boxes matched at IoU ≥ 0.3
    box_precision_50: Figure  # predicted boxes matched at IoU ≥ 0.5
    box_precision_30: Figure  # predicted boxes matched at IoU ≥ 0.3
    mean_iou: Figure  # over matched pairs (IoU > 0)


def aggregate_grounding(
    samples: Sequence[GroundingSampleScore],
    failed_as: FailedAs = "excluded",
    seed: int = 0,
    reps: int = BOOTSTRAP_REPS,
) -> GroundingMetrics:
    counts, included = _counts([s.failed for s in samples], failed_as)
    kept = [s for s, keep in zip(samples, included, strict=True) if keep]
    resampler = Resampler(len(kept), reps, seed)
    presence: dict[Label, LabelPresence] = {}
    rows: dict[str, list[np.ndarray]] = {"precision": [], "recall": [], "f1": []}
    for label in FINDING_LABELS:
        ref = np.array([label in s.reference_labels for s in kept], dtype=np.float64)
        pred = np.array([label in s.predicted_labels for s in kept], dtype=np.float64)
        tp, fp, fn = ref * pred, (1 - ref) * pred, ref * (1 - pred)
        presence[label] = LabelPresence(
            precision=_ratio_figure(f"{label} precision", tp, tp + fp, resampler, counts),
            recall=_ratio_figure(f"{label} recall", tp, tp + fn, resampler, counts),
            f1=_f1_figure(f"{label} F1", tp, fp, fn, resampler, counts),
        )
        tb, pb, nb = resampler.sums(tp), resampler.sums(fp), resampler.sums(fn)
        if tb is not None and pb is not None and nb is not None:
            precision_b, recall_b = ratio_array(tb, tb + pb), ratio_array(tb, tb + nb)
            rows["precision"].append(precision_b)
            rows["recall"].append(recall_b)
            rows["f1"].append(f1_array(precision_b, recall_b))

    def hits(threshold: float) -> np.ndarray:
        return np.array([sum(m.iou >= threshold for m in s.matches) for s in kept], dtype=np.float64)

    n_ref = np.array([s.n_reference_boxes for s in kept], dtype=np.float64)
    n_pred = np.array([s.n_predicted_boxes for s in kept], dtype=np.float64)
    iou_sum = np.array([sum(m.iou for m in s.matches) for s in kept], dtype=np.float64)
    n_matched = np.array([len(s.matches) for s in kept], dtype=np.float64)
    return GroundingMetrics(
        presence=presence,
        macro_precision=_macro_figure(
            "macro precision", [p.precision for p in presence.values()], rows["precision"], counts
        ),
        macro_recall=_macro_figure(
            "macro recall", [p.recall for p in presence.values()], rows["recall"], counts
        ),
        macro_f1=_macro_figure("macro F1", [p.f1 for p in presence.values()], rows["f1"], counts),
        box_hit_rate_50=_ratio_figure("box hit rate @ IoU 0.5", hits(IOU_HIT), n_ref, resampler, counts),
        box_hit_rate_30=_ratio_figure("box hit rate @ IoU 0.3", hits(IOU_LOOSE), n_ref, resampler, counts),
        box_precision_50=_ratio_figure("box precision @ IoU 0.5", hits(IOU_HIT), n_pred, resampler, counts),
        box_precision_30=_ratio_figure("box precision @ IoU 0.3", hits(IOU_LOOSE), n_pred, resampler, counts),
        mean_iou=_ratio_figure("mean IoU of matched boxes", iou_sum, n_matched, resampler, counts),
    )
