"""The ``nemotron`` draft parser: Nemotron-3 Nano 4B reading labels, statuses and spans.

The chat follows the checkpoint profile (:mod:`models.checkpoints`). The model thinks by
default (the profile's choice; ``enable_thinking`` in the settings overrides it), switched
through the chat template's ``enable_thinking`` argument, or ``/think`` / ``/no_think`` in
the system prompt for templates without it. Generation stops on ``<|im_end|>`` as well as
the generation config's eos (which is another token). A trace cut off by the budget is
retried with thinking off. :func:`audit.recover.parse_draft_labels` removes the trace, reads
the JSON, and checks every span against the draft: a span that is not in the draft is
re-found by a fuzzy match or marked unverified, never trusted. Model garbage never raises.

Importing this module imports neither torch nor transformers; building the backend does.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from audit.recover import parse_draft_labels
from audit.schema import DraftReading
from models.checkpoints import ParsingProfile
from models.generation import RunRecord
from models.hf_backend import ChatBackend, Progress
from models.loading import LoadedModel
from models.prompts import DecodingPlan, Message
from models.settings import BackendSettings


def template_takes_thinking_switch(tokenizer: Any, kwarg: str = "enable_thinking") -> bool:
    """True when the tokenizer's chat template reads the thinking argument."""
    return kwarg in str(getattr(tokenizer, "chat_template", "") or "")


class NemotronParser(ChatBackend[DraftReading]):
    """Draft parser over a transformers causal LM (Nemotron-3 Nano 4B, ``nemotron_h``)."""

    name = "nemotron"
    task = "parsing"
    kind = "parser"
    profile: ParsingProfile

    def __init__(
        self,
        loaded: LoadedModel,
        settings: BackendSettings,
        profile: ParsingProfile,
        notes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(loaded, settings, profile, notes)
        thinking = profile.thinking
        self.switch_in_template = thinking is not None and (
            thinking.mechanism == "template_kwarg"
            and template_takes_thinking_switch(self.tokenizer, thinking.template_kwarg)
        )

    def template_kwargs(self, plan: DecodingPlan) -> dict[str, Any]:
        if not self.switch_in_template or self.profile.thinking is None:
            return {}
        return {self.profile.thinking.template_kwarg: plan.enable_thinking}

    def parse(self, text: str) -> DraftReading:
        return self.parse_batch([text])[0]

    def parse_batch(self, texts: Sequence[str], progress: Progress | None = None) -> list[DraftReading]:
        """Parse many drafts, ``batch_size`` per generate call; order is kept."""
        return [reading for reading, _ in self.parse_batch_with_records(texts, progress)]

    def parse_batch_with_records(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> list[tuple[DraftReading, RunRecord]]:
        chats = [partial(self._chat, text) for text in texts]
        readers = [partial(parse_draft_labels, draft=text, backend=self.name) for text in texts]
        return self.run_batch(chats, readers, progress)

    def _chat(self, text: str, plan: DecodingPlan) -> list[Message]:
        return self.profile.messages(
            text, plan.enable_thinking, directive_in_system=not self.switch_in_template
        )
