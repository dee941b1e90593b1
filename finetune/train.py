"""``train fit``: QLoRA fine-tuning of an image-text model on a corpus, with TRL's ``SFTTrainer``.

The base loads in nf4 (double quantization, bf16 compute; vision tower, projector and
``lm_head`` kept out of 4-bit), LoRA adapters go on the projections that ``target_modules``
names (by default the language model's attention and MLP), and the loss falls on the
assistant target only: TRL's vision collator masks the prompt of prompt/completion data,
and :class:`~finetune.loss_mask.MaskCheckingCollator` asserts that on every batch.

The output folder holds the adapter (``adapter_config.json``, ``adapter_model.safetensors``),
``run_card.json`` and ``checkpoints/``; running again into it resumes from the last
checkpoint, and refuses when the corpus or the settings changed in between. Runs on a
CUDA GPU, or (slowly, for tiny models) on CPU. torch, transformers, trl, peft and datasets
are imported inside :func:`fit`.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from finetune.errors import CorpusError, FinetuneError
from finetune.loss_mask import MaskCheckingCollator, turn_suffix
from finetune.records import CURATION_FILE, TRAIN_FILE, VAL_FILE
from finetune.run_card import RUN_CARD_FILE, FitConfig, RunCard, corpus_hash, loss_curve, versions
from models.loading import quantization_config, require
from models.memory import resolve_skip_modules
from models.settings import DEFAULT_SKIP_MODULES

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
RUN_STATE_FILE = "run_state.json"


def read_examples(corpus: Path, name: str) -> list[dict[str, Any]]:
    """A corpus split's examples, reduced to what the trainer reads; image paths made absolute."""
    path = corpus / name
    examples: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CorpusError(f"cannot read {path}: {error.strerror or error}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            images = [str((corpus / image).resolve()) for image in record["images"]]
            examples.append(
                {"images": images, "prompt": record["prompt"], "completion": record["completion"]}
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise CorpusError(f"{path} line {number} is not a corpus example: {error}") from None
    return examples


def _dataset(examples: list[dict[str, Any]]) -> Any:
    datasets = require("datasets")
    table = datasets.Dataset.from_list(examples)
    return table.cast_column("images", datasets.List(datasets.Image(mode="RGB")))


def _claim(out: Path, config: FitConfig, digest: str) -> None:
    """Record what this folder trains; refuse to resume a run made with another corpus or settings."""
    state = {"corpus_hash": digest, "config": json.loads(config.model_dump_json())}
    path = out / RUN_STATE_FILE
    if path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != state:
            changed = [key for key in state if previous.get(key) != state[key]]
            raise FinetuneError(
                f"{out} holds a run with another {' and '.join(changed)}; resuming would mix two runs. "
                "Choose another --out, or delete the folder to start again"
            )
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _device() -> str:
    torch = require("torch")
    return "cuda:0" if torch.cuda.is_available() else "cpu"


def _stop_tokens(model: Any, tokenizer: Any) -> list[str]:
    ids = model.generation_config.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    return [tokenizer.convert_ids_to_tokens(i) for i in ids]


def _skip_modules(base: str) -> tuple[str, ...]:
    """The full names of the modules kept in 16 bits: bare names match nothing in transformers 5."""
    torch = require("torch")
    transformers = require("transformers")
    config = transformers.AutoConfig.from_pretrained(base)
    with torch.device("meta"):
        skeleton = transformers.AutoModelForImageTextToText.from_config(config)
    return resolve_skip_modules(skeleton, DEFAULT_SKIP_MODULES)


def load_base(base: str, config: FitConfig, device: str) -> tuple[Any, Any]:
    """The base model in 4 bits (or 16, for ``quantization='bf16'``) and its processor."""
    torch = require("torch")
    transformers = require("transformers")
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16, "device_map": {"": device}}
    try:
        bnb = quantization_config(config.quantization, _skip_modules(base))  # type: ignore[arg-type]
        if bnb is not None:
            kwargs["quantization_config"] = bnb
        model = transformers.AutoModelForImageTextToText.from_pretrained(base, **kwargs)
        processor = transformers.AutoProcessor.from_pretrained(base)
    except (OSError, ValueError) as error:
        raise FinetuneError(f"cannot load the base model {base}: {' '.join(str(error).split())}") from None
    return model, processor


def fit(corpus: Path, out: Path, config: FitConfig, *, show_progress: bool = True) -> RunCard:
    """Train an adapter on ``corpus`` into ``out`` (resuming what is there); returns the run card."""
    digest = corpus_hash(corpus)
    train_examples, val_examples = read_examples(corpus, TRAIN_FILE), read_examples(corpus, VAL_FILE)
    if not train_examples:
        raise CorpusError(f"{corpus / TRAIN_FILE} holds no example")
    _claim(out, config, digest)
    trl, peft = require("trl"), require("peft")
    transformers_trainer = require("transformers.trainer_utils")
    device = _device()
    model, processor = load_base(config.base, config, device)
    checkpoints = out / CHECKPOINTS
    args = trl.SFTConfig(
        output_dir=str(checkpoints),
        max_length=None,  # never cut the image tokens or the target
        completion_only_loss=True,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        seed=config.seed,
        bf16=True,
        use_cpu=device == "cpu",
        gradient_checkpointing=config.gradient_checkpointing,
        logging_steps=1,
        save_strategy="steps",
        save_steps=max(1, min(50, config.max_steps if config.max_steps > 0 else 50)),
        save_total_limit=3,
        eval_strategy="no",
        report_to="none",
        disable_tqdm=not show_progress,
        dataloader_num_workers=0,
    )
    lora = peft.LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        task_type="CAUSAL_LM",
    )
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        train_dataset=_dataset(train_examples),
        eval_dataset=_dataset(val_examples) if val_examples else None,
        processing_class=processor,
        peft_config=lora,
    )
    tokenizer = processor.tokenizer
    suffix = turn_suffix(processor, train_examples[0]["prompt"], _stop_tokens(model, tokenizer))
    collator = MaskCheckingCollator(
        trainer.data_collator, lambda ids: tokenizer.decode(ids, skip_special_tokens=False), suffix
    )
    trainer.data_collator = collator
    collator([dict(_dataset(train_examples[:1])[0])])  # a wrong mask fails here, before any step
    last = transformers_trainer.get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=last)
    eval_loss = trainer.evaluate()["eval_loss"] if val_examples else None
    trainer.model.save_pretrained(str(out))
    card = RunCard(
        corpus=str(corpus.resolve()),
        corpus_hash=digest,
        corpus_examples={"train": len(train_examples), "val": len(val_examples)},
        profile=_profile_name(corpus),
        config=config,
        versions=versions(),
        device=device,
        steps=trainer.state.global_step,
        seconds=round(time.perf_counter() - started, 3),
        resumed_from=last,
        loss_curve=loss_curve(trainer.state.log_history),
        final_eval_loss=eval_loss,
        mask_check=collator.record,
        checkpoints=sorted(p.name for p in checkpoints.glob("checkpoint-*")),
    )
    (out / RUN_CARD_FILE).write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return card


def _profile_name(corpus: Path) -> str:
    return str(json.loads((corpus / CURATION_FILE).read_text(encoding="utf-8")).get("profile", ""))
