"""Turn raw model text into findings or draft labels, recording every repair.

Each generation ends as ``ok`` (read as written), ``recovered`` (read after repairs, each
listed) or ``failed`` (the raw text kept). An item that cannot be used is dropped only with
a recorded reason and counted in ``ParseOutcome.dropped_items``.

- :mod:`audit.recover.json_salvage`: the steps both share (reasoning traces, wrappers,
  JSON repairs, items and their labels);
- :mod:`audit.recover.grounding`: a grounder's findings and boxes (:func:`parse_findings`);
- :mod:`audit.recover.draft_labels`: a model parser's labels and spans
  (:func:`parse_draft_labels`);
- :mod:`audit.recover.report_text`: a report generator's text as a draft (:func:`read_report`).
"""

from audit.recover.draft_labels import locate_span, parse_draft_labels
from audit.recover.grounding import parse_findings
from audit.recover.json_salvage import REASONING_TAGS, strip_reasoning
from audit.recover.report_text import ReportReading, read_report

__all__ = [
    "REASONING_TAGS",
    "ReportReading",
    "locate_span",
    "parse_draft_labels",
    "parse_findings",
    "read_report",
    "strip_reasoning",
]
