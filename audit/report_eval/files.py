"""The evaluation's files: ``report_eval.json`` (the document) and ``report_eval.md`` (its tables)."""

from __future__ import annotations

from pathlib import Path

from audit.report_eval.document import ReportEvaluation
from audit.report_eval.markdown import render_markdown

JSON_FILE = "report_eval.json"
MARKDOWN_FILE = "report_eval.md"


def write_evaluation(out: Path, evaluation: ReportEvaluation) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / JSON_FILE).write_text(evaluation.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (out / MARKDOWN_FILE).write_text(render_markdown(evaluation), encoding="utf-8")


def read_evaluation(out: Path) -> ReportEvaluation:
    return ReportEvaluation.model_validate_json((out / JSON_FILE).read_text(encoding="utf-8"))
