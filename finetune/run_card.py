"""A training run's settings and its record (``run_card.json`` beside the adapter), without torch."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from finetune.errors import CorpusError
from finetune.loss_mask import MaskCheck
from finetune.records import CURATION_FILE, TRAIN_FILE, VAL_FILE

RUN_CARD_FILE = "run_card.json"
# The attention and MLP projections of the language model, not the vision tower's.
LANGUAGE_MODEL_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
VERSIONED = ("torch", "transformers", "trl", "peft", "bitsandbytes", "accelerate", "datasets")


class FitConfig(BaseModel):
    """Everything that decides what a training run learns (a resumed run must match it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: str
    quantization: str = Field(default="nf4", description="nf4: QLoRA (double quant, bf16 compute)")
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=16, ge=1)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: str = LANGUAGE_MODEL_TARGETS
    learning_rate: float = Field(default=2e-4, gt=0)
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int = Field(default=-1, description="when > 0, overrides epochs")
    batch_size: int = Field(default=1, ge=1)
    grad_accum: int = Field(default=8, ge=1)
    warmup_ratio: float = Field(default=0.03, ge=0.0, lt=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    seed: int = Field(default=0, ge=0)
    gradient_checkpointing: bool = True


class LossPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int
    epoch: float | None = None
    loss: float | None = None
    eval_loss: float | None = None
    learning_rate: float | None = None
    grad_norm: float | None = None


class RunCard(BaseModel):
    """What was trained, on what, with which code, and how the loss went."""

    model_config = ConfigDict(extra="forbid")

    corpus: str
    corpus_hash: str
    corpus_examples: dict[str, int]
    profile: str
    config: FitConfig
    versions: dict[str, str]
    device: str
    steps: int
    seconds: float
    resumed_from: str | None = None
    loss_curve: list[LossPoint]
    final_eval_loss: float | None = None
    mask_check: MaskCheck
    checkpoints: list[str]


def corpus_hash(corpus: Path) -> str:
    """sha256 over the corpus's three files (raises CorpusError when one is missing)."""
    digest = hashlib.sha256()
    for name in (TRAIN_FILE, VAL_FILE, CURATION_FILE):
        path = corpus / name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CorpusError(
                f"{corpus} is not a corpus folder ({name}: {error.strerror or error}); "
                "build one with cxr-audit train corpus"
            ) from None
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def loss_curve(log_history: list[dict[str, Any]]) -> list[LossPoint]:
    keys = set(LossPoint.model_fields)
    return [
        LossPoint(**{k: v for k, v in entry.items() if k in keys})
        for entry in log_history
        if "loss" in entry or "eval_loss" in entry
    ]


def read_run_card(folder: Path) -> RunCard | None:
    path = folder / RUN_CARD_FILE
    if not path.is_file():
        return None
    return RunCard.model_validate(json.loads(path.read_text(encoding="utf-8")))
