"""The run's files: per-sample JSONL, summary JSON and Markdown, and the checks that guard them.

- resume: sample ids already in ``samples.jsonl`` are skipped, a torn last line (an
  interrupted write) is cut off; records of samples not in this run's input are refused;
- config check: an output folder holds one run's settings (``config.json``) and refuses
  another's;
- integrity: scored + failed == input count, and every input sample id has exactly one
  record.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from audit.errors import ConfigMismatchError, EvaluationError, IntegrityError
from audit.evaluate.markdown import summary_markdown
from audit.evaluate.records import EvalConfig, SampleRecord
from audit.evaluate.summary import EvalSummary

log = logging.getLogger(__name__)

SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
MARKDOWN_FILE = "summary.md"
CONFIG_FILE = "config.json"


def read_records(path: Path) -> list[SampleRecord]:
    """Records already written; a torn last line (an interrupted write) is cut off and logged."""
    if not path.exists():
        return []
    records: list[SampleRecord] = []
    good_bytes = 0
    with path.open("rb") as handle:
        for line in handle:
            try:
                records.append(SampleRecord.model_validate_json(line))
            except ValueError as error:
                if not line.endswith(b"\n"):
                    log.warning("cutting a torn last line from %s (an interrupted write)", path)
                    break
                raise EvaluationError(
                    f"{path} has an unreadable record at byte {good_bytes}: {error}"
                ) from error
            good_bytes += len(line)
    with path.open("rb+") as handle:
        handle.truncate(good_bytes)
    return records


def check_config(out_dir: Path, config: EvalConfig) -> None:
    path = out_dir / CONFIG_FILE
    wanted = config.model_copy(update={"limit": None}).model_dump_json(indent=2) + "\n"
    if path.exists():
        if path.read_text(encoding="utf-8") != wanted:
            raise ConfigMismatchError(
                f"{out_dir} holds a run made with other settings ({path}); "
                "use another --out folder or the same settings"
            )
    else:
        path.write_text(wanted, encoding="utf-8")


def resume(out_dir: Path, config: EvalConfig, wanted: Sequence[str]) -> list[SampleRecord]:
    """Prepare ``out_dir`` for a run of the ``wanted`` sample ids; the records already there.

    Raises :class:`ConfigMismatchError` when the folder holds another run's settings or
    samples this run would not make.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    check_config(out_dir, config)
    samples_path = out_dir / SAMPLES_FILE
    existing = read_records(samples_path)
    expected = set(wanted)
    strangers = [r.sample_id for r in existing if r.sample_id not in expected]
    if strangers:
        raise ConfigMismatchError(
            f"{samples_path} holds {len(strangers):,} samples not in this run's input "
            f"(first: {strangers[0]}); use another --out folder"
        )
    return existing


def write_summary(out_dir: Path, summary: EvalSummary) -> None:
    (out_dir / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (out_dir / MARKDOWN_FILE).write_text(summary_markdown(summary), encoding="utf-8")


def check_integrity(records: Sequence[SampleRecord], wanted: Sequence[str]) -> None:
    ids = [r.sample_id for r in records]
    if len(ids) != len(set(ids)):
        duplicates = sorted(sid for sid, n in Counter(ids).items() if n > 1)
        raise IntegrityError(
            f"{len(duplicates):,} samples have more than one record (first: {duplicates[0]})"
        )
    present = set(ids)
    missing = [sid for sid in wanted if sid not in present]
    if missing:
        raise IntegrityError(f"{len(missing):,} input samples have no record (first: {missing[0]})")
    scored = sum(not r.failed for r in records)
    failed = sum(r.failed for r in records)
    if scored + failed != len(wanted):
        raise IntegrityError(f"scored {scored:,} + failed {failed:,} != {len(wanted):,} input samples")


def load_summary(path: Path) -> EvalSummary:
    return EvalSummary.model_validate(json.loads(path.read_text(encoding="utf-8")))
