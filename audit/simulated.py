"""A simulated imperfect grounder, to measure how audit quality follows grounding quality.

It wraps a grounder (usually ``reference``) and degrades what it returns: it drops a
fraction of findings, jitters the boxes it keeps, and invents false findings. All of it is
seeded per case, so a run is reproducible and independent of the order of cases.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from audit.labels import FINDING_LABELS
from audit.protocols import AuditCase, Grounder
from audit.schema import Box, Frozen, ImageFinding, ImageReading
from audit.synth import stable_seed


class GrounderNoise(Frozen):
    """How a simulated grounder degrades the boxes it is given."""

    name: str
    drop_rate: float = Field(ge=0.0, le=1.0)  # chance each finding is lost
    jitter: float = Field(ge=0.0)  # sd of centre shift and log-size change, as a fraction of the box size
    false_rate: float = Field(ge=0.0)  # mean number of invented findings per image (Poisson)


NOISE_LEVELS: dict[str, GrounderNoise] = {
    "low": GrounderNoise(name="low", drop_rate=0.05, jitter=0.05, false_rate=0.05),
    "medium": GrounderNoise(name="medium", drop_rate=0.15, jitter=0.15, false_rate=0.2),
    "high": GrounderNoise(name="high", drop_rate=0.3, jitter=0.3, false_rate=0.5),
}

# Smallest side of a jittered or invented box, so that jitter never yields an empty box.
_MIN_SIDE = 0.01


def _clamped_box(cx: float, cy: float, w: float, h: float) -> Box:
    w, h = min(max(w, _MIN_SIDE), 1.0), min(max(h, _MIN_SIDE), 1.0)
    x0 = min(max(cx - w / 2, 0.0), 1.0 - w)
    y0 = min(max(cy - h / 2, 0.0), 1.0 - h)
    return Box(x0=x0, y0=y0, x1=min(x0 + w, 1.0), y1=min(y0 + h, 1.0))


class SimulatedGrounder:
    """Wraps a grounder (usually ``reference``) and degrades its findings, seeded per case.

    Each finding is dropped with ``drop_rate``; a kept box has its centre moved and its size
    scaled by ``jitter`` (relative to the box), and is kept inside the image; a Poisson
    number of invented findings with random labels and boxes is added. The randomness
    depends on (seed, case id) only, so the result does not depend on the order of cases.
    """

    def __init__(self, base: Grounder, noise: GrounderNoise, seed: int = 0) -> None:
        self.base = base
        self.noise = noise
        self.seed = seed
        self.name = f"simulated-{noise.name}({base.name})"

    def ground(self, case: AuditCase) -> ImageReading:
        reading = self.base.ground(case)
        if reading.failed:
            return reading
        rng = np.random.default_rng(
            stable_seed(self.seed, case.case_id, "simulated-grounder", self.noise.name)
        )
        findings: list[ImageFinding] = []
        for finding in reading.findings:
            if finding.label == "no_finding":
                findings.append(finding)
                continue
            if rng.random() < self.noise.drop_rate:
                continue
            box = finding.box
            if box is not None and self.noise.jitter > 0:  # no jitter: the box is kept to the bit
                dx, dy, sw, sh = rng.normal(0.0, self.noise.jitter, size=4)
                box = _clamped_box(
                    (box.x0 + box.x1) / 2 + dx * box.width,
                    (box.y0 + box.y1) / 2 + dy * box.height,
                    box.width * math.exp(sw),
                    box.height * math.exp(sh),
                )
            findings.append(finding.model_copy(update={"box": box, "source": self.name}))
        for _ in range(int(rng.poisson(self.noise.false_rate))):
            label = FINDING_LABELS[int(rng.integers(0, len(FINDING_LABELS)))]
            cx, cy = rng.uniform(0.15, 0.85, size=2)
            w, h = rng.uniform(0.05, 0.3, size=2)
            findings.append(ImageFinding(label=label, box=_clamped_box(cx, cy, w, h), source=self.name))
        return reading.model_copy(update={"findings": tuple(findings), "backend": self.name})
