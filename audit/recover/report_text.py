"""Read a report generator's output into the text of a draft: the report, with its outcome.

A generated report is free text, so there is little to repair: a closed reasoning trace
is removed (what a thinking model is asked to write, no repair), a second trace is a
repair, and surrounding whitespace is trimmed. What cannot become a draft fails with the
raw text kept: nothing after the trace, a trace never closed, or a text the auditor cannot
read (``audit.pipeline.draft_problem``: past its limit, a generation stuck in a loop; not
valid text).
"""

from __future__ import annotations

from audit.pipeline import draft_problem
from audit.recover.json_salvage import strip_reasoning
from audit.schema import Frozen, ParseOutcome

NO_TEXT = "the generator returned no report text"


class ReportReading(Frozen):
    """A generated report as a draft: its text (empty when failed) and what became of the output."""

    text: str
    outcome: ParseOutcome

    @property
    def failed(self) -> bool:
        return self.outcome.status == "failed"


def read_report(raw: str) -> ReportReading:
    """The report in ``raw``: ok, recovered (a repair recorded) or failed with ``raw`` kept."""
    answer, repairs, error = strip_reasoning(raw)
    if error is not None:
        return ReportReading(text="", outcome=ParseOutcome.failed(error, raw=raw))
    text = answer.strip()
    if not text:
        return ReportReading(text="", outcome=ParseOutcome.failed(NO_TEXT, raw=raw, repairs=tuple(repairs)))
    problem = draft_problem(text)
    if problem is not None:
        return ReportReading(text="", outcome=ParseOutcome.failed(problem, raw=raw, repairs=tuple(repairs)))
    return ReportReading(text=text, outcome=ParseOutcome.from_repairs(repairs, raw))
