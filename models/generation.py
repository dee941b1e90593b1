"""What every generation leaves behind, and the retry ladder that runs over generations.

Each attempt is stored (its decoding plan, raw text, outcome, token counts, time) in a
:class:`RunRecord` kept by the backend beside the reading it returns. A reading that
needed a retry says so among its repairs; a reading that failed every attempt keeps the
last raw text and counts the attempts in its error.

A thinking generation that spends its whole budget without closing its trace has no
answer. When the chat template opened the trace (Nemotron's does), the generated text
carries no opening tag, so the opener is put back before the text is read: the recovery
layer then reports the unclosed trace instead of reading the reasoning as the answer. The
ladder's next attempts run with thinking off.

The helpers for transformers objects import torch only when called.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from audit.recover import REASONING_TAGS
from audit.schema import OutcomeStatus, ParseOutcome
from models.prompts import DecodingPlan, Task, without_thinking

log = logging.getLogger(__name__)


class AttemptRecord(BaseModel):
    """One generation: how it was decoded, what came back, and how it was read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0)
    decoding: DecodingPlan
    raw: str
    outcome: OutcomeStatus
    error: str | None = None
    prompt_tokens: int | None = None
    new_tokens: int | None = None
    seconds: float = Field(default=0.0, ge=0.0)
    trace_cut_off: bool = False  # thinking used the whole budget and never closed its trace


class RunRecord(BaseModel):
    """Every attempt one backend made for one input, and the model that made them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str
    task: Task
    model_id: str
    profile: str | None = None
    revision: str | None = None
    quantization: str | None = None
    device: str | None = None
    attempts: tuple[AttemptRecord, ...] = ()

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)

    @property
    def final_outcome(self) -> OutcomeStatus | None:
        return self.attempts[-1].outcome if self.attempts else None


@dataclass(frozen=True)
class Generation:
    """Raw text from one generation, with its token counts and duration."""

    text: str
    prompt_tokens: int | None = None
    new_tokens: int | None = None
    seconds: float = 0.0
    trace_cut_off: bool = False


def opened_trace(text: str, thinking: bool, hit_budget: bool) -> tuple[str, bool]:
    """(the text to read, whether a trace was cut off) for one generation.

    A thinking generation that stopped on its budget with no closing tag was cut off
    while thinking; its opener (which the chat template wrote into the prompt) is put back.
    """
    if not thinking or not hit_budget or any(closer in text for _, closer in REASONING_TAGS):
        return text, False
    opener = REASONING_TAGS[0][0]
    return (text if text.lstrip().startswith(opener) else f"{opener}{text}"), True


class Reading(Protocol):
    @property
    def outcome(self) -> ParseOutcome: ...

    @property
    def failed(self) -> bool: ...

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


R = TypeVar("R", bound=Reading)


def record(index: int, plan: DecodingPlan, generation: Generation, reading: Reading) -> AttemptRecord:
    return AttemptRecord(
        index=index,
        decoding=plan,
        raw=generation.text,
        outcome=reading.outcome.status,
        error=reading.outcome.error,
        prompt_tokens=generation.prompt_tokens,
        new_tokens=generation.new_tokens,
        seconds=round(generation.seconds, 6),
        trace_cut_off=generation.trace_cut_off,
    )


def continue_ladder(
    reading: R,
    attempts: list[AttemptRecord],
    ladder: Sequence[DecodingPlan],
    generate: Callable[[DecodingPlan, str, str | None], Generation],
    read: Callable[[str], R],
    thinking_off_tokens: int | None = None,
) -> R:
    """Run the remaining rungs of ``ladder`` while ``reading`` has failed.

    ``attempts`` already holds the first attempt(s); each new one is appended.
    ``generate(plan, previous_raw, previous_error)`` makes one generation. Once a trace was
    cut off, the remaining rungs run with thinking off and ``thinking_off_tokens``.
    """
    while reading.failed and len(attempts) < len(ladder):
        plan = ladder[len(attempts)]
        previous = attempts[-1]
        if thinking_off_tokens is not None and any(a.trace_cut_off for a in attempts):
            plan = without_thinking(plan, thinking_off_tokens, after_cut_off=previous.trace_cut_off)
        log.info("retrying a failed %s (%s) as %s", plan.task, previous.error, plan.kind)
        generation = generate(plan, previous.raw, previous.error)
        reading = read(generation.text)
        attempts.append(record(len(attempts), plan, generation, reading))
    return reading


def settle(reading: R, attempts: Sequence[AttemptRecord]) -> R:
    """The reading to return, with the retries written into its outcome."""
    if len(attempts) <= 1:
        return reading
    outcome = reading.outcome
    if reading.failed:
        settled = ParseOutcome.failed(
            f"all {len(attempts)} attempts failed; last: {outcome.error}",
            raw=outcome.raw,
            repairs=outcome.repairs,
        )
    else:
        failures = "; ".join(f"attempt {a.index + 1} ({a.decoding.kind}): {a.error}" for a in attempts[:-1])
        note = f"read on attempt {len(attempts)} ({attempts[-1].decoding.kind}) after {failures}"
        settled = ParseOutcome(
            status="recovered",
            repairs=(*outcome.repairs, note),
            raw=outcome.raw if outcome.raw is not None else attempts[-1].raw,
            dropped_items=outcome.dropped_items,
        )
    result: R = reading.model_copy(update={"outcome": settled})
    return result


def decode_new_tokens(
    tokenizer: Any, sequences: Any, prompt_length: int, stop_ids: set[int]
) -> list[tuple[str, int, bool]]:
    """Decode what ``generate`` added after the prompt: (text, token count, stopped) per row.

    A row ends at its first stop token (``stopped`` True) or at the budget; padding and
    other special tokens are removed, but reasoning-trace tags (``</think>``,
    ``<unused95>``) are kept so that the recovery layer can strip the trace they close.
    """
    pad_id = getattr(tokenizer, "pad_token_id", None)
    keep = {tag for pair in REASONING_TAGS for tag in pair}
    specials = [t for t in getattr(tokenizer, "all_special_tokens", []) if t and t not in keep]
    rows: list[tuple[str, int, bool]] = []
    for row in sequences[:, prompt_length:].tolist():
        ids: list[int] = []
        stopped = False
        for token in row:
            if token in stop_ids:
                stopped = True
                break
            if token != pad_id:
                ids.append(token)
        text = tokenizer.decode(ids, skip_special_tokens=False)
        for special in specials:
            text = text.replace(special, "")
        rows.append((text, len(ids), stopped))
    return rows


def stop_token_ids(generation_config: Any, tokenizer: Any, stop_tokens: Sequence[str]) -> set[int]:
    """Every token that ends an answer: the generation config's eos, the tokenizer's eos and
    the profile's stop tokens (Nemotron's config names ``</s>``, its turns end in ``<|im_end|>``)."""
    ids = as_id_set(getattr(generation_config, "eos_token_id", None))
    ids |= as_id_set(getattr(tokenizer, "eos_token_id", None))
    unknown = getattr(tokenizer, "unk_token_id", None)
    for token in stop_tokens:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != unknown:
            ids.add(token_id)
        else:
            log.warning("the tokenizer has no stop token %s; it is not used", token)
    return ids


def as_id_set(value: Any) -> set[int]:
    if value is None:
        return set()
    if isinstance(value, int):
        return {value}
    return {int(v) for v in value}


def generate_kwargs(plan: DecodingPlan, eos_token_id: Any = None, pad_token_id: Any = None) -> dict[str, Any]:
    """Keyword arguments for ``model.generate`` that carry out ``plan`` exactly."""
    kwargs: dict[str, Any] = {"max_new_tokens": plan.max_new_tokens, "do_sample": plan.do_sample}
    if plan.do_sample:
        kwargs["temperature"] = plan.temperature
        kwargs["top_p"] = plan.top_p
        kwargs["top_k"] = None
    else:
        kwargs["temperature"] = None
        kwargs["top_p"] = None
        kwargs["top_k"] = None
    if eos_token_id is not None:
        kwargs["eos_token_id"] = eos_token_id
    if pad_token_id is not None:
        kwargs["pad_token_id"] = pad_token_id
    return kwargs


def run_generate(model: Any, inputs: Any, plan: DecodingPlan, eos_token_id: Any, pad_token_id: Any) -> Any:
    """``model.generate`` under ``plan``; sampling is seeded without touching the global RNG."""
    import torch

    kwargs = generate_kwargs(plan, eos_token_id, pad_token_id)
    devices = [model.device] if getattr(model.device, "type", "cpu") == "cuda" else []
    with torch.inference_mode(), torch.random.fork_rng(devices=devices):
        if plan.seed is not None:
            torch.manual_seed(plan.seed)
        return model.generate(**inputs, **kwargs)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started
