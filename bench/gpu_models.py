"""GPU benchmark of the two model backends: same-shape random-weight MedGemma 4B and Nemotron-3 Nano 4B.

Run: ``python -m bench.gpu_models [--quantization nf4 bf16] [--batch 16] [--workdir DIR] [--json FILE]``.
Needs a CUDA GPU (it exits with a message and status 2 without one) and, for nf4, bitsandbytes.

No weights are needed: both models are built from their published configs
(:mod:`models.published_configs`) with random weights on the GPU, saved to a temporary
folder, and loaded back through the real loading code (:func:`models.loading.load_model`,
nf4 via ``BitsAndBytesConfig`` or bf16) exactly as a downloaded model would be. Generation
is forced to a fixed token count (``min_new_tokens == max_new_tokens``), since random
weights would otherwise stop anywhere. Prompts are token ids of realistic length (256 image
tokens plus the grounding prompt; the parsing prompt plus a draft) and an 896 px image
tensor, because the stand-in tokenizer is byte-level and would inflate the prompts.

For each precision it reports load time, VRAM after loading (each model and both), time to
first token and decode tokens/s for one audit (grounding ~150 tokens, parsing ~200), the two
models run concurrently (two threads, as the workstation would), and a batch of 16 audits.
Targets from the issue: a full audit within 3 s on one datacenter GPU, and both models
together within 8 GB of VRAM in nf4 (so a 12 GB consumer card fits them).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from models import loading
from models.published_configs import MEDGEMMA_4B, medgemma_4b_config, nemotron_4b_config
from models.registry import QUANTIZED, spec_for
from models.settings import BackendSettings
from models.synthetic import gemma3_processor, nemotron_tokenizer, save_random_model

log = logging.getLogger("bench.gpu_models")

GIB = 1024**3
IMAGE_PX = 896
IMAGE_TOKENS = 256
GROUNDING_PROMPT_TOKENS = 260  # system turn + grounding instruction, Gemma 3 tokenizer
PARSING_PROMPT_TOKENS = 380  # system turn + parsing instruction + a ~40-word draft
AUDIT_TARGET_S = 3.0
VRAM_TARGET_BYTES = 8 * 10**9


@dataclass
class ModelFigures:
    load_s: float
    vram_after_load_gib: float
    ttft_s: float
    decode_tok_s: float
    generate_s: float
    new_tokens: int


@dataclass
class PrecisionFigures:
    quantization: str
    medgemma: ModelFigures
    nemotron: ModelFigures
    both_loaded_vram_gib: float
    audit_s: float  # grounding then parsing, one case
    concurrent_s: float  # grounding and parsing of one case at the same time
    batch: int
    batch_audit_s: float  # grounding a batch, then parsing a batch
    batch_per_audit_s: float
    peak_vram_gib: float
    notes: list[str] = field(default_factory=list)


def cuda_or_exit() -> Any:
    """torch with a usable CUDA device, or None after printing why not."""
    if find_spec("torch") is None:
        print("gpu_models: torch is not installed; this benchmark needs torch with CUDA", file=sys.stderr)
        return None
    import torch

    if not torch.cuda.is_available():
        print(
            f"gpu_models: no CUDA GPU here (torch {torch.__version__}); this benchmark runs only on a "
            "machine with an NVIDIA GPU. Nothing was measured.",
            file=sys.stderr,
        )
        return None
    return torch


def build_models(folder: Path) -> dict[str, Path]:
    """Save random-weight bf16 models of the published shapes, built directly on the GPU."""
    import torch

    paths: dict[str, Path] = {}
    started = time.perf_counter()
    paths["medgemma"] = save_random_model(
        medgemma_4b_config(),
        "Gemma3ForConditionalGeneration",
        folder / "medgemma-4b-random",
        gemma3_processor(IMAGE_PX, IMAGE_TOKENS),
        dtype="bfloat16",
        device="cuda",
    )
    gc.collect()
    torch.cuda.empty_cache()
    paths["nemotron"] = save_random_model(
        nemotron_4b_config(),
        "NemotronHForCausalLM",
        folder / "nemotron-4b-random",
        nemotron_tokenizer(),
        dtype="bfloat16",
        device="cuda",
    )
    gc.collect()
    torch.cuda.empty_cache()
    log.info("built and saved both random-weight models in %.0f s", time.perf_counter() - started)
    return paths


def grounding_inputs(batch: int, device: Any) -> dict[str, Any]:
    """Token ids shaped like the grounding chat: text, the image block of 256 tokens, text."""
    import torch

    generator = torch.Generator().manual_seed(0)
    head, tail = 20, GROUNDING_PROMPT_TOKENS - 20
    text = torch.randint(1000, 200_000, (batch, head + tail), generator=generator)
    image = torch.full((batch, IMAGE_TOKENS), MEDGEMMA_4B["image_token_index"])
    boi = torch.full((batch, 1), MEDGEMMA_4B["boi_token_index"])
    eoi = torch.full((batch, 1), MEDGEMMA_4B["eoi_token_index"])
    bos = torch.full((batch, 1), 2)
    input_ids = torch.cat([bos, text[:, :head], boi, image, eoi, text[:, head:]], dim=1)
    token_type_ids = (input_ids == MEDGEMMA_4B["image_token_index"]).long()
    pixel_values = torch.randn((batch, 3, IMAGE_PX, IMAGE_PX), generator=generator)
    return {
        "input_ids": input_ids.to(device),
        "attention_mask": torch.ones_like(input_ids).to(device),
        "token_type_ids": token_type_ids.to(device),
        "pixel_values": pixel_values.to(device, dtype=torch.bfloat16),
    }


def parsing_inputs(batch: int, device: Any) -> dict[str, Any]:
    import torch

    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(1000, 131_000, (batch, PARSING_PROMPT_TOKENS), generator=generator)
    return {"input_ids": input_ids.to(device), "attention_mask": torch.ones_like(input_ids).to(device)}


def timed_generate(model: Any, inputs: dict[str, Any], tokens: int) -> float:
    """Seconds for greedy generation of exactly ``tokens`` new tokens per sequence."""
    import torch

    torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    produced = out.shape[1] - inputs["input_ids"].shape[1]
    if produced != tokens:
        raise RuntimeError(f"asked for {tokens} new tokens, got {produced}")
    return seconds


def measure(model: Any, inputs: dict[str, Any], tokens: int) -> tuple[float, float, float]:
    """(time to first token, decode tokens/s per sequence, total seconds) after one warm-up."""
    timed_generate(model, inputs, 2)
    ttft = timed_generate(model, inputs, 1)
    total = timed_generate(model, inputs, tokens)
    decode = (tokens - 1) / max(total - ttft, 1e-9)
    return ttft, decode, total


def concurrent(jobs: list[tuple[Any, dict[str, Any], int]]) -> float:
    """Wall seconds to run several generations at once, one thread each."""
    import torch

    errors: list[BaseException] = []

    def run(model: Any, inputs: dict[str, Any], tokens: int) -> None:
        try:
            timed_generate(model, inputs, tokens)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    torch.cuda.synchronize()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    torch.cuda.synchronize()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def bench_precision(quantization: str, paths: dict[str, Path], args: argparse.Namespace) -> PrecisionFigures:
    import torch

    loading.clear_cache()
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    notes: list[str] = []
    settings = {
        name: BackendSettings(model_id=str(path), quantization=quantization, device="cuda")  # type: ignore[arg-type]
        for name, path in paths.items()
    }
    before = torch.cuda.memory_allocated()
    medgemma = loading.load_model(spec_for("grounder", "medgemma"), settings["medgemma"])
    after_medgemma = torch.cuda.memory_allocated()
    nemotron = loading.load_model(spec_for("parser", "nemotron"), settings["nemotron"])
    after_both = torch.cuda.memory_allocated()
    device = medgemma.model.device
    one_ground, one_parse = grounding_inputs(1, device), parsing_inputs(1, device)
    g_ttft, g_decode, g_total = measure(medgemma.model, one_ground, args.grounding_tokens)
    p_ttft, p_decode, p_total = measure(nemotron.model, one_parse, args.parsing_tokens)
    both_at_once = concurrent(
        [
            (medgemma.model, one_ground, args.grounding_tokens),
            (nemotron.model, one_parse, args.parsing_tokens),
        ]
    )
    batch_ground = timed_generate(medgemma.model, grounding_inputs(args.batch, device), args.grounding_tokens)
    batch_parse = timed_generate(nemotron.model, parsing_inputs(args.batch, device), args.parsing_tokens)
    if find_spec("mamba_ssm") is None or find_spec("causal_conv1d") is None:
        notes.append(
            "mamba_ssm/causal_conv1d not installed: Nemotron's Mamba-2 layers ran the PyTorch reference path"
        )
    return PrecisionFigures(
        quantization=quantization,
        medgemma=ModelFigures(
            medgemma.load_seconds,
            (after_medgemma - before) / GIB,
            g_ttft,
            g_decode,
            g_total,
            args.grounding_tokens,
        ),
        nemotron=ModelFigures(
            nemotron.load_seconds,
            (after_both - after_medgemma) / GIB,
            p_ttft,
            p_decode,
            p_total,
            args.parsing_tokens,
        ),
        both_loaded_vram_gib=(after_both - before) / GIB,
        audit_s=g_total + p_total,
        concurrent_s=both_at_once,
        batch=args.batch,
        batch_audit_s=batch_ground + batch_parse,
        batch_per_audit_s=(batch_ground + batch_parse) / args.batch,
        peak_vram_gib=torch.cuda.max_memory_allocated() / GIB,
        notes=notes,
    )


def format_report(gpu: str, figures: list[PrecisionFigures]) -> str:
    lines = [f"GPU: {gpu}", ""]
    header = f"{'':28}" + "".join(f"{f.quantization:>14}" for f in figures)
    lines.append(header)

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:28}" + "".join(f"{v:>14}" for v in values))

    for name in ("medgemma", "nemotron"):
        models = [getattr(f, name) for f in figures]
        row(f"{name} load s", [f"{m.load_s:.1f}" for m in models])
        row(f"{name} VRAM GiB", [f"{m.vram_after_load_gib:.2f}" for m in models])
        row(f"{name} TTFT s", [f"{m.ttft_s:.3f}" for m in models])
        row(f"{name} decode tok/s", [f"{m.decode_tok_s:.1f}" for m in models])
        row(f"{name} {models[0].new_tokens} tokens s", [f"{m.generate_s:.2f}" for m in models])
    row("both loaded VRAM GiB", [f"{f.both_loaded_vram_gib:.2f}" for f in figures])
    row("one audit s (sequential)", [f"{f.audit_s:.2f}" for f in figures])
    row("one audit s (concurrent)", [f"{f.concurrent_s:.2f}" for f in figures])
    row(f"batch of {figures[0].batch} s", [f"{f.batch_audit_s:.2f}" for f in figures])
    row("batch s per audit", [f"{f.batch_per_audit_s:.3f}" for f in figures])
    row("peak VRAM GiB", [f"{f.peak_vram_gib:.2f}" for f in figures])
    lines.append("")
    for f in figures:
        audit_ok = min(f.audit_s, f.concurrent_s) <= AUDIT_TARGET_S
        lines.append(f"{f.quantization}: audit ≤ {AUDIT_TARGET_S:.0f} s: {'yes' if audit_ok else 'no'}")
        if f.quantization == "nf4":
            fits = f.both_loaded_vram_gib * GIB <= VRAM_TARGET_BYTES
            lines.append(f"nf4: both models ≤ 8 GB VRAM: {'yes' if fits else 'no'}")
        lines.extend(f"{f.quantization}: {note}" for note in f.notes)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_models", description=__doc__.splitlines()[0])
    parser.add_argument("--quantization", nargs="+", default=["nf4", "bf16"], choices=["nf4", "int8", "bf16"])
    parser.add_argument("--batch", type=int, default=16, help="audits per batch (default 16)")
    parser.add_argument("--grounding-tokens", type=int, default=150)
    parser.add_argument("--parsing-tokens", type=int, default=200)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to save the random models (temporary)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    torch = cuda_or_exit()
    if torch is None:
        return 2
    gpu = torch.cuda.get_device_name(0)
    wanted = [q for q in args.quantization if q not in QUANTIZED or find_spec("bitsandbytes") is not None]
    for skipped in sorted(set(args.quantization) - set(wanted)):
        print(f"gpu_models: skipping {skipped}: bitsandbytes is not installed", file=sys.stderr)
    if not wanted:
        return 2
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="cxr-gpu-bench-") as tmp:
        paths = build_models(Path(tmp))
        figures = [bench_precision(q, paths, args) for q in wanted]
    loading.clear_cache()
    print(format_report(gpu, figures))
    if args.json is not None:
        args.json.write_text(json.dumps({"gpu": gpu, "figures": [asdict(f) for f in figures]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
