"""Turn raw model text into findings or draft labels, recording every repair.

Each generation ends as ``ok`` (read as written), ``recovered`` (read after repairs, each
listed) or ``failed`` (the raw text kept). An item that cannot be used is dropped only with
a recorded reason and counted in ``ParseOutcome.dropped_items``.

Repairs, in the order they are tried:
1. reasoning traces: everything up to the last ``</think>`` (or MedGemma 1.5's
   ``<unused95>``) is removed (expected output, not a repair); a trace opened and
   never closed fails the generation;
2. code fences, a "Final Answer:" preamble and chatter around the JSON;
3. JSON repairs: trailing commas, Python literals, single quotes, truncation
   (unclosed brackets closed, an incomplete last item dropped);
4. a list or ``{"findings": [...]}`` (or ``labels``) is accepted;
5. prose with ``label ... [a, b, c, d]`` pairs when no JSON is present;
6. off-vocabulary labels through ``audit.labels.SYNONYMS``.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from audit.boxes import from_box_2d
from audit.errors import RecoveryError
from audit.labels import LABELS, canonical_label, is_synonym
from audit.schema import (
    DraftLabel,
    DraftReading,
    ImageFinding,
    ImageReading,
    ParseOutcome,
    Side,
    Status,
)

# (opening tag, closing tag) of reasoning traces that decoding leaves in the text.
REASONING_TAGS: tuple[tuple[str, str], ...] = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<unused94>", "<unused95>"),  # MedGemma 1.5; skip_special_tokens does not remove them
)
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|$)", re.DOTALL)
_PREAMBLE = re.compile(r"^\s*(?:\*\*)?\s*final\s+answer\s*(?:\*\*)?\s*[:：]\s*", re.IGNORECASE | re.MULTILINE)
_TRAILING_COMMA = re.compile(r",(\s*[\]}])")
_PROSE_BOX = re.compile(
    r"(?P<label>[A-Za-z][A-Za-z_/ -]{2,40}?)\s*[:=(\-–]*\s*(?:at|box(?:_2d)?)?\s*[:=]?\s*"
    r"\[\s*(?P<nums>-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3})\s*\]"
)


@dataclass
class _Log:
    repairs: list[str] = field(default_factory=list)
    dropped: int = 0

    def repair(self, message: str) -> None:
        self.repairs.append(message)

    def drop(self, message: str) -> None:
        self.repairs.append(f"dropped {message}")
        self.dropped += 1


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


def _strip_wrappers(text: str, log: _Log) -> str:
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


def _load_json_loose(text: str, log: _Log) -> Any:
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
        value, end = decoder.raw_decode(candidate)
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
            value, end = decoder.raw_decode(attempt)
        except json.JSONDecodeError:
            continue
        for item in applied:
            log.repair(item)
        if attempt[end:].strip():
            log.repair("ignored text after the JSON")
        return value
    raise RecoveryError("output contains JSON that could not be repaired")


def _items_from(value: Any, keys: tuple[str, ...], log: _Log) -> list[Any]:
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


def _label_of(item: dict[str, Any], index: int, log: _Log) -> str | None:
    name = item.get("label", item.get("finding", item.get("name")))
    if not isinstance(name, str) or not name.strip():
        log.drop(f"item {index}: it has no label")
        return None
    label = canonical_label(name)
    if label is None:
        log.drop(f"item {index}: label {name!r} is not one of {', '.join(LABELS)}")
        return None
    if is_synonym(name):
        log.repair(f"item {index}: read label {name!r} as {label!r}")
    return label


def _finding_items_from_prose(text: str, log: _Log) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for match in _PROSE_BOX.finditer(text):
        words = match.group("label").strip().split()
        # The label is the longest tail of the words before the box that names a label.
        name = next(
            (" ".join(words[i:]) for i in range(len(words)) if canonical_label(" ".join(words[i:]))), None
        )
        if name is None:
            continue
        numbers = [float(n) for n in match.group("nums").split(",")]
        items.append({"label": name, "box_2d": numbers})
    if items:
        log.repair(f"read {len(items)} finding(s) from prose (no JSON in the output)")
    return items


def parse_findings(raw: str, backend: str, image_size: tuple[int, int] | None = None) -> ImageReading:
    """Read a grounder's generation as findings; never raises on bad model output.

    ``image_size`` is (width, height); it is needed only when boxes come in pixels.
    """
    log = _Log()
    width, height = image_size if image_size else (None, None)
    text, trace_repairs, trace_error = strip_reasoning(raw)
    log.repairs.extend(trace_repairs)
    if trace_error:
        return ImageReading(
            backend=backend,
            outcome=ParseOutcome.failed(trace_error, raw=raw, repairs=tuple(log.repairs)),
            image_width=width,
            image_height=height,
        )
    text = _strip_wrappers(text, log)
    json_log = _Log()
    try:
        items = _items_from(_load_json_loose(text, json_log), ("findings", "boxes", "results"), json_log)
        error: RecoveryError | None = None
    except RecoveryError as raised:
        items, error = [], raised
    if not any(isinstance(item, dict) for item in items):
        # No JSON objects (none at all, or a bare box like "[550, 100, 850, 400]" inside
        # prose): read "label ... [a, b, c, d]" pairs from the prose instead.
        prose_items = _finding_items_from_prose(text, log)
        if prose_items:
            items, json_log = prose_items, _Log()
        elif error is not None:
            return ImageReading(
                backend=backend,
                outcome=ParseOutcome.failed(str(error), raw=raw, repairs=tuple(log.repairs)),
                image_width=width,
                image_height=height,
            )
    log.repairs.extend(json_log.repairs)
    log.dropped += json_log.dropped
    findings: list[ImageFinding] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            log.drop(f"item {index}: expected an object, got {item!r:.60}")
            continue
        label = _label_of(item, index, log)
        if label is None:
            continue
        score = item.get("score", item.get("confidence"))
        if score is not None and not (isinstance(score, (int, float)) and 0 <= score <= 1):
            log.repair(f"item {index}: ignored score {score!r} (not a number in 0–1)")
            score = None
        raw_box = item.get("box_2d", item.get("bbox", item.get("box")))
        if raw_box is None:
            if label != "no_finding":
                log.repair(f"item {index}: {label} has no box")
            findings.append(ImageFinding(label=label, score=score, source=backend))
            continue
        if "box_2d" not in item:
            log.repair(f"item {index}: read box from key {'bbox' if 'bbox' in item else 'box'!r} as box_2d")
        result = from_box_2d(raw_box, image_size)
        if result.box is None:
            log.drop(f"item {index} ({label}): {result.error}")
            continue
        log.repairs.extend(f"item {index}: {message}" for message in result.repairs)
        if result.scale == "pixel":
            log.repair(f"item {index}: box was in pixels of the {width}x{height} image")
        findings.append(
            ImageFinding(label=label, box=result.box, score=score, source=backend, box_scale=result.scale)
        )
    scales = {f.box_scale for f in findings if f.box_scale}
    if len(scales) > 1:
        log.repair(f"boxes came in mixed scales: {', '.join(sorted(scales))}")
    if items and not findings:
        return ImageReading(
            backend=backend,
            outcome=ParseOutcome.failed(
                f"none of the {len(items)} item(s) could be used", raw=raw, repairs=tuple(log.repairs)
            ),
            image_width=width,
            image_height=height,
        )
    return ImageReading(
        backend=backend,
        findings=tuple(findings),
        outcome=ParseOutcome.from_repairs(log.repairs, raw, log.dropped),
        image_width=width,
        image_height=height,
    )


_STATUS_SYNONYMS: dict[str, Status] = {
    "present": "present",
    "positive": "present",
    "yes": "present",
    "true": "present",
    "absent": "absent",
    "negative": "absent",
    "no": "absent",
    "false": "absent",
    "denied": "absent",
    "uncertain": "uncertain",
    "possible": "uncertain",
    "equivocal": "uncertain",
    "indeterminate": "uncertain",
}
_SIDE_SYNONYMS: dict[str, Side] = {
    "left": "left",
    "l": "left",
    "right": "right",
    "r": "right",
    "bilateral": "bilateral",
    "both": "bilateral",
}
# Only a close match counts as re-finding a span (1.0 is identical).
FUZZY_SPAN_THRESHOLD = 0.85


def locate_span(span: str, draft: str) -> tuple[int, int, str] | None:
    """Where a model's span occurs in the draft: exact, then case/spacing-insensitive.

    Returns (start, end, how) with ``how`` in {"exact", "case", "fuzzy"}, or None.
    """
    if not span.strip():
        return None
    start = draft.find(span)
    if start >= 0:
        return start, start + len(span), "exact"
    words = [re.escape(word) for word in span.split()]
    loose = re.search(r"\s+".join(words), draft, flags=re.IGNORECASE)
    if loose:
        return loose.start(), loose.end(), "case"
    return _fuzzy_locate(span, draft)


def _fuzzy_locate(span: str, draft: str) -> tuple[int, int, str] | None:
    """The draft window most similar to ``span``, if similar enough (word-aligned windows)."""
    target = span.lower()
    best: tuple[float, int, int] = (0.0, 0, 0)
    tokens = list(re.finditer(r"\S+", draft))
    n_words = len(span.split())
    for size in {max(1, n_words - 1), n_words, n_words + 1}:
        for i in range(len(tokens) - size + 1):
            start, end = tokens[i].start(), tokens[i + size - 1].end()
            ratio = difflib.SequenceMatcher(None, target, draft[start:end].lower()).ratio()
            if ratio > best[0]:
                best = (ratio, start, end)
    if best[0] >= FUZZY_SPAN_THRESHOLD:
        return best[1], best[2], "fuzzy"
    return None


_STATUS_RANK: dict[Status, int] = {"present": 0, "uncertain": 1, "absent": 2}


def parse_draft_labels(raw: str, draft: str, backend: str) -> DraftReading:
    """Read a model parser's generation as draft labels, verifying every span against the draft.

    Expects a JSON list of ``{"label", "status", "span", "side"?}``. A span not found in
    the draft is kept with ``verified=False`` and no offsets, never trusted blindly. When a
    label appears more than once, the strongest status wins (present > uncertain > absent),
    recorded as a repair.
    """
    log = _Log()
    text, trace_repairs, trace_error = strip_reasoning(raw)
    log.repairs.extend(trace_repairs)
    if trace_error:
        return DraftReading(
            backend=backend, text=draft, outcome=ParseOutcome.failed(trace_error, raw, tuple(log.repairs))
        )
    text = _strip_wrappers(text, log)
    try:
        items = _items_from(_load_json_loose(text, log), ("labels", "findings", "results"), log)
    except RecoveryError as error:
        return DraftReading(
            backend=backend, text=draft, outcome=ParseOutcome.failed(str(error), raw, tuple(log.repairs))
        )
    chosen: dict[str, DraftLabel] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            log.drop(f"item {index}: expected an object, got {item!r:.60}")
            continue
        label = _label_of(item, index, log)
        if label is None:
            continue
        status_raw = str(item.get("status", "")).strip().lower()
        status = _STATUS_SYNONYMS.get(status_raw)
        if status is None:
            log.drop(f"item {index} ({label}): status {item.get('status')!r} is not present/absent/uncertain")
            continue
        if status_raw != status:
            log.repair(f"item {index}: read status {status_raw!r} as {status!r}")
        side_raw = item.get("side", item.get("laterality"))
        side = _SIDE_SYNONYMS.get(str(side_raw).strip().lower()) if side_raw else None
        if side_raw and side is None and str(side_raw).strip().lower() not in ("none", "null", ""):
            log.repair(f"item {index}: ignored side {side_raw!r}")
        span = item.get("span", item.get("evidence", ""))
        span = span if isinstance(span, str) else ""
        where = locate_span(span, draft)
        if where is None:
            log.repair(f"item {index} ({label}): span {span!r:.80} not found in the draft; marked unverified")
            entry = DraftLabel(
                label=label, status=status, span=span, side=side, backend=backend, verified=False
            )
        else:
            start, end, how = where
            if how != "exact":
                log.repair(f"item {index} ({label}): span re-found in the draft ({how} match)")
            entry = DraftLabel(
                label=label,
                status=status,
                span=draft[start:end],
                start=start,
                end=end,
                side=side,
                backend=backend,
            )
        previous = chosen.get(label)
        if previous is not None:
            keep = entry if _STATUS_RANK[entry.status] < _STATUS_RANK[previous.status] else previous
            log.repair(f"item {index}: {label} given twice; kept the {keep.status} reading")
            entry = keep
        chosen[label] = entry
    ordered = tuple(chosen[label] for label in LABELS if label in chosen)
    return DraftReading(
        backend=backend,
        text=draft,
        labels=ordered,
        outcome=ParseOutcome.from_repairs(log.repairs, raw, log.dropped),
    )
