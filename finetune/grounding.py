"""``ground``: run one grounder over a list of cases once, keeping everything it said.

The output folder holds:

- ``<case_id>.json`` per case: a :class:`GroundedCase` (the reading with its outcome,
  findings and, when it was not clean, the raw text);
- ``raw/<case_id>.json``: every generation attempt of a model backend (its
  ``RunRecord``), for backends that keep them;
- ``run.json``: the :class:`GroundingRun` (grounder, model, cases, counts, and every failure
  with its reason), rewritten after each case.

Running again into the same folder resumes: cases whose file exists are not grounded again.
A folder holding another grounder's (or another model's) run is refused. A grounder that
raises on one case gives that case a failed reading; the run goes on.

Cases files (``--cases FILE``): a ``.csv`` with a ``case_id`` column, a ``.jsonl`` of objects
with ``case_id``, or plain text with one case id per line (``#`` starts a comment).
"""

from __future__ import annotations

import csv
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from audit.protocols import AuditCase, Grounder
from audit.schema import ImageReading, ParseOutcome
from finetune.errors import GroundingRunError

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
RAW_DIR = "raw"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class GroundedCase(BaseModel):
    """One case's grounding, as written to ``<case_id>.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    grounder: str
    reading: ImageReading
    seconds: float = Field(ge=0.0)


class CaseFailure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    reason: str


class GroundingRun(BaseModel):
    """``run.json``: what was grounded, with what, and what failed."""

    model_config = ConfigDict(extra="forbid")

    grounder: str
    model: str | None
    cases_file: str
    n_cases: int
    n_done: int = 0
    n_ok: int = 0
    n_recovered: int = 0
    n_failed: int = 0
    failures: list[CaseFailure] = Field(default_factory=list)
    seconds: float = 0.0


def read_case_ids(path: Path) -> list[str]:
    """The case ids a cases file lists, in order, each once (raises GroundingRunError)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise GroundingRunError(f"cannot read the cases file {path}: {error}") from None
    ids: list[str] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "case_id" not in reader.fieldnames:
            raise GroundingRunError(f"{path} needs a case_id column")
        ids = [(row.get("case_id") or "").strip() for row in reader]
    elif path.suffix.lower() in (".jsonl", ".json"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                ids.append(str(record["case_id"]).strip())
            except (json.JSONDecodeError, KeyError, TypeError):
                raise GroundingRunError(f"{path} line {number} is not an object with a case_id") from None
    else:
        ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    ids = [case_id for case_id in ids if case_id]
    unsafe = [case_id for case_id in ids if not _SAFE_ID.fullmatch(case_id)]
    if unsafe:
        raise GroundingRunError(
            f"{path}: case id {unsafe[0]!r} cannot name a file (letters, digits, '.', '_' and '-' only)"
        )
    if not ids:
        raise GroundingRunError(f"{path} lists no case id")
    return list(dict.fromkeys(ids))


def case_file(out: Path, case_id: str) -> Path:
    return out / f"{case_id}.json"


def read_grounded(out: Path, case_id: str) -> GroundedCase | None:
    """A case's stored grounding, or None when the run has none (or an unreadable one)."""
    path = case_file(out, case_id)
    if not path.is_file():
        return None
    try:
        return GroundedCase.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as error:
        log.warning("ignoring %s: %s", path, error)
        return None


def read_run(out: Path) -> GroundingRun | None:
    path = out / RUN_FILE
    if not path.is_file():
        return None
    try:
        return GroundingRun.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as error:
        raise GroundingRunError(f"{path} is not a grounding run: {error}") from None


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _ground_one(grounder: Grounder, case: AuditCase) -> tuple[ImageReading, Any]:
    """The reading (a failed one when the backend raised) and the backend's record of attempts."""
    try:
        with_records = getattr(grounder, "ground_batch_with_records", None)
        if with_records is not None:
            reading, record = with_records([case])[0]
            return reading, record
        return grounder.ground(case), getattr(grounder, "last_run", None)
    except Exception as error:  # a backend fault on one case must not lose the others
        log.warning("grounding %s failed: %s", case.case_id, error)
        outcome = ParseOutcome.failed(f"{type(error).__name__}: {error}")
        return ImageReading(backend=grounder.name, outcome=outcome), None


def ground_cases(
    cases: Sequence[AuditCase],
    grounder: Grounder,
    out: Path,
    run: GroundingRun,
    on_case: Callable[[], None] | None = None,
) -> GroundingRun:
    """Ground every case not yet in ``out``; returns the run with its counts and failures."""
    previous = read_run(out)
    if previous is not None and (previous.grounder, previous.model) != (run.grounder, run.model):
        raise GroundingRunError(
            f"{out} holds a run of {previous.grounder} ({previous.model or 'default model'}); "
            "choose another --out to ground with something else"
        )
    (out / RAW_DIR).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcomes: dict[str, ParseOutcome] = {}
    for case in cases:
        grounded = read_grounded(out, case.case_id)
        if grounded is None:
            began = time.perf_counter()
            reading, record = _ground_one(grounder, case)
            if record is not None and hasattr(record, "model_dump_json"):
                _write(out / RAW_DIR / f"{case.case_id}.json", record.model_dump_json(indent=2))
            grounded = GroundedCase(
                case_id=case.case_id,
                grounder=run.grounder,
                reading=reading,
                seconds=round(time.perf_counter() - began, 4),
            )
            _write(case_file(out, case.case_id), grounded.model_dump_json(indent=2))
        outcomes[case.case_id] = grounded.reading.outcome
        run = tally(outcomes, run)
        run.seconds = round((previous.seconds if previous else 0.0) + time.perf_counter() - started, 3)
        _write(out / RUN_FILE, run.model_dump_json(indent=2))
        if on_case is not None:
            on_case()
    return run


def tally(outcomes: dict[str, ParseOutcome], run: GroundingRun) -> GroundingRun:
    """The run with its counts and failure list for the cases grounded so far."""
    statuses = [outcome.status for outcome in outcomes.values()]
    return run.model_copy(
        update={
            "n_done": len(outcomes),
            "n_ok": statuses.count("ok"),
            "n_recovered": statuses.count("recovered"),
            "n_failed": statuses.count("failed"),
            "failures": [
                CaseFailure(case_id=case_id, reason=outcome.error or "failed")
                for case_id, outcome in outcomes.items()
                if outcome.status == "failed"
            ],
        }
    )
