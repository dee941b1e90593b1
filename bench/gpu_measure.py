"""The measurements of :mod:`bench.gpu_models`, each one step whose figures are written as they come.

Every step runs the product's own path: the registry builds the backends, the loading
code loads the weights (nf4 through bitsandbytes with the skip list, or 16 bits), the
checkpoint profile shapes the chat and the image, the processor and chat template encode
it, ``generate`` runs, and the recovery layer and retry ladder read the answer. Random
weights would stop anywhere, so while a step runs the stop tokens (and padding) are pushed
out of reach: every generation then spends exactly its budget, a fixed and realistic
answer length (``--grounding-tokens``, ``--parsing-tokens``).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from audit.pipeline import run_audit
from audit.protocols import AuditCase
from audit.schema import ComparePolicy
from audit.synth import CORRUPTIONS, synthesize
from models import loading
from models.grounding import prepare_image
from models.prompts import DecodingPlan

log = logging.getLogger("bench.gpu_models")

GIB = 1024**3
Figures = dict[str, Any]


class Recorder:
    """Runs steps against a deadline and appends each one's figures to a JSON-lines file at once."""

    def __init__(self, path: Path, deadline: float) -> None:
        self.path = path
        self.deadline = deadline
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def write(self, record: Figures) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        figures = {k: v for k, v in record.items() if k not in ("step", "precision", "status")}
        print(f"[{record['status']}] {record['step']} {record.get('precision') or ''} {figures}", flush=True)

    def step(
        self, name: str, precision: str | None, run: Callable[[], Figures], until: float | None = None
    ) -> Figures | None:
        """Run one step unless its time is up; an out-of-memory or other error is recorded, not raised."""
        base: Figures = {"step": name, "precision": precision}
        if time.monotonic() >= min(self.deadline, until if until is not None else self.deadline):
            self.write({**base, "status": "skipped", "reason": "the time budget was spent"})
            return None
        started = time.perf_counter()
        try:
            figures = run()
        except Exception as error:  # a step that fails is a figure too: what did not fit, and why
            reason = "out of memory" if "out of memory" in str(error).lower() else type(error).__name__
            self.write(
                {**base, "status": "failed", "reason": reason, "detail": " ".join(str(error).split())[:300]}
            )
            free_memory()
            return None
        self.write({**base, "status": "ok", "seconds": round(time.perf_counter() - started, 3), **figures})
        return figures


def free_memory() -> None:
    loading.clear_cache()
    gc.collect()
    cuda = cuda_module()
    if cuda is not None:
        cuda.empty_cache()


def cuda_module() -> Any:
    import torch

    return torch.cuda if torch.cuda.is_available() else None


def vram() -> Figures:
    cuda = cuda_module()
    if cuda is None:
        return {}
    cuda.synchronize()
    return {
        "vram_allocated_gib": round(cuda.memory_allocated() / GIB, 3),
        "vram_peak_gib": round(cuda.max_memory_allocated() / GIB, 3),
    }


def audit_cases(data: Path, count: int, seed: int = 0) -> list[AuditCase]:
    """``count`` real radiographs with expert boxes, each with a synthetic draft (corruptions in turn)."""
    from bench.eval_nih import import_cases

    cases, _ = import_cases(data)
    boxed = [case for case in cases if case.reference and case.load_image is not None][:count]
    if len(boxed) < count:
        raise ValueError(f"{data} has {len(boxed)} boxed images, {count} were asked for")
    return [
        replace(
            case, draft=synthesize(case.case_id, case.reference, CORRUPTIONS[i % len(CORRUPTIONS)], seed).text
        )
        for i, case in enumerate(boxed)
    ]


@contextmanager
def full_budget(*backends: Any) -> Iterator[None]:
    """While the block runs, the backends' models never pick a stop token or padding."""
    handles = []
    for backend in backends:
        banned = sorted(backend.stop_ids | {backend.tokenizer.pad_token_id} - {None})

        def hook(module: object, inputs: object, logits: Any, banned: list[int] = banned) -> Any:
            logits[..., banned] -= 1e4
            return logits

        handles.append(backend.loaded.model.get_output_embeddings().register_forward_hook(hook))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def generation(backend: Any, chat: list[dict[str, Any]], tokens: int, repeats: int = 3) -> Figures:
    """Time to first token and decode tokens/s of one chat at batch 1 (medians, after a warm-up)."""
    plan = backend.ladder[0]
    one = plan.model_copy(update={"max_new_tokens": 1})
    full = plan.model_copy(update={"max_new_tokens": tokens})
    prompt_tokens = backend.generate([chat], one)[0].prompt_tokens  # also the warm-up
    ttft = statistics.median(timed(lambda: backend.generate([chat], one)) for _ in range(repeats))
    seconds = statistics.median(timed(lambda: backend.generate([chat], full)) for _ in range(repeats))
    return {
        "prompt_tokens": prompt_tokens,
        "ttft_s": round(ttft, 4),
        "decode_tok_s": round((tokens - 1) / max(seconds - ttft, 1e-9), 1),
        "generate_s": round(seconds, 3),
        "new_tokens": tokens,
    }


def timed(call: Callable[[], Any]) -> float:
    cuda = cuda_module()
    if cuda is not None:
        cuda.synchronize()
    started = time.perf_counter()
    call()
    if cuda is not None:
        cuda.synchronize()
    return time.perf_counter() - started


def chats(grounder: Any, parser: Any, case: AuditCase) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    image = prepare_image(case, grounder.profile).image
    plan: DecodingPlan = parser.ladder[0]
    return grounder.profile.messages(image), parser._chat(case.draft, plan)


def audits(grounder: Any, parser: Any, cases: Sequence[AuditCase]) -> Figures:
    """Full audits one case at a time (ground, parse, compare): latency p50 / p95 and the split."""
    totals, grounds, parses = [], [], []
    outcomes: dict[str, int] = {}
    for case in cases:
        report = run_audit(case, grounder, parser, ComparePolicy())
        totals.append(sum(report.timings.values()))
        grounds.append(report.timings.get("ground_s", 0.0))
        parses.append(report.timings.get("parse_s", 0.0))
        for reading in (report.image, report.draft):
            if reading is not None:
                outcomes[reading.outcome.status] = outcomes.get(reading.outcome.status, 0) + 1
    return {
        "n": len(cases),
        "audit_p50_s": round(statistics.median(totals), 3),
        "audits_per_s": round(len(totals) / sum(totals), 3),  # throughput at batch 1
        "audit_p95_s": round(percentile(totals, 0.95), 3),
        "ground_p50_s": round(statistics.median(grounds), 3),
        "parse_p50_s": round(statistics.median(parses), 3),
        "outcomes": outcomes,
        **vram(),
    }


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def retries(grounder: Any, parser: Any, case: AuditCase) -> Figures:
    """One audit through the whole retry ladder (random weights fail every attempt)."""
    seconds = timed(lambda: run_audit(case, grounder, parser, ComparePolicy()))
    return {
        "audit_s": round(seconds, 3),
        "grounding_attempts": [a.decoding.kind for a in grounder.last_run.attempts],
        "parsing_attempts": [a.decoding.kind for a in parser.last_run.attempts],
    }


def throughput(grounder: Any, parser: Any, cases: Sequence[AuditCase], batch: int) -> Figures:
    """Audits per second with ``batch`` images (then drafts) per generate call."""
    seconds = timed(lambda: (grounder.ground_batch(cases), parser.parse_batch([c.draft for c in cases])))
    return {
        "batch": batch,
        "n": len(cases),
        "audits_per_s": round(len(cases) / seconds, 3),
        "wall_s": round(seconds, 3),
        **vram(),
    }
