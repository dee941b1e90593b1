"""Caching adapters that let a run of many drafts use a backend's batch calls.

The evaluation audits several synthetic drafts of one image, and many cases in a row:
:class:`OncePerCase` grounds each case once for all its drafts, and both adapters read a
chunk of cases or drafts in one batch call when the backend can (a GPU model). A batch
that raises falls back to one call per item, so its failure is recorded per item. The
results are the same as one call per item.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from audit.pipeline import draft_problem
from audit.protocols import AuditCase, BatchGrounder, BatchParser, DraftParser, Grounder
from audit.schema import DraftReading, ImageReading

log = logging.getLogger(__name__)


class OncePerCase:
    """Grounds each case once for its several drafts: the image is the same for all of them.

    ``prefetch`` grounds a chunk of cases in one batch when the grounder can; a batch
    that raises falls back to one call per case, so its failure is recorded per item.
    """

    def __init__(self, grounder: Grounder) -> None:
        self.inner = grounder
        self.name = grounder.name
        self._readings: dict[str, ImageReading] = {}

    def prefetch(self, cases: Sequence[AuditCase]) -> None:
        self._readings = {}
        if not isinstance(self.inner, BatchGrounder) or len(cases) < 2:
            return
        try:
            readings = self.inner.ground_batch(cases)
        except Exception:
            log.exception("batch grounding failed; grounding these %d cases one by one", len(cases))
            return
        self._readings = {case.case_id: reading for case, reading in zip(cases, readings, strict=True)}

    def ground(self, case: AuditCase) -> ImageReading:
        if case.case_id not in self._readings:
            self._readings[case.case_id] = self.inner.ground(case)
        return self._readings[case.case_id]


class PrefetchedParser:
    """Parses a chunk's drafts in one batch when the parser can; falls back to one call each."""

    def __init__(self, parser: DraftParser) -> None:
        self.inner = parser
        self.name = parser.name
        self._readings: dict[str, DraftReading] = {}

    def prefetch(self, texts: Sequence[str]) -> None:
        self._readings = {}
        unique = [text for text in dict.fromkeys(texts) if draft_problem(text) is None]
        if not isinstance(self.inner, BatchParser) or len(unique) < 2:
            return
        try:
            readings = self.inner.parse_batch(unique)
        except Exception:
            log.exception("batch parsing failed; parsing these %d drafts one by one", len(unique))
            return
        self._readings = dict(zip(unique, readings, strict=True))

    def parse(self, text: str) -> DraftReading:
        if text not in self._readings:
            return self.inner.parse(text)
        return self._readings[text]
