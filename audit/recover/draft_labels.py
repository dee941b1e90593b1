"""Draft-label recovery: a model parser's generation read as draft labels, every span checked.

After the shared salvage (:mod:`audit.recover.json_salvage`), each item's status and side
are read through synonym tables, and its span is looked up in the draft: exactly, then
ignoring case and spacing, then by a close fuzzy match. A span that is not in the draft is
kept unverified, never trusted.
"""

from __future__ import annotations

import difflib
import re

from audit.errors import RecoveryError
from audit.labels import LABELS
from audit.recover.json_salvage import RepairLog, answer_text, json_items, labelled_items
from audit.schema import DraftLabel, DraftReading, ParseOutcome, Side, Status

LABELS_KEYS = ("labels", "findings", "results")

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
    log = RepairLog()

    def failed(error: str) -> DraftReading:
        return DraftReading(
            backend=backend, text=draft, outcome=ParseOutcome.failed(error, raw, tuple(log.repairs))
        )

    text, trace_error = answer_text(raw, log)
    if trace_error:
        return failed(trace_error)
    try:
        items = json_items(text, LABELS_KEYS, log)
    except RecoveryError as error:
        return failed(str(error))
    chosen: dict[str, DraftLabel] = {}
    for index, item, label in labelled_items(items, log):
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
