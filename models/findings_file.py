"""The ``findings-file`` grounder: findings JSON made elsewhere (a batch GPU job, another model).

``findings_path`` is either one JSON file (used for every case) or a folder holding
``<case_id>.json`` per case. The JSON is a grounder's output (a list of
``{"label", "box_2d"}`` or ``{"findings": [...]}``) and goes through the same recovery
as a live model's text, so its outcome is ok, recovered or failed like any generation.
"""

from __future__ import annotations

from pathlib import Path

from audit.protocols import AuditCase
from audit.recover import parse_findings
from audit.schema import ImageReading, ParseOutcome
from models.errors import FindingsFileError
from models.settings import BackendSettings

# A findings file is a small JSON document; anything larger is not one.
MAX_FINDINGS_BYTES = 5_000_000


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
        file = self.file_for(case)
        try:
            if file.stat().st_size > MAX_FINDINGS_BYTES:
                raise FindingsFileError(f"{file} is larger than {MAX_FINDINGS_BYTES:,} bytes")
            raw = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, FindingsFileError) as error:
            return ImageReading(
                backend=self.name, outcome=ParseOutcome.failed(f"cannot read {file}: {error}")
            )
        return parse_findings(raw, self.name, case.image_size)
