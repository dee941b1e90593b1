"""The ``nemotron`` draft parser: Nemotron-3 Nano 4B reading labels, statuses and spans.

The model may think first (chat-template ``enable_thinking``, or ``/think`` in the system
prompt for templates without that switch); :func:`audit.recover.parse_draft_labels`
removes the trace (a trace never closed is a failed parse), reads the JSON, and checks
every span against the draft: a span that is not in the draft is re-found by a fuzzy match
or marked unverified, never trusted. Model garbage never raises.

Importing this module imports neither torch nor transformers; building the backend does.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from audit.recover import parse_draft_labels
from audit.schema import DraftReading
from models.generation import RunRecord
from models.hf_backend import ChatBackend, Progress
from models.loading import LoadedModel, load_model
from models.prompts import DecodingPlan, parsing_messages, retry_ladder
from models.registry import spec_for
from models.settings import BackendSettings


def template_takes_thinking_switch(tokenizer: Any) -> bool:
    """True when the tokenizer's chat template reads an ``enable_thinking`` argument."""
    return "enable_thinking" in str(getattr(tokenizer, "chat_template", "") or "")


class NemotronParser(ChatBackend[DraftReading]):
    """Draft parser over a transformers causal LM (Nemotron-3 Nano 4B, ``nemotron_h``)."""

    name = "nemotron"
    task = "parsing"

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> NemotronParser:
        loaded = load_model(spec_for("parser", cls.name), settings)
        return cls(loaded, settings)

    def __init__(self, loaded: LoadedModel, settings: BackendSettings) -> None:
        super().__init__(loaded, settings, retry_ladder("parsing", settings))
        self.switch_in_template = template_takes_thinking_switch(self.tokenizer)

    def template_kwargs(self, plan: DecodingPlan) -> dict[str, Any]:
        return {"enable_thinking": plan.enable_thinking} if self.switch_in_template else {}

    def parse(self, text: str) -> DraftReading:
        return self.parse_batch([text])[0]

    def parse_batch(self, texts: Sequence[str], progress: Progress | None = None) -> list[DraftReading]:
        """Parse many drafts, ``batch_size`` per generate call; order is kept."""
        return [reading for reading, _ in self.parse_batch_with_records(texts, progress)]

    def parse_batch_with_records(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> list[tuple[DraftReading, RunRecord]]:
        thinking = self.ladder[0].enable_thinking
        chats = [
            parsing_messages(text, thinking, directive_in_system=not self.switch_in_template)
            for text in texts
        ]
        readers = [partial(parse_draft_labels, draft=text, backend=self.name) for text in texts]
        return self.run_batch(chats, readers, progress)
