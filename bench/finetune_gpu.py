"""GPU smoke run of fine-tuning: 20 QLoRA steps on a random-weight MedGemma-4B-shaped model.

Run: ``python -m bench finetune_gpu`` (or ``python -m bench.finetune_gpu [--steps 20] [--workdir DIR]
[--json FILE]``). Needs a CUDA GPU; without one it says so and exits with status 2, having
measured nothing.

No weights are needed: the model is built from MedGemma 4B's published shapes
(:mod:`models.published_configs`) with random weights and the stand-in Gemma 3 processor
(896 px images, 256 image tokens; the config's image-token ids point at the stand-in
tokenizer's, the vocabulary keeps its published size), saved, and trained through the real
path: ``train corpus`` on 24 synthetic phantoms with their true boxes, then ``train fit``
(nf4 QLoRA, r=16, batch 1, no accumulation) for ``--steps`` steps. Reports model build
time, load + train time, seconds per step and peak VRAM (``max_memory_allocated``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

STEPS = 20
PHANTOMS = 24
IMAGE_PX = 896
IMAGE_TOKENS = 256
GIB = 1024**3


@dataclass
class Figures:
    shape: str
    device: str
    steps: int
    build_s: float
    fit_s: float
    train_s: float
    s_per_step: float
    peak_vram_gib: float | None
    first_loss: float | None
    last_loss: float | None
    trainable_params: int


def cuda_or_none() -> Any:
    if find_spec("torch") is None:
        print("finetune_gpu: torch is not installed; this benchmark needs torch with CUDA", file=sys.stderr)
        return None
    import torch

    if not torch.cuda.is_available():
        print(
            f"finetune_gpu: no CUDA GPU here (torch {torch.__version__}); this benchmark runs only on a "
            "machine with an NVIDIA GPU. Nothing was measured.",
            file=sys.stderr,
        )
        return None
    return torch


def build_model(folder: Path, shape: str, device: str) -> Path:
    """A random-weight Gemma 3 image-text model (``4b`` published shapes, or ``tiny``) with a processor."""
    from models.synthetic import build_tiny_medgemma, gemma3_processor, save_random_model

    if shape == "tiny":
        return build_tiny_medgemma(folder)
    from transformers import Gemma3Config

    from models.published_configs import MEDGEMMA_4B

    processor = gemma3_processor(IMAGE_PX, IMAGE_TOKENS)
    vocab = processor.tokenizer.get_vocab()
    config = Gemma3Config(
        text_config=dict(MEDGEMMA_4B["text_config"]),
        vision_config=dict(MEDGEMMA_4B["vision_config"]),
        mm_tokens_per_image=IMAGE_TOKENS,
        boi_token_index=vocab["<start_of_image>"],
        eoi_token_index=vocab["<end_of_image>"],
        image_token_index=vocab["<image_soft_token>"],
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<bos>"],
        eos_token_id=[vocab["<eos>"], vocab["<end_of_turn>"]],
    )
    return save_random_model(
        config, "Gemma3ForConditionalGeneration", folder, processor, dtype="bfloat16", device=device
    )


def write_phantoms(folder: Path, count: int) -> tuple[Path, Path]:
    """(images folder, annotations CSV): seeded phantoms, two in three with a finding, true boxes."""
    from PIL import Image

    from data.phantoms import PhantomFinding, PhantomSpec, draw_phantom

    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    labels = ("pneumothorax", "pleural_effusion", "nodule_mass", "cardiomegaly", "lung_opacity")
    annotations = folder / "annotations.csv"
    with annotations.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "x0", "y0", "x1", "y1", "normalized"])
        for index in range(count):
            findings = (
                () if index % 3 == 0 else (PhantomFinding(label=labels[index % len(labels)], side="left"),)
            )
            phantom = draw_phantom(PhantomSpec(seed=index, findings=findings))
            name = f"phantom_{index:03d}.png"
            Image.fromarray(phantom.pixels).save(images / name)
            for drawn in phantom.findings:
                box = drawn.box
                writer.writerow([name, drawn.label, box.x0, box.y0, box.x1, box.y1, "true"])
            if not phantom.findings:
                writer.writerow([name, "no_finding", "", "", "", "", ""])
    return images, annotations


def run(
    workdir: Path, *, shape: str = "4b", steps: int = STEPS, device: str = "cuda:0", profile: Any = None
) -> Figures:
    """Build, curate and train; the figures of one run."""
    import torch

    from finetune.corpus import build_corpus, corpus_profile
    from finetune.run_card import FitConfig
    from finetune.train import fit

    started = time.perf_counter()
    base = build_model(workdir / "base", shape, device)
    build_s = time.perf_counter() - started
    images, annotations = write_phantoms(workdir / "data", PHANTOMS)
    build_corpus(
        images,
        [(annotations, "folder")],
        workdir / "corpus",
        profile or corpus_profile(None),
        val_fraction=0.0,
    )
    on_cuda = device.startswith("cuda")
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    began = time.perf_counter()
    card = fit(
        workdir / "corpus",
        workdir / "adapter",
        FitConfig(base=str(base), max_steps=steps, batch_size=1, grad_accum=1, warmup_ratio=0.0),
        show_progress=False,
    )
    fit_s = time.perf_counter() - began
    losses = [point.loss for point in card.loss_curve if point.loss is not None]
    return Figures(
        shape=shape,
        device=card.device,
        steps=card.steps,
        build_s=round(build_s, 2),
        fit_s=round(fit_s, 2),
        train_s=card.seconds,
        s_per_step=round(card.seconds / max(1, card.steps), 3),
        peak_vram_gib=round(torch.cuda.max_memory_allocated() / GIB, 2) if on_cuda else None,
        first_loss=losses[0] if losses else None,
        last_loss=losses[-1] if losses else None,
        trainable_params=_trainable(workdir / "adapter"),
    )


def _trainable(adapter: Path) -> int:
    """The adapter's parameter count, read from its safetensors header."""
    from safetensors import safe_open

    total = 0
    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as handle:
        names = handle.keys()
        for name in names:
            rows, columns = handle.get_slice(name).get_shape()
            total += rows * columns
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.finetune_gpu", description=__doc__)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--workdir", type=Path, help="keep the model, corpus and adapter here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if cuda_or_none() is None:
        return 2
    with tempfile.TemporaryDirectory(prefix="finetune-gpu-") as scratch:
        figures = run(args.workdir or Path(scratch), steps=args.steps)
    print(f"MedGemma-4B-shaped QLoRA, {figures.steps} steps on {figures.device}:")
    print(
        f"  build {figures.build_s:.1f} s; load + train {figures.fit_s:.1f} s; train {figures.train_s:.1f} s"
    )
    print(f"  {figures.s_per_step:.3f} s/step; peak VRAM {figures.peak_vram_gib} GiB")
    print(
        f"  loss {figures.first_loss} → {figures.last_loss}; "
        f"{figures.trainable_params:,} trainable parameters"
    )
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
