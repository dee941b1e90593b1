"""Fixtures for the fine-tuning tests: a small annotated folder, a corpus, a tiny model and its adapter.

The tiny Gemma 3 model is the one the model tests use (random weights, real processor and
chat template); the adapter is trained on it for two QLoRA steps once per session.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from audit.boxes import to_box_2d
from audit.labels import Label
from audit.schema import Box
from finetune.corpus import build_corpus
from finetune.records import CurationReport

WIDTH, HEIGHT = 96, 80


class StandInProfile:
    """A checkpoint profile for tests that must not depend on the published prompt's wording;
    it speaks the published fine-tune's vocabulary (``lung_opacity_consolidation``)."""

    name = "test-profile"
    prompt = "List the findings with their boxes as JSON."
    renamed: ClassVar[dict[str, str]] = {"lung_opacity_consolidation": "lung_opacity"}

    def user_turn(self, image: Any = None) -> dict[str, Any]:
        return {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.prompt}]}

    def vocabulary_label(self, label: Label) -> str:
        return next((name for name, ours in self.renamed.items() if ours == label), label)

    def renamed_labels(self) -> dict[str, Label]:
        return dict(self.renamed)  # type: ignore[arg-type]

    def answer_text(self, findings: Sequence[tuple[Label, Box | None]]) -> str:
        elements = [
            {
                "label": self.vocabulary_label(label),
                "box_2d": None if box is None else [round(v, 4) for v in to_box_2d(box)],
            }
            for label, box in findings
        ] or [{"label": "no_finding", "box_2d": None}]
        return json.dumps(elements)


def write_image(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, size=(HEIGHT, WIDTH), dtype=np.uint8)).save(path)


# image, label, x0, y0, x1, y1, reader, patient: two readers agree on p1's effusion (merged),
# an opacity sits on p2's nodule (deduplicated), atelectasis has no counterpart (dropped).
ANNOTATIONS: list[tuple[str, str, int, int, int, int, str, str]] = [
    ("a.png", "effusion", 10, 40, 40, 70, "r1", "p1"),
    ("a.png", "pleural_effusion", 11, 41, 41, 71, "r2", "p1"),
    ("b.png", "nodule", 50, 20, 70, 40, "r1", "p2"),
    ("b.png", "lung_opacity", 50, 21, 70, 41, "r2", "p2"),
    ("c.png", "pneumothorax", 60, 5, 90, 30, "r1", "p3"),
    ("d.png", "atelectasis", 20, 20, 40, 40, "r1", "p4"),
    ("e.png", "cardiomegaly", 30, 30, 70, 60, "r1", "p5"),
    ("f.png", "no_finding", 0, 0, 0, 0, "r1", "p6"),
    ("g.png", "no_finding", 0, 0, 0, 0, "r1", "p7"),
]


@pytest.fixture(scope="session")
def profile() -> StandInProfile:
    return StandInProfile()


@pytest.fixture(scope="session")
def annotated_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(images folder, annotations CSV) for the folder importer."""
    root = tmp_path_factory.mktemp("annotated")
    images = root / "images"
    names = sorted({row[0] for row in ANNOTATIONS})
    for seed, name in enumerate(names):
        write_image(images / name, seed)
    annotations = root / "annotations.csv"
    with annotations.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "x0", "y0", "x1", "y1", "reader", "patient"])
        for image, label, x0, y0, x1, y1, reader, patient in ANNOTATIONS:
            box = ["", "", "", ""] if label == "no_finding" else [x0, y0, x1, y1]
            writer.writerow([image, label, *box, reader, patient])
    return images, annotations


@pytest.fixture(scope="session")
def corpus(
    annotated_folder: tuple[Path, Path], profile: StandInProfile, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CurationReport]:
    images, annotations = annotated_folder
    out = tmp_path_factory.mktemp("corpus")
    report = build_corpus(images, [(annotations, "folder")], out, profile, val_fraction=0.2, seed=1)
    return out, report


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.synthetic import build_tiny_medgemma

    return build_tiny_medgemma(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture(scope="session")
def adapter(
    corpus: tuple[Path, CurationReport], tiny_base: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Two QLoRA steps on the tiny model (batch 2, no accumulation)."""
    from finetune.run_card import FitConfig
    from finetune.train import fit

    out = tmp_path_factory.mktemp("adapter")
    fit(
        corpus[0],
        out,
        FitConfig(base=str(tiny_base), max_steps=2, batch_size=2, grad_accum=1),
        show_progress=False,
    )
    return out
