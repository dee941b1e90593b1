"""The loss-mask assertion: the tokens that carry loss must spell the target and nothing else.

Training computes loss only on the assistant target. That is asserted on every batch, not
assumed from a setting: the labelled tokens (``labels != -100``) of each example are
decoded and must equal the example's target followed by what the chat template writes to
close the assistant turn (the end-of-turn token, and the template's newline after it). A
mask that is all zero (nothing learnt) or all one (the prompt and image tokens learnt too)
fails the run with :class:`~finetune.errors.LossMaskError`; so does any other mismatch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from finetune.errors import LossMaskError

IGNORE_INDEX = -100
_SENTINEL = "\u2063TARGET\u2063"


def turn_suffix(processor: Any, prompt: list[dict[str, Any]], stop_tokens: Sequence[str]) -> str:
    """What the chat template writes after the assistant's text: an end-of-turn token and its tail.

    The end-of-turn token must be one generation stops on (``stop_tokens``), or the model
    would learn to end its answer with a token that never ends it. Raises LossMaskError
    when the template closes the turn any other way than such a token plus whitespace.
    """
    completion = [{"role": "assistant", "content": [{"type": "text", "text": _SENTINEL}]}]
    rendered = processor.apply_chat_template(prompt + completion, tokenize=False)
    suffix = rendered[rendered.rindex(_SENTINEL) + len(_SENTINEL) :]
    if not any(suffix.startswith(t) and not suffix[len(t) :].strip() for t in stop_tokens if t):
        raise LossMaskError(
            f"the chat template closes the assistant turn with {suffix!r}, not with one of the tokens "
            f"generation stops on ({', '.join(stop_tokens)})"
        )
    return suffix


class MaskCheck(BaseModel):
    """What the assertion saw: batches and examples checked, and one decoded example."""

    model_config = ConfigDict(extra="forbid")

    batches: int = 0
    examples: int = 0
    labelled_tokens: int = 0
    total_tokens: int = 0
    example_labels: str | None = None
    expected_suffix: str = ""


def target_of(example: dict[str, Any]) -> str:
    """The assistant text of a prompt/completion example."""
    parts = example["completion"][-1]["content"]
    return "".join(part["text"] for part in parts if part.get("type") == "text")


def check_labels(
    labels: Any, attention_mask: Any, targets: Sequence[str], decode: Callable[[list[int]], str], suffix: str
) -> list[str]:
    """Decode each row's labelled tokens; raise LossMaskError unless each is target + suffix."""
    decoded: list[str] = []
    for row, target in enumerate(targets):
        ids = [int(t) for t in labels[row].tolist() if int(t) != IGNORE_INDEX]
        n_tokens = int(attention_mask[row].sum())
        if not ids:
            raise LossMaskError(
                f"example {row} of the batch has no labelled token: the loss mask is all zero"
            )
        if len(ids) >= n_tokens:
            raise LossMaskError(
                f"example {row} of the batch has all {n_tokens} tokens labelled: the loss mask is all one "
                "(prompt and image tokens would be learnt)"
            )
        text = decode(ids)
        if text != target + suffix:
            raise LossMaskError(
                f"example {row}: the labelled tokens decode to {text[:200]!r}, "
                f"not to the target followed by {suffix!r}"
            )
        decoded.append(text)
    return decoded


@dataclass
class MaskCheckingCollator:
    """Wraps the trainer's collator and checks the labels of every batch it makes."""

    inner: Callable[[list[dict[str, Any]]], dict[str, Any]]
    decode: Callable[[list[int]], str]
    suffix: str
    record: MaskCheck = field(default_factory=MaskCheck)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        targets = [target_of(example) for example in examples]
        # The collator fills the examples' image placeholders in place; keep ours intact.
        batch = self.inner([dict(example) for example in examples])
        decoded = check_labels(batch["labels"], batch["attention_mask"], targets, self.decode, self.suffix)
        self.record.batches += 1
        self.record.examples += len(examples)
        self.record.labelled_tokens += int((batch["labels"] != IGNORE_INDEX).sum())
        self.record.total_tokens += int(batch["attention_mask"].sum())
        self.record.expected_suffix = self.suffix
        if self.record.example_labels is None:
            self.record.example_labels = decoded[0]
        return batch
