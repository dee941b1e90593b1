"""Report sections: which parts of a draft are read.

A draft that has a FINDINGS or IMPRESSION section is read only there (and in any text
before the first header): INDICATION, HISTORY, COMPARISON and TECHNIQUE describe the
question, not the answer ("History: pneumonia" is not a finding). A draft without those
headers is read whole. Each region read says whether it is the reader's conclusion
(IMPRESSION, CONCLUSION, OPINION, ...), which the precedence table consults when FINDINGS
and IMPRESSION disagree (``precedence``, PREC.IMPRESSION_HEDGES_A_SIGN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.rules.rule import Rule

SECTION_RULES: tuple[Rule, ...] = (
    Rule(
        "SECTION.ANSWER",
        "section",
        r"findings|impression|impressions|conclusions?|opinion|interpretation|summary",
        "Sections that hold the reader's answer; always read.",
        "FINDINGS: Small right effusion.",
        (("pleural_effusion", "present"),),
    ),
    Rule(
        "SECTION.QUESTION",
        "section",
        r"indications?|(?:clinical\s+)?history|clinical\s+(?:information|indication|details)|reason(?:\s+for"
        r"\s+(?:exam|examination|study|request))?|comparisons?|techniques?|examination|exam|procedure|"
        r"request|provided\s+history",
        "Sections that hold the question; ignored when an answer section exists.",
        "INDICATION: pneumonia? FINDINGS: Lungs are clear.",
        (("lung_opacity", "absent"),),
    ),
)

_ANSWER, _QUESTION = SECTION_RULES
# A header is a section name just before a colon (spaces between allowed), beginning the
# text or after a space or a stop. It is looked for only just before each colon, leftmost
# first, so the longest name wins ("clinical history" before "history").
_COLON = re.compile(":")
_HEADER = re.compile(
    rf"(?:(?<=[\s.;:])|^)(?:(?P<answer>{_ANSWER.pattern})|(?P<question>{_QUESTION.pattern}))\s*:\Z",
    re.IGNORECASE,
)
_LONGEST_HEADER = 60  # characters before the colon
# The answer headers that hold the reader's conclusion rather than the description.
_CONCLUSION = re.compile(r"impressions?|conclusions?|opinion|interpretation|summary", re.IGNORECASE)


@dataclass(frozen=True)
class _Header:
    start: int
    end: int
    answer: bool
    conclusion: bool = False


def _headers(text: str) -> list[_Header]:
    headers: list[_Header] = []
    for colon in _COLON.finditer(text):
        found = _HEADER.search(text, max(0, colon.start() - _LONGEST_HEADER), colon.end())
        if found is not None:
            answer = found.group("answer")
            conclusion = answer is not None and _CONCLUSION.fullmatch(answer) is not None
            headers.append(_Header(found.start(), found.end(), answer is not None, conclusion))
    return headers


@dataclass(frozen=True)
class Region:
    """A stretch of the draft that is read: ``text[start:end]``; ``conclusion`` when it is an
    IMPRESSION (or CONCLUSION, OPINION, ...) section."""

    start: int
    end: int
    conclusion: bool = False


def read_regions(text: str) -> tuple[Region, ...]:
    """The parts of ``text`` the parser reads, in order (the whole text when it has no answer header)."""
    headers = _headers(text) if ":" in text else []
    if not any(header.answer for header in headers):
        return (Region(0, len(text)),)
    regions: list[Region] = []
    if headers[0].start > 0:
        regions.append(Region(0, headers[0].start))
    for index, header in enumerate(headers):
        end = headers[index + 1].start if index + 1 < len(headers) else len(text)
        if header.answer:
            regions.append(Region(header.end, end, header.conclusion))
    return tuple(regions)
