"""GPU check of the product: both model backends end to end on random weights of the published shapes.

Run: ``./run.sh bench gpu_models`` (or ``python -m bench.gpu_models``; ``--tiny`` runs the
same steps on CPU with tiny models, in seconds, so the path is known to work before a GPU).

MedGemma 4B and Nemotron-3 Nano 4B are built from their published configs
(:mod:`models.published_configs`) with random weights, saved, and loaded back by the real
loading code. Then, for each precision (nf4 first, then bf16), on ``--cases`` real
radiographs from ``../shared/data/images`` with synthetic drafts (:mod:`audit.synth`), the
product's own path runs (:mod:`bench.gpu_measure`) and reports: load time and VRAM, time
to first token and decode tokens/s, full-audit latency p50/p95 with the peak VRAM (the KV
cache included; one case at a time, which is also throughput at batch 1), throughput at
batch 4 and 16, and one audit through the whole retry ladder; last, if vLLM is installed
and time is left, the openai grounder at concurrency 16 against ``vllm serve`` of the
same random MedGemma. Each step's figures are appended to
``--out`` (JSON lines) as soon as it ends, so a bf16 step that does not fit loses nothing
measured before it (``out/gpu_models.jsonl`` by default). Everything stops within
``--budget-s`` (8 minutes by default).

Targets from the issue: a full audit (both models, nf4) in at most 3 s p50, and both
models resident within 8 GB of peak VRAM.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from bench import gpu_measure
from bench.gpu_measure import Figures, Recorder, full_budget

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AUDIT_TARGET_S = 3.0
VRAM_TARGET_GIB = 8e9 / 1024**3
VLLM_MIN_S = 150.0  # starting vLLM and measuring takes at least this long


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_models", description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny models on CPU: the same steps in seconds")
    parser.add_argument("--quantization", nargs="+", choices=["nf4", "int8", "bf16", "fp32"])
    parser.add_argument("--cases", type=int, help="real radiographs audited (default 32; tiny 4)")
    parser.add_argument(
        "--latency-cases", type=int, help="of them, audited one at a time (default 8; tiny 2)"
    )
    parser.add_argument("--batches", type=int, nargs="+", help="batch sizes for throughput (default 1 4 16)")
    parser.add_argument("--grounding-tokens", type=int, help="tokens per grounding (default 150; tiny 8)")
    parser.add_argument("--parsing-tokens", type=int, help="tokens per draft parse (default 200; tiny 8)")
    parser.add_argument("--repeats", type=int, help="timed generations per figure (default 3; tiny 1)")
    parser.add_argument("--budget-s", type=float, default=470.0, help="stop every step by then (default 470)")
    parser.add_argument("--vllm", choices=["auto", "off"], default="auto")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--workdir", type=Path, help="where the random models are saved (temporary)")
    parser.add_argument(
        "--out", type=Path, default=Path("out/gpu_models.jsonl"), help="figures, one JSON line a step"
    )
    args = parser.parse_args(argv)
    tiny = args.tiny
    defaults = {
        "quantization": ["fp32"] if tiny else ["nf4", "bf16"],
        "cases": 4 if tiny else 32,
        "latency_cases": 2 if tiny else 8,
        "batches": [1, 2] if tiny else [1, 4, 16],
        "grounding_tokens": 8 if tiny else 150,
        "parsing_tokens": 8 if tiny else 200,
        "repeats": 1 if tiny else 3,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def environment(tiny: bool) -> Figures | None:
    """Versions and the device; None (after saying why) when a GPU run has no GPU."""
    if find_spec("torch") is None:
        print("gpu_models: torch is not installed; this benchmark needs torch with CUDA", file=sys.stderr)
        return None
    import torch
    import transformers

    if not tiny and not torch.cuda.is_available():
        print(
            f"gpu_models: no CUDA GPU here (torch {torch.__version__}); this benchmark runs only on a "
            "machine with an NVIDIA GPU (--tiny runs its steps on CPU). Nothing was measured.",
            file=sys.stderr,
        )
        return None
    return {
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() and not tiny else "cpu",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "bitsandbytes": _version("bitsandbytes"),
        "mamba_ssm": _version("mamba_ssm"),
        "causal_conv1d": _version("causal_conv1d"),
        "vllm": _version("vllm"),
    }


def _version(module: str) -> str | None:
    if find_spec(module) is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.replace("_", "-"))
    except PackageNotFoundError:
        return "installed"


def build(folder: Path, tiny: bool) -> Figures:
    from models import synthetic

    if tiny:
        paths = {
            "medgemma": synthetic.build_tiny_medgemma(folder / "medgemma"),
            "nemotron": synthetic.build_tiny_nemotron(folder / "nemotron"),
        }
    else:
        paths = synthetic.build_published_models(folder)
    return {name: str(path) for name, path in paths.items()}


def backends(paths: Figures, quantization: str, args: argparse.Namespace, **extra: Any) -> tuple[Any, Any]:
    """The grounder and parser as the registry builds them, over the saved random models."""
    from models.registry import get_grounder, get_parser
    from models.settings import BackendSettings

    device = "cpu" if args.tiny else "cuda"

    def settings(model: str, tokens: int) -> BackendSettings:
        values: dict[str, Any] = {"model_id": model, "quantization": quantization, "device": device}
        values.update(max_new_tokens=tokens, enable_thinking=False, max_retries=0, batch_size=1, seed=0)
        return BackendSettings(**{**values, **extra})

    grounder = get_grounder("medgemma", settings(paths["medgemma"], args.grounding_tokens))
    parser = get_parser("nemotron", settings(paths["nemotron"], args.parsing_tokens))
    return grounder, parser


def bench_precision(
    recorder: Recorder, quantization: str, paths: Figures, cases: list, args: argparse.Namespace, until: float
) -> None:
    gpu_measure.free_memory()
    cuda = gpu_measure.cuda_module()
    if cuda is not None:
        cuda.reset_peak_memory_stats()

    def load() -> Figures:
        grounder, parser = backends(paths, quantization, args)
        figures: Figures = {
            "skip_modules": list(grounder.loaded.estimate.skipped_modules) if grounder.loaded.estimate else []
        }
        for name, backend in (("medgemma", grounder), ("nemotron", parser)):
            loaded = backend.loaded
            figures[f"{name}_load_s"] = round(loaded.load_seconds, 2)
            figures[f"{name}_weights_gib"] = round((loaded.footprint_bytes or 0) / 1024**3, 3)
            figures[f"{name}_estimate_gib"] = (
                round(loaded.estimate.total_bytes / 1024**3, 3) if loaded.estimate else None
            )
        return {**figures, **gpu_measure.vram()}

    if recorder.step("load", quantization, load, until) is None:
        return
    grounder, parser = backends(paths, quantization, args)
    ground_chat, parse_chat = gpu_measure.chats(grounder, parser, cases[0])
    with full_budget(grounder, parser):
        recorder.step(
            "generation medgemma",
            quantization,
            lambda: gpu_measure.generation(grounder, ground_chat, args.grounding_tokens, args.repeats),
            until,
        )
        recorder.step(
            "generation nemotron",
            quantization,
            lambda: gpu_measure.generation(parser, parse_chat, args.parsing_tokens, args.repeats),
            until,
        )
        recorder.step(
            "audit",
            quantization,
            lambda: gpu_measure.audits(grounder, parser, cases[: args.latency_cases]),
            until,
        )
    for batch in args.batches:
        if batch == 1:
            continue  # the audit step is batch 1: one case at a time
        batched = backends(paths, quantization, args, batch_size=batch)
        subset = cases[: max(batch * 2, args.latency_cases)]
        with full_budget(*batched):
            measure = partial(gpu_measure.throughput, *batched, subset, batch)
            recorder.step(f"throughput batch {batch}", quantization, measure, until)
    laddered = backends(paths, quantization, args, max_retries=2)
    with full_budget(*laddered):
        recorder.step("retries", quantization, lambda: gpu_measure.retries(*laddered, cases[0]), until)
    gpu_measure.free_memory()


def vllm(recorder: Recorder, paths: Figures, cases: list, args: argparse.Namespace) -> None:
    """The openai grounder at concurrency 16 against ``vllm serve`` of the random MedGemma."""
    executable = shutil.which("vllm")
    if args.tiny or args.vllm == "off" or executable is None:
        why = "not on --tiny" if args.tiny else "off" if args.vllm == "off" else "vllm is not installed"
        recorder.write({"step": "vllm", "precision": "bf16", "status": "skipped", "reason": why})
        return
    if recorder.remaining() < VLLM_MIN_S:
        recorder.write(
            {"step": "vllm", "precision": "bf16", "status": "skipped", "reason": "too little time left"}
        )
        return
    port = 8765
    command = [executable, "serve", paths["medgemma"], "--port", str(port), "--host", "127.0.0.1"]
    command += [
        "--max-model-len",
        "4096",
        "--gpu-memory-utilization",
        "0.5",
        "--limit-mm-per-prompt",
        '{"image": 1}',
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def run() -> Figures:
        from models.openai_backend import OpenAIGrounder
        from models.settings import BackendSettings

        started = time.monotonic()
        url = f"http://127.0.0.1:{port}/v1"
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"vllm serve exited: {(server.stderr.read() if server.stderr else '')[-300:]}"
                )
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).close()
                break
            except OSError:
                if recorder.remaining() < 60:
                    raise TimeoutError("vllm serve did not come up in time") from None
                time.sleep(2)
        up = time.monotonic() - started
        settings = BackendSettings(
            endpoint_url=url,
            model_id=paths["medgemma"],
            concurrency=16,
            max_retries=0,
            max_new_tokens=args.grounding_tokens,
        )
        grounder = OpenAIGrounder.from_settings(settings)
        seconds = gpu_measure.timed(lambda: grounder.ground_batch(cases))
        tokens = sum(a.new_tokens or 0 for run in grounder.last_runs for a in run.attempts)
        return {
            "startup_s": round(up, 1),
            "n": len(cases),
            "images_per_s": round(len(cases) / seconds, 2),
            "completion_tok_s": round(tokens / seconds, 1),
        }

    try:
        recorder.step("vllm", "bf16", run)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def report(path: Path) -> str:
    """The figures of a results file, one line a step, then the targets."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    shown = ("load_s", "gib", "ttft_s", "decode_tok_s", "audit_p", "audits_per_s", "images_per_s", "tok_s")
    lines = []
    for record in records:
        if record["status"] != "ok" or record["step"] in ("environment", "build", "cases"):
            continue
        figures = {k: v for k, v in record.items() if any(part in k for part in shown)}
        lines.append(f"{record['step']} {record.get('precision') or ''}: {figures}")
    for record in records:
        if record["step"] != "audit" or record["status"] != "ok":
            continue
        precision, p50 = record["precision"], record["audit_p50_s"]
        verdict = "met" if p50 <= AUDIT_TARGET_S else "not met"
        lines.append(f"{precision}: full audit p50 {p50:.2f} s (target <= {AUDIT_TARGET_S:.0f} s: {verdict})")
        if "vram_peak_gib" in record:
            peak = record["vram_peak_gib"]
            verdict = "met" if peak <= VRAM_TARGET_GIB else "not met"
            lines.append(
                f"{precision}: peak VRAM, both models at batch 1 {peak:.2f} GiB (target <= 8 GB: {verdict})"
            )
    problems = [
        f"{r['step']} {r.get('precision') or ''}: {r['status']} ({r.get('reason')})"
        for r in records
        if r["status"] != "ok"
    ]
    return "\n".join([*lines, *problems, f"every step's figures: {path}"])


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    deadline = time.monotonic() + args.budget_s
    env = environment(args.tiny)
    if env is None:
        return 2
    recorder = Recorder(args.out, deadline)
    recorder.write({"step": "environment", "precision": None, "status": "ok", **env})
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="cxr-gpu-bench-") as tmp:
        paths = recorder.step("build", None, lambda: build(Path(tmp), args.tiny))
        items: list[Any] = []

        def read_cases() -> Figures:
            items.extend(gpu_measure.audit_cases(args.data, args.cases))
            return {"n": len(items), "first": items[0].case_id, "last": items[-1].case_id}

        if paths is None or recorder.step("cases", None, read_cases) is None:
            print(report(args.out))
            return 1
        share = recorder.remaining() / max(1, len(args.quantization))
        for quantization in args.quantization:
            bench_precision(recorder, quantization, paths, items, args, time.monotonic() + share)
        vllm(recorder, paths, items, args)
    print(report(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
