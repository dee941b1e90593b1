"""``cxr-audit train corpus|fit|merge``: build an SFT corpus, fine-tune a grounder, merge and verify it.

- ``corpus`` reads annotated images through the importers' readers, curates them and writes
  ``train.jsonl``, ``val.jsonl`` and ``curation.json`` (:mod:`finetune.corpus`);
- ``fit`` trains a QLoRA adapter on a corpus (:mod:`finetune.train`; needs
  ``requirements-train.txt``: trl and peft);
- ``merge`` folds an adapter into a clean 16-bit base, verifies it and publishes it only
  when it passes (:mod:`finetune.merge`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from finetune.records import SOURCES
from workstation.cli.errors import CliError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "train",
        help="build a fine-tuning corpus, train a grounder adapter, merge and verify it",
        description="Fine-tune a grounder: corpus → fit → merge. Research and education only.",
    )
    steps = parser.add_subparsers(dest="step", required=True, metavar="STEP")
    _corpus_parser(steps)
    _fit_parser(steps)
    _merge_parser(steps)


def _corpus_parser(steps: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = steps.add_parser(
        "corpus",
        help="curate annotated images into train.jsonl, val.jsonl and curation.json",
        description="Read boxes with the importers' readers, map them to the checkpoint's vocabulary, "
        "merge same-finding boxes (IoU ≥ 0.5), keep the more specific finding where two overlap "
        "(IoU ≥ 0.6), balance normal images to about 1:1, and split 90/10 by patient. "
        "curation.json accounts for every box.",
    )
    parser.add_argument("--images", type=Path, required=True, help="folder of images (searched recursively)")
    parser.add_argument(
        "--boxes", type=Path, action="append", required=True, help="box file; give it again for more files"
    )
    parser.add_argument(
        "--source",
        action="append",
        choices=SOURCES,
        help="which importer reads each --boxes file, in order (one value applies to all; default nih). "
        "nih also reads the ChestX-Det rows of the shared boxes.csv",
    )
    parser.add_argument("--vindr-vqa", type=Path, help="VinDr-CXR-VQA data_v1.json, joined by image id")
    parser.add_argument(
        "--labels",
        type=Path,
        help="NIH image-level labels (Data_Entry_2017 or labels.csv): images labelled 'No Finding' "
        "become normal examples",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the corpus")
    parser.add_argument("--profile", help="checkpoint profile whose prompt and vocabulary the corpus uses")
    parser.add_argument("--seed", type=int, default=0, help="seed for balancing and the split (default 0)")
    parser.add_argument("--normal-ratio", type=float, default=1.0, help="normal images per positive (1.0)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="share of patients in val (0.1)")
    parser.add_argument("--no-verify", action="store_true", help="read image headers only (faster)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run_corpus)


def _fit_parser(steps: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from finetune.run_card import FitConfig

    defaults = FitConfig(base="-")
    parser = steps.add_parser(
        "fit",
        help="train a QLoRA adapter on a corpus (resumes into an existing --out)",
        description="TRL SFTTrainer, QLoRA nf4 (double quantization, bf16 compute), loss on the assistant "
        "target only (asserted on every batch). Writes the adapter, run_card.json and checkpoints/.",
    )
    parser.add_argument("--corpus", type=Path, required=True, help="a folder made by train corpus")
    parser.add_argument("--base", required=True, help="base model id or local folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the adapter")
    parser.add_argument("--epochs", type=float, default=defaults.epochs)
    parser.add_argument("--max-steps", type=int, default=defaults.max_steps, help="> 0 overrides --epochs")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--grad-accum", type=int, default=defaults.grad_accum)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--lora-r", type=int, default=defaults.lora_r)
    parser.add_argument("--lora-alpha", type=int, default=defaults.lora_alpha)
    parser.add_argument(
        "--target-modules",
        default=defaults.target_modules,
        help="regular expression of the module names LoRA adapts (default: the language model's "
        "attention and MLP projections)",
    )
    parser.add_argument("--quantization", choices=("nf4", "bf16"), default=defaults.quantization)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run_fit)


def _merge_parser(steps: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = steps.add_parser(
        "merge",
        help="merge an adapter into a clean 16-bit base, verify it, publish only if it passes",
        description="Writes merge_report.json (verified and the numbers); the merged weights, with the "
        "base's processor and chat template, only when every check passes.",
    )
    parser.add_argument("--base", required=True, help="the base model the adapter was trained on")
    parser.add_argument("--adapter", type=Path, required=True, help="a folder made by train fit")
    parser.add_argument("--out", type=Path, required=True, help="folder for the merged model")
    parser.set_defaults(func=run_merge)


def _boxes_and_sources(args: argparse.Namespace) -> list[tuple[Path, str]]:
    sources = args.source or ["nih"]
    if len(sources) == 1:
        sources = sources * len(args.boxes)
    if len(sources) != len(args.boxes):
        raise CliError(
            f"{len(args.boxes)} --boxes file(s) but {len(sources)} --source value(s): give one --source, "
            "or one per --boxes"
        )
    for path in [
        *args.boxes,
        *([args.vindr_vqa] if args.vindr_vqa else []),
        *([args.labels] if args.labels else []),
    ]:
        if not path.is_file():
            raise CliError(f"{path} is not a file")
    return list(zip(args.boxes, sources, strict=True))


def run_corpus(args: argparse.Namespace) -> int:

    from finetune.corpus import build_corpus, corpus_profile

    if not 0 <= args.val_fraction < 1:
        raise CliError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    if args.normal_ratio < 0:
        raise CliError(f"--normal-ratio must be 0 or more, got {args.normal_ratio}")
    boxes = _boxes_and_sources(args)
    report = build_corpus(
        args.images,
        boxes,
        args.out,
        corpus_profile(args.profile),
        labels=args.labels,
        vindr_vqa=args.vindr_vqa,
        seed=args.seed,
        normal_ratio=args.normal_ratio,
        val_fraction=args.val_fraction,
        verify=not args.no_verify,
        show_progress=not args.no_progress,
    )
    dropped = ", ".join(f"{reason} {n:,}" for reason, n in report.dropped.items()) or "none"
    print(
        f"{report.input_boxes:,} input boxes: {report.kept:,} kept, {report.merged:,} merged, "
        f"{report.deduplicated:,} deduplicated, {sum(report.dropped.values()):,} dropped ({dropped})"
    )
    for name, split in report.splits.items():
        print(
            f"{name}: {split.images:,} images ({split.normal_images:,} normal), {split.patients:,} patients"
        )
    print(f"Corpus in {args.out}; curation.json accounts for every box.")
    return 0


def run_fit(args: argparse.Namespace) -> int:
    from finetune.run_card import FitConfig
    from finetune.train import fit

    config = FitConfig(
        base=args.base,
        quantization=args.quantization,
        lora_r=args.lora_r,
        lora_alpha=args.lora_alpha,
        target_modules=args.target_modules,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        seed=args.seed,
    )
    card = fit(args.corpus, args.out, config, show_progress=not args.no_progress)
    losses = [point.loss for point in card.loss_curve if point.loss is not None]
    last = f"{losses[-1]:.4f}" if losses else "n/a"
    print(
        f"Trained {card.steps} step(s) on {card.device} in {card.seconds:.1f} s; last loss {last}; "
        f"loss mask checked on {card.mask_check.batches} batch(es). Adapter and run_card.json in {args.out}."
    )
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from finetune.merge import merge

    report = merge(args.base, args.adapter, args.out)
    print(json.dumps({"verified": report.verified, "out": report.out}))
    return 0
