"""Scoring report generators against the expert boxes, with the comparator as the only judge.

- :mod:`audit.report_eval.records`: a generator's report for a case (:class:`GeneratedReport`)
  and the judged per-case sample (:class:`ReportSample`);
- :mod:`audit.report_eval.runner`: :func:`evaluate_reports` (every report through the parser and
  the comparator, then the figures and the paired differences);
- :mod:`audit.report_eval.figures`: every figure as a ratio of weighted per-case sums, for the
  point estimate and the bootstrap alike;
- :mod:`audit.report_eval.document`: ``report_eval.json`` as pydantic models;
- :mod:`audit.report_eval.markdown` and :mod:`audit.report_eval.files`: ``report_eval.md`` and
  the files.

Every figure carries its N; failed generations and cases without a report are counted,
listed, and scored as silence or left out, as the evaluation says.
"""

from audit.report_eval.document import Feedback, GeneratorScores, ReportEvaluation, TypeFeedback
from audit.report_eval.files import JSON_FILE, MARKDOWN_FILE, read_evaluation, write_evaluation
from audit.report_eval.markdown import render_markdown
from audit.report_eval.records import GeneratedReport, ReportSample
from audit.report_eval.runner import evaluate_reports, score_generators

__all__ = [
    "JSON_FILE",
    "MARKDOWN_FILE",
    "Feedback",
    "GeneratedReport",
    "GeneratorScores",
    "ReportEvaluation",
    "ReportSample",
    "TypeFeedback",
    "evaluate_reports",
    "read_evaluation",
    "render_markdown",
    "score_generators",
    "write_evaluation",
]
