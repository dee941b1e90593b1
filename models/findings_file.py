"""The ``findings-file`` grounder: findings JSON made elsewhere (a batch GPU job, another model).

``findings_path`` is either one JSON file (used for every case) or a folder holding
``<case_id>.json`` per case. The JSON is a grounder's output (a list of
``{"label", "box_2d"}`` or ``{"findings": [...]}``) and goes through the same recovery
as a live model's text, so its outcome is ok, recovered or failed like any generation.
A file that cannot be read at all (missing, a folder, too large, empty, not UTF-8) is a
:class:`FindingsFileError` naming the file: :func:`read_findings_text` says which.
"""

from __future__ import annotations

import json
from pathlib import Path

from audit.protocols import AuditCase
from audit.recover import parse_findings
from audit.recover.json_salvage import beyond_json_limits
from audit.schema import ImageReading, ParseOutcome
from models.errors import FindingsFileError
from models.settings import BackendSettings

# A findings file is a small JSON document; anything larger is not one.
MAX_FINDINGS_BYTES = 5_000_000


def read_findings_text(path: Path) -> str:
    """The text of one findings file; FindingsFileError naming the file and what is wrong."""
    where = f"findings file {path}"
    try:
        if path.is_dir():
            raise FindingsFileError(f"{where} is a folder, not a JSON file")
        if not path.exists():
            raise FindingsFileError(f"{where} does not exist")
        size = path.stat().st_size
        if size > MAX_FINDINGS_BYTES:
            raise FindingsFileError(f"{where} is larger than {MAX_FINDINGS_BYTES:,} bytes ({size:,})")
        raw = path.read_bytes()
    except OSError as error:
        raise FindingsFileError(f"cannot read {where}: {error.strerror or error}") from error
    if not raw.strip():
        raise FindingsFileError(f"{where} is empty")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FindingsFileError(
            f"{where} is not valid UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})"
        ) from None


def check_findings_json(path: Path) -> None:
    """Refuse a findings file that is not one well-formed JSON document (FindingsFileError).

    The grounder itself reads leniently, repairing what a model's output often breaks; a
    file given on the command line is held to JSON, so that a typo is reported, not repaired.
    """
    text = read_findings_text(path)
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise FindingsFileError(f"findings file {path} is not readable JSON: {error}") from None
    except (RecursionError, ValueError) as error:
        raise FindingsFileError(
            f"findings file {path} is not readable JSON: {beyond_json_limits(error)}"
        ) from None


class FindingsFileGrounder:
    name = "findings-file"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> FindingsFileGrounder:
        if not settings.findings_path:
            raise FindingsFileError(
                "the findings-file grounder needs a findings path (--findings FILE or DIR)"
            )
        path = Path(settings.findings_path).expanduser()
        if not path.exists():
            raise FindingsFileError(f"findings path {path} does not exist")
        return cls(path)

    def file_for(self, case: AuditCase) -> Path:
        return self.path / f"{case.case_id}.json" if self.path.is_dir() else self.path

    def ground(self, case: AuditCase) -> ImageReading:
        try:
            raw = read_findings_text(self.file_for(case))
        except FindingsFileError as error:
            return ImageReading(backend=self.name, outcome=ParseOutcome.failed(str(error)))
        return parse_findings(raw, self.name, case.image_size)
