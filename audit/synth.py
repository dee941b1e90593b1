"""Synthetic draft impressions written from reference findings, with one controlled corruption.

A faithful draft says what the reference boxes show (laterality from the box side, a size
word, varied phrasing, sentences in a seeded order, sometimes denials of absent findings).
Exactly one corruption is then applied, and the flags the comparator should raise are
stored with the draft:

| corruption  | what changes                              | expected discrepancy flag |
|-------------|-------------------------------------------|---------------------------|
| `none`      | nothing (negative control)                | none                      |
| `drop`      | one present finding is left out           | MISSING for it            |
| `add`       | one absent finding is asserted            | UNSUPPORTED for it        |
| `flip_side` | one one-sided finding moves to the other  | LATERALITY for it         |

URGENT is expected for every urgent label the image shows, whatever the corruption.
A corruption that cannot be applied (nothing to drop, nothing absent to add, no finding
wholly on one side to flip) leaves the draft faithful and is recorded as not applicable;
the kind is never silently changed.

Determinism: the faithful draft depends only on (seed, case id), so the four corruptions of
one case share it; each corruption's choices depend on (seed, case id, corruption). Seeds
come from SHA-256, never Python's salted ``hash()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args

import numpy as np
from pydantic import model_validator

from audit.boxes import patient_side
from audit.labels import DEFAULT_URGENT, FINDING_LABELS, Label
from audit.schema import FLAG_TYPES, Box, ExpectedFlag, FlagType, Frozen, ImageFinding, Side, Status

CorruptionKind = Literal["none", "drop", "add", "flip_side"]
CORRUPTIONS: tuple[CorruptionKind, ...] = get_args(CorruptionKind)

# Which discrepancy flag each corruption should raise (``none`` raises none).
EXPECTED_FLAG: dict[CorruptionKind, FlagType | None] = {
    "none": None,
    "drop": "MISSING",
    "add": "UNSUPPORTED",
    "flip_side": "LATERALITY",
}

# Labels a radiologist puts on a side; the heart is central.
LATERALIZED: frozenset[Label] = frozenset({"pleural_effusion", "pneumothorax", "lung_opacity", "nodule_mass"})

# Width of the chest in the frame, in cm, to turn a box into a plausible lesion size.
_CHEST_WIDTH_CM = 35.0
# A lesion wider than 3 cm is a mass by the usual radiological convention.
_MASS_CM = 3.0


class Mention(Frozen):
    """What one sentence of the draft says, so a parser's reading can be checked against it."""

    label: Label
    status: Status
    side: Side | None = None
    sentence: str


class SyntheticDraft(Frozen):
    """One synthetic draft and the flags its corruption should produce."""

    case_id: str
    seed: int
    text: str
    corruption: CorruptionKind
    applicable: bool
    corrupted_label: Label | None = None
    expected_flags: tuple[ExpectedFlag, ...] = ()
    mentions: tuple[Mention, ...] = ()
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> SyntheticDraft:
        if self.corruption == "none" and self.corrupted_label is not None:
            raise ValueError("the negative control corrupts no label")
        if self.corruption != "none" and self.applicable and self.corrupted_label is None:
            raise ValueError(f"an applied {self.corruption!r} corruption names its label")
        if not self.applicable and (self.corrupted_label is not None or not self.note):
            raise ValueError("a corruption that was not applicable names no label and says why")
        wanted = EXPECTED_FLAG[self.corruption]
        if (
            wanted is not None
            and self.applicable
            and self.corrupted_label is not None
            and ExpectedFlag(type=wanted, label=self.corrupted_label) not in self.expected_flags
        ):
            raise ValueError(f"a {self.corruption!r} draft expects {wanted} for {self.corrupted_label}")
        return self


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from the parts' text, the same in every process (unlike ``hash()``)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


Zone = Literal["upper", "mid", "lower"]
Size = Literal["small", "moderate", "large"]
_ZONES: tuple[Zone, ...] = get_args(Zone)
_SIZES: tuple[Size, ...] = get_args(Size)


@dataclass(frozen=True)
class _Site:
    """Where and how big a label's finding is, summarized over its boxes."""

    label: Label
    side: Side | None
    flippable: bool  # every box wholly on one side, so a flipped side contradicts all of them
    zone: Zone
    size: Size
    cm: float | None


def _zone(box: Box | None) -> Zone:
    if box is None:
        return "mid"
    cy = (box.y0 + box.y1) / 2
    return "upper" if cy < 1 / 3 else "mid" if cy < 2 / 3 else "lower"


def _size(label: Label, box: Box | None) -> Size:
    if box is None:
        return "small"
    # Effusions grow upward from the base, so height says more than area; for the others
    # the box area stands in for extent.
    measure = box.height if label == "pleural_effusion" else box.area
    small, moderate = (0.15, 0.30) if label == "pleural_effusion" else (0.03, 0.09)
    return "small" if measure < small else "moderate" if measure < moderate else "large"


def _sites(findings: Iterable[ImageFinding]) -> list[_Site]:
    by_label: dict[Label, list[ImageFinding]] = {}
    for finding in findings:
        if finding.label != "no_finding":
            by_label.setdefault(finding.label, []).append(finding)
    sites: list[_Site] = []
    for label in FINDING_LABELS:
        group = by_label.get(label)
        if not group:
            continue
        boxes = [f.box for f in group if f.box is not None]
        sides = {patient_side(box) for box in boxes}
        lateral = sides - {"midline"}
        side: Side | None = None
        if label in LATERALIZED and lateral:
            side = (
                "bilateral" if lateral == {"right", "left"} else ("right" if "right" in lateral else "left")
            )
        # Flipping contradicts the image only when every finding of the label is boxed on one side.
        one_sided = len(lateral) == 1 and "midline" not in sides and len(boxes) == len(group)
        flippable = label in LATERALIZED and one_sided
        largest = max(boxes, key=lambda b: b.area) if boxes else None
        cm = round(max(largest.width, largest.height) * _CHEST_WIDTH_CM, 1) if largest else None
        sites.append(_Site(label, side, flippable, _zone(largest), _size(label, largest), cm))
    return sites


# --- phrasing --------------------------------------------------------------------------------
# Each template is plain, assertive radiology prose: no hedges ("may", "possible",
# "consistent with"), so every assertion must be read as present. One label per sentence.


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lobe(side: Side | None, zone: str) -> str:
    """'right upper lobe', 'right middle lobe', 'left mid lung', 'left lower lobe'."""
    where = f"{side} " if side else ""
    if zone == "mid":
        return f"{where}middle lobe" if side == "right" else f"{where}mid lung"
    return f"{where}{zone} lobe"


def _effusion(site: _Site, variant: int) -> str:
    side, size = site.side, site.size
    if side == "bilateral":
        return (
            ("{size} bilateral pleural effusions.", "There are {size} bilateral pleural effusions.")[
                variant % 2
            ]
            .format(size=size)
            .capitalize()
        )
    where = f"{side} " if side else ""
    templates = (
        f"{size} {where}pleural effusion.",
        f"There is a {size} {where}pleural effusion.",
        f"{size} {side}-sided pleural effusion." if side else f"{size} pleural effusion.",
        f"{where}pleural effusion, {size}.",
    )
    return _cap(templates[variant % len(templates)])


def _pneumothorax(site: _Site, variant: int) -> str:
    side, size = site.side, site.size
    if side == "bilateral":
        return ("Bilateral pneumothoraces.", f"{_cap(size)} bilateral pneumothoraces.")[variant % 2]
    where = f"{side} " if side else ""
    apical = "apical " if site.zone == "upper" else ""
    templates = (
        f"{size} {where}pneumothorax.",
        f"There is a {size} {where}pneumothorax.",
        f"{size} {where}{apical}pneumothorax.",
        f"{size} {side}-sided pneumothorax." if side else f"{size} pneumothorax.",
    )
    return _cap(templates[variant % len(templates)])


def _opacity(site: _Site, variant: int) -> str:
    side, zone = site.side, site.zone
    if side == "bilateral":
        return ("Patchy bilateral airspace opacities.", "Bilateral airspace consolidation.")[variant % 2]
    where = f"{side} " if side else ""
    region = {"upper": "upper lung", "mid": "mid lung", "lower": "basilar"}[zone]
    templates = (
        f"patchy {where}{region} opacity.",
        f"{_lobe(side, zone)} consolidation.",
        f"airspace opacity in the {where}{zone} lung.",
        f"focal {where}{zone} lung infiltrate.",
    )
    return _cap(templates[variant % len(templates)])


def _nodule(site: _Site, variant: int) -> str:
    cm = site.cm if site.cm is not None else 1.5
    noun = "mass" if cm > _MASS_CM else "nodule"
    if site.side == "bilateral":
        return f"Bilateral pulmonary {'masses' if noun == 'mass' else 'nodules'}."
    where = f"{site.side} " if site.side else ""
    templates = (
        f"{_lobe(site.side, site.zone)} {noun}.",
        f"{cm:.1f} cm {noun} in the {where}{site.zone} lung.",
        f"{noun} in the {where}{site.zone} lung zone.",
    )
    return _cap(templates[variant % len(templates)])


def _cardiomegaly(site: _Site, variant: int) -> str:
    degree = "mild" if site.size == "small" else "moderate"
    templates = (
        "Cardiomegaly.",
        f"{_cap(degree)} cardiomegaly.",
        "The heart is enlarged.",
        "Enlarged cardiac silhouette.",
    )
    return templates[variant % len(templates)]


_ASSERT = {
    "pleural_effusion": _effusion,
    "pneumothorax": _pneumothorax,
    "lung_opacity": _opacity,
    "nodule_mass": _nodule,
    "cardiomegaly": _cardiomegaly,
}

_DENY: dict[Label, tuple[str, ...]] = {
    "pleural_effusion": ("No pleural effusion.", "No pleural effusions.", "No effusion."),
    "pneumothorax": ("No pneumothorax.", "There is no pneumothorax."),
    "lung_opacity": ("No focal consolidation.", "No focal airspace opacity."),
    "nodule_mass": ("No suspicious pulmonary nodule.", "No pulmonary nodule or mass."),
    "cardiomegaly": ("No cardiomegaly.", "Heart size is normal."),
}

_NORMAL: tuple[str, ...] = (
    "No acute cardiopulmonary process.",
    "No acute cardiopulmonary abnormality.",
    "Normal chest radiograph.",
)

# How often an absent label is denied in a faithful draft.
DENIAL_RATE = 0.4


@dataclass(frozen=True)
class _Sentence:
    label: Label
    status: Status
    side: Side | None
    text: str


def _assertion(site: _Site, variant: int) -> _Sentence:
    return _Sentence(site.label, "present", site.side, _ASSERT[site.label](site, variant))


def _flip(side: Side | None) -> Side | None:
    if side == "right":
        return "left"
    if side == "left":
        return "right"
    return side


def _mentions(sentences: Sequence[_Sentence]) -> tuple[Mention, ...]:
    return tuple(Mention(label=s.label, status=s.status, side=s.side, sentence=s.text) for s in sentences)


def synthesize(
    case_id: str,
    findings: Sequence[ImageFinding],
    corruption: CorruptionKind,
    seed: int = 0,
    urgent_labels: Sequence[Label] = DEFAULT_URGENT,
    denial_rate: float = DENIAL_RATE,
) -> SyntheticDraft:
    """Write a draft for one case from its reference findings, with one corruption applied."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; choose one of: {', '.join(CORRUPTIONS)}")
    sites = _sites(findings)
    present = [site.label for site in sites]
    absent = [label for label in FINDING_LABELS if label not in present]

    # The faithful draft: its choices come from (seed, case id) only.
    base = np.random.default_rng(stable_seed(seed, case_id, "faithful"))
    variants = {label: int(base.integers(0, 1_000)) for label in FINDING_LABELS}
    sentences: list[_Sentence] = [_assertion(site, variants[site.label]) for site in sites]
    for label in absent:
        if base.random() < denial_rate:
            options = _DENY[label]
            sentences.append(_Sentence(label, "absent", None, options[variants[label] % len(options)]))
    order = base.permutation(len(sentences))
    sentences = [sentences[i] for i in order]
    normal = _Sentence("no_finding", "present", None, _NORMAL[int(base.integers(0, len(_NORMAL)))])

    # The corruption: its choices come from (seed, case id, corruption).
    rng = np.random.default_rng(stable_seed(seed, case_id, corruption))
    target: Label | None = None
    note = ""
    if corruption == "drop":
        if present:
            target = present[int(rng.integers(0, len(present)))]
            sentences = [s for s in sentences if not (s.label == target and s.status == "present")]
        else:
            note = "nothing to drop: the image shows no finding"
    elif corruption == "add":
        if absent:
            target = absent[int(rng.integers(0, len(absent)))]
            side: Side | None = None
            if target in LATERALIZED:
                side = "right" if rng.integers(0, 2) == 0 else "left"
            invented = _Site(
                label=target,
                side=side,
                flippable=side is not None,
                zone=_ZONES[int(rng.integers(0, len(_ZONES)))],
                size=_SIZES[int(rng.integers(0, len(_SIZES)))],
                cm=round(float(rng.uniform(0.8, 5.0)), 1),
            )
            added = _assertion(invented, int(rng.integers(0, 1_000)))
            # An assertion replaces the draft's own denial of that label, if it had one.
            denial = next((i for i, s in enumerate(sentences) if s.label == target), None)
            if denial is not None:
                sentences[denial] = added
            else:
                sentences.insert(int(rng.integers(0, len(sentences) + 1)), added)
        else:
            note = "nothing to add: the image shows every finding label"
    elif corruption == "flip_side":
        candidates = [site for site in sites if site.flippable]
        if candidates:
            chosen = candidates[int(rng.integers(0, len(candidates)))]
            target = chosen.label
            flipped = _assertion(replace(chosen, side=_flip(chosen.side)), variants[target])
            sentences = [flipped if (s.label == target and s.status == "present") else s for s in sentences]
        else:
            note = "no finding lies wholly on one side, so there is no side to flip"

    # A draft that asserts nothing reads as a normal study, as a real miss would.
    if not any(s.status == "present" for s in sentences):
        sentences.insert(0, normal)

    expected = [ExpectedFlag(type="URGENT", label=label) for label in present if label in urgent_labels]
    wanted = EXPECTED_FLAG[corruption]
    if wanted is not None and target is not None:
        expected.append(ExpectedFlag(type=wanted, label=target))
    return SyntheticDraft(
        case_id=case_id,
        seed=seed,
        text=" ".join(s.text for s in sentences),
        corruption=corruption,
        applicable=corruption == "none" or target is not None,
        corrupted_label=target,
        expected_flags=tuple(sorted(expected, key=_flag_order)),
        mentions=_mentions(sentences),
        note=note,
    )


_TYPE_ORDER = {flag_type: index for index, flag_type in enumerate(FLAG_TYPES)}
_LABEL_ORDER = {label: index for index, label in enumerate(FINDING_LABELS)}


def _flag_order(flag: ExpectedFlag) -> tuple[int, int]:
    return _TYPE_ORDER[flag.type], _LABEL_ORDER[flag.label]


def synthesize_all(
    case_id: str,
    findings: Sequence[ImageFinding],
    corruptions: Sequence[CorruptionKind] = CORRUPTIONS,
    seed: int = 0,
    urgent_labels: Sequence[Label] = DEFAULT_URGENT,
) -> tuple[SyntheticDraft, ...]:
    """One draft per corruption kind, in the order given."""
    return tuple(synthesize(case_id, findings, kind, seed, urgent_labels) for kind in corruptions)
