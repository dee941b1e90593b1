"""Report generators: base MedGemma on this machine, or a report generator behind any endpoint.

Both send the chat of a report profile (:mod:`models.checkpoints`, ``medgemma-report`` by
default: a system turn, the image at its own aspect ratio, our report prompt) and read each
answer with :func:`audit.recover.read_report`. An empty or unreadable answer goes up the
retry ladder like any generation and, if it stays empty, comes back as a failed reading
with every attempt's raw text in its :class:`RunRecord`; a case whose image cannot be read,
or that the endpoint refuses, fails with the reason. Nothing is dropped: one
:class:`ReportRun` per case, in input order.

Importing this module imports neither torch nor transformers; building the MedGemma
generator does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, runtime_checkable

from audit.protocols import AuditCase
from audit.recover import ReportReading, read_report
from audit.schema import ParseOutcome
from models.checkpoints import ReportProfile
from models.generation import RunRecord
from models.hf_backend import ChatBackend
from models.imaging import downscale, png_data_url, to_rgb
from models.openai_backend import _EndpointBackend
from models.prompts import DecodingPlan, Message

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ReportRun:
    """One case's generation: the report as read (or why there is none) and every attempt made."""

    case_id: str
    reading: ReportReading
    run: RunRecord | None  # None: no request was made (no usable image, or the endpoint refused)


@runtime_checkable
class ReportGenerator(Protocol):
    """Writes a report for each case; order is kept and every case gets a :class:`ReportRun`."""

    name: str  # the backend: "medgemma" or "openai"
    profile: Any  # the ReportProfile its chat follows

    @property
    def model_id(self) -> str: ...

    def generate_batch(
        self, cases: Sequence[AuditCase], progress: Progress | None = None
    ) -> list[ReportRun]: ...


def report_image(case: AuditCase, profile: ReportProfile) -> Any:
    """The case's image as the profile sends it: RGB, unpadded, longer side at most its limit."""
    if case.load_image is None:
        raise ValueError(f"case {case.case_id} has no image")
    image = to_rgb(case.load_image())
    return downscale(image, profile.input_size(*image.size))


def failed_report(reason: str) -> ReportReading:
    return ReportReading(text="", outcome=ParseOutcome.failed(reason))


class MedGemmaReportGenerator(ChatBackend[ReportReading]):
    """Base MedGemma (transformers) writing reports, ``batch_size`` images per generate call."""

    name = "medgemma"
    task = "report"
    kind = "generator"
    profile: ReportProfile

    @property
    def model_id(self) -> str:
        return self.loaded.plan.model_id

    def generate_batch(self, cases: Sequence[AuditCase], progress: Progress | None = None) -> list[ReportRun]:
        results = self.run_images(
            cases,
            partial(report_image, profile=self.profile),
            self._chat,
            lambda image: read_report,
            failed_report,
            progress,
        )
        return [
            ReportRun(case.case_id, reading, run) for case, (reading, run) in zip(cases, results, strict=True)
        ]

    def _chat(self, image: Any, plan: DecodingPlan) -> list[Message]:
        return self.profile.messages(image)


class OpenAIReportGenerator(_EndpointBackend[ReportReading]):
    """A report generator behind an OpenAI-compatible endpoint, ``concurrency`` requests at a time."""

    task = "report"
    kind = "generator"
    profile: ReportProfile

    @classmethod
    def from_settings(cls, settings: Any) -> _EndpointBackend[ReportReading]:
        return cls.connect(settings)

    @property
    def model_id(self) -> str:
        return self.client.model

    def generate_batch(self, cases: Sequence[AuditCase], progress: Progress | None = None) -> list[ReportRun]:
        results = self._run_each_with_records(
            cases, self._one, lambda _, reason: failed_report(reason), progress
        )
        return [
            ReportRun(case.case_id, reading, run) for case, (reading, run) in zip(cases, results, strict=True)
        ]

    def _one(self, case: AuditCase) -> tuple[ReportReading, RunRecord | None]:
        try:
            image = report_image(case, self.profile)
        except (ValueError, OSError) as error:
            return failed_report(f"no usable image: {error}"), None
        return self._run(lambda plan: self.profile.messages(), read_report, png_data_url(image))
