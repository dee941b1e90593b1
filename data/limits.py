"""How long the text people type may be: one place for every limit, checked before anything is stored.

A note or an impression over its limit is refused whole with a message that says the
limit and the length (never cut silently: the writer would lose the end without knowing).
Drafts the auditor reads have their own, larger limit in ``audit.protocols.MAX_DRAFT_CHARS``.
"""

from __future__ import annotations

from data.errors import TextTooLongError

MAX_NOTE_CHARS = 1_000  # a reviewer's note on a decision or a drawn box, an educator's feedback
MAX_IMPRESSION_CHARS = 4_000  # a student's impression (a full report is rarely over 2,000)
MAX_NAME_CHARS = 64  # an account or reviewer name
MAX_ASSIGNMENT_NAME_CHARS = 120


def check_length(what: str, text: str | None, limit: int) -> str | None:
    """``text`` stripped (None when empty); raises ``TextTooLongError`` when it is over ``limit``."""
    if text is None:
        return None
    stripped = text.strip()
    if len(stripped) > limit:
        raise TextTooLongError(what, len(stripped), limit)
    return stripped or None
