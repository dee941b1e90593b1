"""What the two transformers backends share: batched chat generation with the retry ladder.

A subclass says how to turn one input into a chat, how to read raw text and which
chat-template arguments to pass; this class batches the first attempt, runs the retry
ladder per failed item, and keeps a :class:`RunRecord` per item. Generation stops on every
token that ends an answer (:func:`models.generation.stop_token_ids`: the generation
config's eos, the tokenizer's and the profile's stop tokens), so an answer never runs on
to the budget after its turn has ended. torch is imported only inside the calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Generic, Self, TypeVar

from audit.protocols import AuditCase
from models.checkpoints import AnyProfile
from models.generation import (
    AttemptRecord,
    Generation,
    Reading,
    RunRecord,
    continue_ladder,
    decode_new_tokens,
    opened_trace,
    record,
    run_generate,
    settle,
    stop_token_ids,
)
from models.loading import LoadedModel, load_model
from models.prompts import DecodingPlan, Message, Task, max_new_tokens, retry_ladder, with_correction
from models.registry import Kind, spec_for
from models.settings import BackendSettings

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Reading)
P = TypeVar("P")
Progress = Callable[[int], None]


class ChatBackend(Generic[R]):
    """Batched generation over a loaded model, with the retry ladder and run records."""

    name: str
    task: Task
    kind: Kind

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> Self:
        """Load the backend's model under ``settings`` and call it as its checkpoint profile says."""
        spec = spec_for(cls.kind, cls.name)
        profile, note = spec.profile(settings)
        return cls(load_model(spec, settings), settings, profile, (note,) if note else ())

    def __init__(
        self,
        loaded: LoadedModel,
        settings: BackendSettings,
        profile: AnyProfile,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.loaded = loaded
        self.settings = settings
        self.profile = profile
        self.notes = notes  # what the user should know (e.g. a profile assumed for a local folder)
        self.ladder = retry_ladder(profile, settings)
        self.thinking_off_tokens = max_new_tokens(profile, settings, thinking=False)
        self.stop_ids = stop_token_ids(loaded.model.generation_config, self.tokenizer, profile.stop_tokens)
        self.last_runs: tuple[RunRecord, ...] = ()

    @property
    def version(self) -> str:
        """What produced a reading, stored with each audit run: profile, model and precision."""
        plan = self.loaded.plan
        revision = f"@{plan.revision}" if plan.revision else ""
        return f"profile {self.profile.name}; {plan.model_id}{revision} ({plan.quantization}, {plan.device})"

    @property
    def last_run(self) -> RunRecord | None:
        """The record of the last input this backend read (every attempt, raw text kept)."""
        return self.last_runs[-1] if self.last_runs else None

    @property
    def tokenizer(self) -> Any:
        return getattr(self.loaded.preprocessor, "tokenizer", self.loaded.preprocessor)

    def template_kwargs(self, plan: DecodingPlan) -> dict[str, Any]:
        return {}

    def encode(self, chats: list[list[Message]], plan: DecodingPlan) -> Any:
        """Tokenize a batch of chats through the chat template, padded on the configured side."""
        self.tokenizer.padding_side = self.settings.padding_side
        preprocessor = self.loaded.preprocessor
        # A multimodal processor takes tokenizer options in processor_kwargs; a tokenizer directly.
        padding: dict[str, Any] = (
            {"processor_kwargs": {"padding": True}}
            if preprocessor is not self.tokenizer
            else {"padding": True}
        )
        inputs = preprocessor.apply_chat_template(
            chats,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            **padding,
            **self.template_kwargs(plan),
        )
        model = self.loaded.model
        return (
            inputs.to(model.device, dtype=model.dtype)
            if "pixel_values" in inputs
            else inputs.to(model.device)
        )

    def generate(self, chats: list[list[Message]], plan: DecodingPlan) -> list[Generation]:
        """One generation per chat, in one batch."""
        started = time.perf_counter()
        inputs = self.encode(chats, plan)
        model = self.loaded.model
        stops = sorted(self.stop_ids)
        sequences = run_generate(model, inputs, plan, stops, self.tokenizer.pad_token_id)
        prompt_length = inputs["input_ids"].shape[1]
        rows = decode_new_tokens(self.tokenizer, sequences, prompt_length, self.stop_ids)
        seconds = (time.perf_counter() - started) / max(1, len(chats))
        mask = inputs["attention_mask"]
        generations = []
        for i, (text, count, stopped) in enumerate(rows):
            read, cut_off = opened_trace(text, plan.enable_thinking, hit_budget=not stopped)
            generations.append(Generation(read, int(mask[i].sum()), count, seconds, cut_off))
        return generations

    def run_record(self, attempts: Sequence[AttemptRecord]) -> RunRecord:
        plan = self.loaded.plan
        return RunRecord(
            backend=self.name,
            task=self.task,
            model_id=plan.model_id,
            profile=self.profile.name,
            revision=plan.revision,
            quantization=plan.quantization,
            device=plan.device,
            attempts=tuple(attempts),
        )

    def run_batch(
        self,
        chats: Sequence[Callable[[DecodingPlan], list[Message]]],
        readers: Sequence[Callable[[str], R]],
        progress: Progress | None = None,
    ) -> list[tuple[R, RunRecord]]:
        """Generate for every item in batches of ``batch_size``, then retry failures one by one.

        ``chats[i](plan)`` is item ``i``'s chat under a decoding plan (a retry with thinking
        off may need another chat); ``readers[i]`` reads its raw text.
        """
        results: list[tuple[R, RunRecord]] = []
        first = self.ladder[0]
        size = self.settings.batch_size
        for offset in range(0, len(chats), size):
            batch = chats[offset : offset + size]
            generations = self.generate([chat(first) for chat in batch], first)
            for index, generation in enumerate(generations):
                chat, read = batch[index], readers[offset + index]
                reading = read(generation.text)
                attempts = [record(0, first, generation, reading)]

                def again(
                    plan: DecodingPlan,
                    previous: str,
                    error: str | None,
                    chat: Callable[[DecodingPlan], list[Message]] = chat,
                ) -> Generation:
                    messages = chat(plan)
                    if plan.corrective:
                        messages = with_correction(messages, self.task, previous, error)
                    return self.generate([messages], plan)[0]

                reading = continue_ladder(
                    reading, attempts, self.ladder, again, read, self.thinking_off_tokens
                )
                results.append((settle(reading, attempts), self.run_record(attempts)))
            if progress is not None:
                progress(len(batch))
        self.last_runs = tuple(run for _, run in results)
        return results

    def run_images(
        self,
        cases: Sequence[AuditCase],
        prepare: Callable[[AuditCase], P],
        chat: Callable[[P, DecodingPlan], list[Message]],
        reader: Callable[[P], Callable[[str], R]],
        failed: Callable[[str], R],
        progress: Progress | None = None,
    ) -> list[tuple[R, RunRecord | None]]:
        """Each case's reading with the record of its attempts, in order, through :meth:`run_batch`.

        ``prepare`` shapes a case's image for the model; a case it raises on (no image, an
        unreadable one) gets ``failed(reason)`` and no record, without a generation.
        """
        results: list[tuple[R, RunRecord | None] | None] = [None] * len(cases)
        chats: list[Callable[[DecodingPlan], list[Message]]] = []
        readers: list[Callable[[str], R]] = []
        positions: list[int] = []
        for position, case in enumerate(cases):
            try:
                prepared = prepare(case)
            except (ValueError, OSError) as error:
                log.warning("case %s has no usable image: %s", case.case_id, error)
                results[position] = (failed(f"no usable image: {error}"), None)
                if progress is not None:
                    progress(1)
                continue
            chats.append(partial(chat, prepared))
            readers.append(reader(prepared))
            positions.append(position)
        for position, (reading, run) in zip(positions, self.run_batch(chats, readers, progress), strict=True):
            results[position] = (reading, run)
        return [item for item in results if item is not None]
