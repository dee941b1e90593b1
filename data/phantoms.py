"""Synthetic chest radiograph phantoms: smooth shapes, not anatomy, with their true boxes.

The project cannot ship real radiographs, so the demo worklist is drawn here: body, lung
fields with faint markings, mediastinum and spine, heart, diaphragm domes, clavicles and
ribs; findings drawn in on request (effusion with a meniscus, pneumothorax edge with no
lung markings beyond it, opacity, nodule, enlarged heart). Every phantom carries
"SYNTHETIC PHANTOM" burned into its pixels. Drawing is seeded and reproducible: the same
spec gives the same pixels, byte for byte.

Sides are the patient's: the patient's right is on the viewer's left.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field

from audit.labels import Label
from audit.schema import Box

PatientSide = Literal["right", "left"]
Zone = Literal["upper", "mid", "lower"]
PHANTOM_MARK = "SYNTHETIC PHANTOM - NOT A PATIENT"
GENERATOR = "data.phantoms v1"


class PhantomFinding(BaseModel):
    """A finding to draw: its label, the patient's side, and (for focal findings) the zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: Label
    side: PatientSide = "right"
    zone: Zone = "mid"
    size: float = Field(default=1.0, gt=0.2, le=2.0)  # relative size of the finding


class PhantomSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int
    width: int = 512
    height: int = 512
    findings: tuple[PhantomFinding, ...] = ()


class DrawnFinding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: Label
    side: PatientSide | None
    zone: Zone | None
    box: Box


class Phantom(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    spec: PhantomSpec
    pixels: np.ndarray
    findings: tuple[DrawnFinding, ...]


# Lung fields in normalized coordinates, by the patient's side (viewer's left = patient's right).
_LUNG_X = {"right": (0.13, 0.45), "left": (0.55, 0.87)}
_LUNG_TOP = 0.13
_LUNG_BASE = {"right": 0.80, "left": 0.82}  # the right hemidiaphragm sits a little higher
_ZONE_Y = {"upper": 0.27, "mid": 0.48, "lower": 0.66}


def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return (xs + 0.5) / width, (ys + 0.5) / height


def _smooth(mask: np.ndarray, passes: int = 2, radius: int = 2) -> np.ndarray:
    """Soften edges with repeated separable box blurs (close to a Gaussian after two passes)."""
    out = mask.astype(np.float32)
    height, width = out.shape
    size = 2 * radius + 1
    for _ in range(passes):
        padded = np.pad(out, radius, mode="edge")
        rows = sum(padded[i : i + height, :] for i in range(size)) / size
        out = sum(rows[:, i : i + width] for i in range(size)) / size
    return out


def _diaphragm(x: np.ndarray, side: PatientSide) -> np.ndarray:
    """The diaphragm dome's height at x: highest mid-lung, lowest at the costophrenic angle."""
    x0, x1 = _LUNG_X[side]
    centre, half = (x0 + x1) / 2, (x1 - x0) / 2
    u = np.clip((x - centre) / half, -1.2, 1.2)
    return _LUNG_BASE[side] - 0.07 * (1 - u**2)


def _lung_mask(x: np.ndarray, y: np.ndarray, side: PatientSide) -> np.ndarray:
    x0, x1 = _LUNG_X[side]
    centre, half = (x0 + x1) / 2, (x1 - x0) / 2
    u = (x - centre) / half
    # Rounded apex: the top boundary rises towards the middle of each lung.
    top = _LUNG_TOP + 0.10 * u**2
    # Lateral bulge: lungs are widest in the lower third.
    lateral = 1.0 - 0.10 * np.clip((y - 0.55) / 0.3, -1, 1) ** 2
    return (np.abs(u) <= lateral) & (y >= top) & (y <= _diaphragm(x, side))


def _heart_half_width(enlarged: bool) -> float:
    return 0.20 if enlarged else 0.135


def draw_phantom(spec: PhantomSpec) -> Phantom:
    """Draw one phantom; returns its 2-D uint8 pixels and the true box of each finding."""
    rng = np.random.default_rng(spec.seed)
    finding_rng = np.random.default_rng([spec.seed, 1])  # findings never shift the anatomy's noise
    width, height = spec.width, spec.height
    x, y = _grid(width, height)
    labels = {f.label for f in spec.findings}

    image = np.full((height, width), 18.0, dtype=np.float32)
    body = ((x - 0.5) / 0.47) ** 2 + ((y - 0.62) / 0.62) ** 2 <= 1.0
    image[body] = 105.0
    image += 8.0 * (1 - np.abs(x - 0.5) * 2) * body  # thicker tissue centrally

    lungs = {side: _lung_mask(x, y, side) for side in ("right", "left")}
    lung_any = lungs["right"] | lungs["left"]
    soft_lung = _smooth(lung_any)
    image -= 62.0 * soft_lung

    # Lung markings: faint branching texture, smoothed noise, inside the lungs only.
    markings = _smooth(rng.standard_normal((height, width), dtype=np.float32), passes=1)
    markings_weight = soft_lung.copy()

    # Spine and mediastinum; trachea as a dark stripe.
    spine = np.abs(x - 0.5) < 0.045
    image += 30.0 * _smooth(spine & body)
    trachea = (np.abs(x - 0.5) < 0.018) & (y > 0.04) & (y < 0.30)
    image -= 25.0 * _smooth(trachea)

    # Clavicles.
    for side_sign in (-1, 1):
        cx = 0.5 + side_sign * 0.2
        clav = (np.abs(x - cx) < 0.2) & (np.abs(y - (0.12 + 0.05 * ((x - cx) * side_sign + 0.2))) < 0.012)
        image += 35.0 * _smooth(clav)

    # Posterior ribs: gentle arcs sloping down laterally, brighter over the lungs.
    ribs = np.zeros_like(image)
    for k in range(9):
        base = 0.16 + k * 0.075
        for side_sign in (-1, 1):
            u = (x - 0.5) * side_sign
            curve = base + 0.22 * u**2 + 0.05 * u
            band = (np.abs(y - curve) < 0.011) & (u > 0.05) & (u < 0.42)
            ribs += band
    image += 16.0 * _smooth(ribs, passes=1) * (0.4 + 0.6 * soft_lung)

    # Heart: a soft ellipse, two thirds of it to the patient's left (viewer's right).
    enlarged = "cardiomegaly" in labels
    half = _heart_half_width(enlarged)
    hx0, hx1 = 0.5 - half * 0.70, 0.5 + half * 1.30
    hcx, hrx = (hx0 + hx1) / 2, (hx1 - hx0) / 2
    hcy, hry = 0.61, 0.14 if not enlarged else 0.16
    heart = ((x - hcx) / hrx) ** 2 + ((y - hcy) / hry) ** 2 <= 1.0
    heart &= y < np.maximum(_diaphragm(x, "right"), _diaphragm(x, "left")) + 0.03
    image += 48.0 * _smooth(heart)
    markings_weight *= 1.0 - _smooth(heart)

    # Diaphragm and abdomen: bright below the domes.
    below = (y > np.where(x < 0.5, _diaphragm(x, "right"), _diaphragm(x, "left"))) & body & ~lung_any
    image += 22.0 * _smooth(below & (y > 0.7))

    drawn: list[DrawnFinding] = []
    for finding in spec.findings:
        drawn.append(
            _draw_finding(finding, image, markings_weight, x, y, lungs, finding_rng, (hx0, hx1, hcy, hry))
        )

    image += 6.0 * markings * markings_weight
    image += 2.0 * rng.standard_normal(image.shape, dtype=np.float32)  # film grain
    pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    pixels = _mark(pixels)
    return Phantom(spec=spec, pixels=pixels, findings=tuple(drawn))


def _box(x0: float, y0: float, x1: float, y1: float) -> Box:
    clip = [min(1.0, max(0.0, v)) for v in (x0, y0, x1, y1)]
    return Box(x0=round(clip[0], 4), y0=round(clip[1], 4), x1=round(clip[2], 4), y1=round(clip[3], 4))


def _mask_box(mask: np.ndarray) -> Box:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return _box(cols[0] / width, rows[0] / height, (cols[-1] + 1) / width, (rows[-1] + 1) / height)


def _draw_finding(
    finding: PhantomFinding,
    image: np.ndarray,
    markings_weight: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    lungs: dict[str, np.ndarray],
    rng: np.random.Generator,
    heart: tuple[float, float, float, float],
) -> DrawnFinding:
    side: PatientSide = finding.side
    lung = lungs[side]
    lx0, lx1 = _LUNG_X[side]
    if finding.label == "pleural_effusion":
        # Fluid fills the base; its surface (meniscus) climbs laterally.
        depth = 0.10 + 0.06 * finding.size
        lateral = (x - lx0) / (lx1 - lx0) if side == "right" else (lx1 - x) / (lx1 - lx0)
        surface = _LUNG_BASE[side] - depth - 0.09 * np.clip(1 - lateral, 0, 1) ** 3
        fluid = lung & (y >= surface)
        image += 55.0 * _smooth(fluid)
        markings_weight *= 1.0 - _smooth(fluid)
        return DrawnFinding(label="pleural_effusion", side=side, zone="lower", box=_mask_box(fluid))
    if finding.label == "pneumothorax":
        # Lung edge pulled away from the lateral chest wall at the apex; no markings beyond it.
        gap = 0.035 + 0.03 * finding.size
        if side == "right":
            edge_x = lx0 + gap + 0.09 * np.clip((y - _LUNG_TOP) / 0.4, 0, 1) ** 2
            space = lung & (x < lx0 + gap + 0.09) & (x < edge_x) & (y < 0.55)
            line = lung & (np.abs(x - edge_x) < 0.004) & (y < 0.55)
        else:
            edge_x = lx1 - gap - 0.09 * np.clip((y - _LUNG_TOP) / 0.4, 0, 1) ** 2
            space = lung & (x > lx1 - gap - 0.09) & (x > edge_x) & (y < 0.55)
            line = lung & (np.abs(x - edge_x) < 0.004) & (y < 0.55)
        image -= 14.0 * space
        image += 30.0 * line
        markings_weight[space] = 0.0
        return DrawnFinding(label="pneumothorax", side=side, zone="upper", box=_mask_box(space | line))
    if finding.label in ("lung_opacity", "nodule_mass"):
        cy = _ZONE_Y[finding.zone] + rng.uniform(-0.03, 0.03)
        cx = (lx0 + lx1) / 2 + rng.uniform(-0.06, 0.06)
        if finding.label == "lung_opacity":
            rx, ry, strength = 0.075 * finding.size, 0.06 * finding.size, 60.0
            blob = np.exp(-(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) * 2.0)
            blob *= 1.0 + 0.25 * _smooth(rng.standard_normal(blob.shape, dtype=np.float32), passes=1)
            region = (blob > 0.2) & lung
        else:
            r = 0.022 * finding.size
            distance = np.sqrt(((x - cx) / r) ** 2 + ((y - cy) / r) ** 2)
            blob = np.clip(1.2 - distance, 0, 1)
            strength = 60.0
            region = (distance <= 1.05) & lung
        image += strength * np.clip(blob, 0, 1.3) * lung
        if not region.any():
            region = lung & (np.abs(y - cy) < 0.02) & (np.abs(x - cx) < 0.02)
        return DrawnFinding(label=finding.label, side=side, zone=finding.zone, box=_mask_box(region))
    if finding.label == "cardiomegaly":
        hx0, hx1, hcy, hry = heart
        return DrawnFinding(
            label="cardiomegaly", side=None, zone=None, box=_box(hx0, hcy - hry, hx1, hcy + hry)
        )
    raise ValueError(f"cannot draw {finding.label!r}")


def _mark(pixels: np.ndarray) -> np.ndarray:
    """Burn "SYNTHETIC PHANTOM" into the top-left corner."""
    img = Image.fromarray(pixels, mode="L")
    draw = ImageDraw.Draw(img)
    draw.rectangle((4, 4, 8 + 6 * len(PHANTOM_MARK), 18), fill=0)
    draw.text((6, 6), PHANTOM_MARK, fill=255)
    return np.asarray(img, dtype=np.uint8).copy()
