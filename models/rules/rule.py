"""The record every parsing rule is written as: data with a stable id, never code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from audit.labels import Label
from audit.schema import Status

# What a rule does when it matches:
# - finding: names a label; its status comes from the negation/uncertainty context;
# - statement: a fixed statement about a label ("lungs are clear"), context ignored;
# - other: an abnormality with no canonical label; only used to contradict "no finding";
# - neg_pre / neg_post: negation trigger before / after the mentions it denies;
# - unc_pre / unc_post: uncertainty trigger before / after the mentions it hedges;
# - unc_both: uncertainty that reaches both ways ("A versus B");
# - pseudo: looks like a trigger but is not one ("no change in"): it hides the triggers
#   before it, so the mentions it reaches read as affirmed;
# - mask: hides a trigger word inside it ("to suggest") and is otherwise transparent;
# - drop: the mentions in its scope are not statements about the label ("no new ...");
# - explain: after a mention, in its sentence, gives it a cause that is not its label
#   ("nodular opacity ... consistent with a nipple shadow"): the mention then reads as an
#   abnormality without a canonical label; ``targets`` names the labels or mention rule ids
#   it applies to;
# - term: ends the scope of every trigger ("but", "however");
# - section / side: report headers and side words (``sections``, ``laterality``);
# - descriptor / place: words a span reaches over before and after its mention (``spans``).
Kind = Literal[
    "finding",
    "statement",
    "other",
    "neg_pre",
    "neg_post",
    "unc_pre",
    "unc_post",
    "unc_both",
    "pseudo",
    "mask",
    "drop",
    "explain",
    "term",
    "section",
    "side",
    "descriptor",
    "place",
]


@dataclass(frozen=True)
class Rule:
    """One rule: a stable id, a regular expression (lower case, matched against the lower-cased
    draft at word starts), why it exists, and a worked example draft that the golden tests
    parse.

    ``label`` and ``status`` are set for lexicon rules (a ``statement`` always yields that
    status; a ``finding`` leaves it to the context). ``expect`` is what parsing the example
    must give: ``(label, status)`` pairs, where a status of None means the label must not
    appear in the reading at all. ``targets`` is set for ``explain`` rules only.
    """

    id: str
    kind: Kind
    pattern: str
    comment: str
    example: str
    expect: tuple[tuple[Label, Status | None], ...]
    label: Label | None = None
    status: Status | None = None
    targets: frozenset[str] = frozenset()
