"""The text the rules match: compatibility-folded, with invisible characters removed, and a map
back to the draft's own offsets.

Characters that a reader does not see, or sees as plain letters, must not hide a finding:
"Left pneu\\u200bmothorax." (a zero-width space), "pleural ef\\u00adfusion" (a soft hyphen),
"ＰＮＥＵＭＯＴＨＯＲＡＸ" (full-width letters) and "pneumo\\u0301thorax" (a combining accent)
all read as the plain words. Per character of the draft:

- a format character (Unicode category Cf: zero-width space and joiners, soft hyphen, word
  joiner, byte-order mark, bidirectional marks) is removed;
- every other character is replaced by its compatibility form (NFKC's compatibility mapping,
  applied per character as NFKD: full-width and ligature forms become plain letters, a
  no-break space a space), less its combining marks (category Mn), so an accent stacked on a
  letter neither splits nor changes the word.

The rules then run on the folded text, and every offset they find is mapped back
(:meth:`Folded.start` / :meth:`Folded.end`), so a label's span is the draft's own text at
its offsets, invisible characters included ("pneu\\u200bmothorax"). Plain ASCII, which is
nearly every draft, is its own folded form and costs one check.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_REMOVED_CATEGORIES = frozenset({"Cf", "Mn"})


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """What one draft character becomes in the folded text (possibly nothing, possibly several)."""
    if unicodedata.category(char) == "Cf":
        return ""
    return "".join(
        part
        for part in unicodedata.normalize("NFKD", char)
        if unicodedata.category(part) not in _REMOVED_CATEGORIES
    )


@dataclass(frozen=True)
class Folded:
    """A draft's folded text and, for each folded character, the draft offset it came from.

    ``origin`` is None when the folded text is the draft itself (offsets need no mapping).
    """

    text: str
    draft: str
    origin: tuple[int, ...] | None = None

    def start(self, offset: int) -> int:
        """The draft offset where a span beginning at folded ``offset`` begins."""
        if self.origin is None:
            return offset
        return self.origin[offset] if offset < len(self.origin) else len(self.draft)

    def end(self, offset: int) -> int:
        """The draft offset where a span ending (exclusively) at folded ``offset`` ends: just
        after the draft character that gave the span's last folded character, and after any
        combining marks stacked on it (they belong to that letter; a format character does
        not)."""
        if self.origin is None or offset == 0:
            return offset
        end = self.origin[offset - 1] + 1
        while end < len(self.draft) and unicodedata.category(self.draft[end]) == "Mn":
            end += 1
        return end


def fold(draft: str) -> Folded:
    """The folded form of ``draft`` (see the module docstring)."""
    if draft.isascii():
        return Folded(draft, draft)
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(draft):
        if char.isascii():
            parts.append(char)
            origin.append(index)
            continue
        folded = _fold_char(char)
        parts.append(folded)
        origin.extend([index] * len(folded))
    return Folded("".join(parts), draft, tuple(origin))
