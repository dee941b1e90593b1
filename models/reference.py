"""The ``reference`` grounder: the expert boxes stored with the case, read back as findings."""

from __future__ import annotations

from audit.protocols import AuditCase
from audit.schema import ImageReading
from models.settings import BackendSettings


class ReferenceGrounder:
    """Returns the case's reference findings; for teaching worklists and evaluation."""

    name = "reference"

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> ReferenceGrounder:
        return cls()

    def ground(self, case: AuditCase) -> ImageReading:
        width, height = case.image_size if case.image_size else (None, None)
        return ImageReading(
            backend=self.name, findings=case.reference, image_width=width, image_height=height
        )
