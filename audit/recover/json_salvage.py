"""Salvage the JSON answer from a model's text: the steps grounding and draft-label recovery share.

1. reasoning traces: everything up to the last ``</think>`` (or MedGemma 1.5's
   ``<unused95>``) is removed (expected output, not a repair); a trace opened and never
   closed fails the generation;
2. code fences, a "Final Answer:" preamble and chatter around the JSON;
3. JSON repairs: trailing commas, Python literals, single quotes, truncation (unclosed
   brackets closed, an incomplete last item dropped);
4. a list, or an object holding one under a known key, is accepted;
5. each item must be an object with a label in our vocabulary, read through
   ``audit.labels.SYNONYMS``.

Every repair and every dropped item is written to a :class:`RepairLog`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from audit.errors import RecoveryError
from audit.labels import LABELS, Label, canonical_label, is_synonym

# (opening tag, closing tag) of reasoning traces that decoding leaves in the text.
REASONING_TAGS: tuple[tuple[str, str], ...] = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<unused94>", "<unused95>"),  # MedGemma 1.5; skip_special_tokens does not remove them
)
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|$)", re.DOTALL)
_PREAMBLE = re.compile(r"^\s*(?:\*\*)?\s*final\s+answer\s*(?:\*\*)?\s*[:：]\s*", re.IGNORECASE | re.MULTILINE)
_TRAILING_COMMA = re.compile(r",(\s*[\]}])")


@dataclass
class RepairLog:
    """What recovery changed, in order, and how many items it had to drop."""

    repairs: list[str] = field(default_factory=list)
    dropped: int = 0

    def repair(self, message: str) -> None:
        self.repairs.append(message)

    def drop(self, message: str) -> None:
        self.repairs.append(f"dropped {message}")
        self.dropped += 1

    def absorb(self, other: RepairLog) -> None:
        self.repairs.extend(other.repairs)
        self.dropped += other.dropped


def strip_reasoning(raw: str) -> tuple[str, list[str], str | None]:
    """Remove reasoning traces; returns (answer text, repairs, error or None).

    Everything up to the last closing tag is trace. A closing tag without its opener
    (the chat template put the opener in the prompt) is handled the same way. A closed
    trace is what a thinking model is asked to write, so removing it is no repair and
    leaves an ``ok`` outcome ``ok``; a second trace after the first is a repair. An
    opener that is never closed means the model ran out of tokens while thinking:
    there is no answer, so that is an error, not content.
    """
    text = raw
    repairs: list[str] = []
    for opener, closer in REASONING_TAGS:
        if closer in text:
            if text.count(closer) > 1:
                repairs.append(f"removed {text.count(closer)} reasoning traces ending in {closer}")
            text = text[text.rindex(closer) + len(closer) :]
        elif opener in text:
            return "", repairs, f"reasoning trace opened with {opener} was never closed (no answer after it)"
    return text, repairs, None


def answer_text(raw: str, log: RepairLog) -> tuple[str, str | None]:
    """The answer part of a generation: (text, None), or ("", why) when there is none."""
    text, trace_repairs, trace_error = strip_reasoning(raw)
    log.repairs.extend(trace_repairs)
    if trace_error:
        return "", trace_error
    return _strip_wrappers(text, log), None


def _strip_wrappers(text: str, log: RepairLog) -> str:
    fenced = _FENCE.search(text)
    if fenced and fenced.group(1).strip():
        log.repair("removed code fence")
        text = fenced.group(1)
    preamble = _PREAMBLE.search(text)
    if preamble:
        log.repair("removed 'Final Answer:' preamble")
        text = text[preamble.end() :]
    return text


def _open_brackets(fragment: str) -> tuple[list[str], int, int | None]:
    """Scan JSON text outside strings: (closers still open, end of the last complete nested
    value, end of the first complete top-level value or None). Stray closers end the scan."""
    stack: list[str] = []
    in_string = escaped = False
    last_safe = -1
    for index, char in enumerate(fragment):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append("]" if char == "[" else "}")
        elif char in "]}":
            if not stack:
                return stack, last_safe, None
            stack.pop()
            if not stack:
                return stack, last_safe, index + 1
            last_safe = index + 1
    return stack, last_safe, None


def _close_truncated(fragment: str) -> str | None:
    """Close a JSON fragment cut off mid-way: drop the incomplete tail, close open brackets."""
    stack, last_safe, complete_end = _open_brackets(fragment)
    if complete_end is not None:
        return fragment[:complete_end]
    if not stack or last_safe < 0:
        return None
    # Cut back to the last complete nested value and close what is still open there.
    head = fragment[:last_safe]
    still_open, _, _ = _open_brackets(head)
    return head + "".join(reversed(still_open))


def beyond_json_limits(error: RecursionError | ValueError) -> str:
    """Why Python's JSON reader gave up on text whose syntax may be fine: it is nested deeper
    than the interpreter recurses, or it holds an integer longer than Python converts."""
    if isinstance(error, RecursionError):
        return "it is nested too deeply to read"
    return f"it holds a number more than {sys.get_int_max_str_digits():,} digits long"


def _raw_decode(decoder: json.JSONDecoder, text: str) -> tuple[Any, int]:
    """``decoder.raw_decode`` with Python's own limits as a RecoveryError that says which."""
    try:
        return decoder.raw_decode(text)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as error:
        raise RecoveryError(f"the JSON cannot be read: {beyond_json_limits(error)}") from None


def _load_json_loose(text: str, log: RepairLog) -> Any:
    """Find and load the first JSON list or object in ``text``, repairing common breakage."""
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        raise RecoveryError("no JSON list or object in the output")
    start = min(starts)
    if text[:start].strip():
        log.repair("ignored text before the JSON")
    candidate = text[start:]
    decoder = json.JSONDecoder()
    try:
        value, end = _raw_decode(decoder, candidate)
    except json.JSONDecodeError:
        pass
    else:
        if candidate[end:].strip():
            log.repair("ignored text after the JSON")
        return value
    attempts: list[tuple[str, str]] = []
    fixed = _TRAILING_COMMA.sub(r"\1", candidate)
    if fixed != candidate:
        attempts.append(("removed trailing commas", fixed))
    pythonish = re.sub(r"\bNone\b", "null", re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", fixed)))
    if "'" in pythonish and '"' not in pythonish:
        pythonish = pythonish.replace("'", '"')
    if pythonish != fixed:
        attempts.append(("rewrote Python-style literals or quotes as JSON", pythonish))
    closed = _close_truncated(pythonish)
    if closed is not None and closed != pythonish:
        attempts.append(("closed truncated JSON (incomplete last item dropped)", closed))
    applied: list[str] = []
    for message, attempt in attempts:
        applied.append(message)
        try:
            value, end = _raw_decode(decoder, attempt)
        except json.JSONDecodeError:
            continue
        for item in applied:
            log.repair(item)
        if attempt[end:].strip():
            log.repair("ignored text after the JSON")
        return value
    raise RecoveryError("output contains JSON that could not be repaired")


def _items_from(value: Any, keys: tuple[str, ...], log: RepairLog) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in keys:
            if key in value and isinstance(value[key], list):
                if len(value) > 1:
                    log.repair(f"read the {key!r} list and ignored other keys")
                return list(value[key])
        if "label" in value:
            log.repair("wrapped a single object in a list")
            return [value]
    raise RecoveryError(f"expected a list or an object with one of {list(keys)}, got {type(value).__name__}")


def json_items(text: str, keys: tuple[str, ...], log: RepairLog) -> list[Any]:
    """The items of the first JSON list in ``text`` (or of an object's list under one of
    ``keys``); raises :class:`RecoveryError` when there is none to be had."""
    return _items_from(_load_json_loose(text, log), keys, log)


def _label_of(
    item: dict[str, Any], index: int, log: RepairLog, native: Mapping[str, Label] | None = None
) -> Label | None:
    name = item.get("label", item.get("finding", item.get("name")))
    if not isinstance(name, str) or not name.strip():
        log.drop(f"item {index}: it has no label")
        return None
    if native is not None and name in native:
        return native[name]  # the checkpoint's own word for one of our labels: no repair
    label = canonical_label(name)
    if label is None:
        log.drop(f"item {index}: label {name!r} is not one of {', '.join(LABELS)}")
        return None
    if is_synonym(name):
        log.repair(f"item {index}: read label {name!r} as {label!r}")
    return label


def labelled_items(
    items: list[Any], log: RepairLog, native: Mapping[str, Label] | None = None
) -> Iterator[tuple[int, dict[str, Any], Label]]:
    """(index, item, canonical label) for each object with a usable label; the rest are
    dropped with their reason. ``native`` names are read as written, without a repair."""
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            log.drop(f"item {index}: expected an object, got {item!r:.60}")
            continue
        label = _label_of(item, index, log, native)
        if label is not None:
            yield index, item, label
