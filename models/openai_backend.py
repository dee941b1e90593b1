"""The ``openai`` grounder and parser: the checkpoints' own chats over an OpenAI-compatible endpoint.

This is how a department scales out: vLLM serves MedGemma and Nemotron on GPU servers
behind one URL each (``--endpoint`` for the grounder, ``--parser-endpoint`` for the parser,
or ``[backends.openai-grounder]`` / ``[backends.openai-parser]`` in the settings), and a
laptop without an NVIDIA GPU runs llama.cpp's ``llama-server`` or Ollama. The workstation
and ``cxr-audit eval`` are clients.

Each request is what the checkpoint profile asks for: for the default grounder one user
turn, the image first (a PNG data URL at its own aspect ratio, longer side at most
1,024 px, no padding), then the pinned prompt. Requests go out concurrently, at most
``concurrency`` at a time, and come back in input order: a server such as vLLM batches
what arrives together. Building a backend asks the server for its models, so an endpoint
that is down or does not serve the model is refused at once, in one sentence. A request
that fails later becomes a failed reading carrying the reason; what the model says goes
through the same recovery layer and retry ladder as the local backends.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Generic, TypeVar

from audit.protocols import AuditCase
from audit.recover import parse_draft_labels
from audit.schema import DraftReading, ImageReading, ParseOutcome
from models.checkpoints import AnyProfile, GroundingProfile, ParsingProfile
from models.errors import EndpointResponseError, EndpointUnavailableError
from models.generation import AttemptRecord, Generation, Reading, RunRecord, continue_ladder, record, settle
from models.grounding import prepare_image, read_grounding
from models.imaging import png_data_url
from models.openai_client import ChatClient
from models.prompts import (
    DecodingPlan,
    Message,
    Task,
    as_openai_messages,
    max_new_tokens,
    retry_ladder,
    with_correction,
)
from models.registry import Kind, spec_for
from models.settings import BackendSettings

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Reading)
T = TypeVar("T")
Progress = Callable[[int], None]


def client_from(settings: BackendSettings, kind: Kind) -> ChatClient:
    flag = "--parser-endpoint (or --endpoint in parse)" if kind == "parser" else "--endpoint"
    if not settings.endpoint_url:
        raise EndpointUnavailableError(
            f"the openai {kind} needs an endpoint URL ({flag}, or endpoint_url in "
            f"[backends.openai-{kind}]), e.g. http://gpu-server:8000/v1"
        )
    model = spec_for(kind, "openai").model_id(settings)
    if not model:
        raise EndpointUnavailableError(f"the openai {kind} needs a served model name (--model)")
    return ChatClient(
        settings.endpoint_url,
        model,
        settings.timeout_s,
        settings.http_retries,
        api_key=os.environ.get(settings.api_key_env),
    )


class _EndpointBackend(Generic[R]):
    name = "openai"
    task: Task
    kind: Kind

    def __init__(
        self,
        client: ChatClient,
        settings: BackendSettings,
        profile: AnyProfile,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.client = client
        self.settings = settings
        self.profile = profile
        self.notes = notes
        self.ladder = retry_ladder(profile, settings)
        self.thinking_off_tokens = max_new_tokens(profile, settings, thinking=False)
        self.last_runs: tuple[RunRecord, ...] = ()

    @classmethod
    def connect(cls, settings: BackendSettings) -> _EndpointBackend[R]:
        """Build the backend after asking the endpoint whether it is up and serves the model."""
        spec = spec_for(cls.kind, cls.name)
        profile, note = spec.profile(settings)
        client = client_from(settings, cls.kind)
        checked = client.check("--parser-model" if cls.kind == "parser" else "--model")
        notes = tuple(item for item in (note, checked) if item)
        for item in notes:
            log.info("%s", item)
        return cls(client, settings, profile, notes)

    @property
    def version(self) -> str:
        """What produced a reading, stored with each audit run: profile, served model, endpoint."""
        return f"profile {self.profile.name}; {self.client.model} at {self.client.base}"

    @property
    def last_run(self) -> RunRecord | None:
        return self.last_runs[-1] if self.last_runs else None

    def thinking_kwarg(self) -> str | None:
        thinking = getattr(self.profile, "thinking", None)
        return thinking.template_kwarg if thinking is not None else None

    def _run(
        self,
        chat: Callable[[DecodingPlan], list[Message]],
        read: Callable[[str], R],
        image_url: str | None = None,
    ) -> tuple[R, RunRecord]:
        def generate(plan: DecodingPlan, previous: str | None = None, error: str | None = None) -> Generation:
            messages = chat(plan)
            if plan.corrective:
                messages = with_correction(messages, self.task, previous or "", error)
            return self.client.complete(
                as_openai_messages(messages, image_url), plan, self.profile.stop_tokens, self.thinking_kwarg()
            )

        first = self.ladder[0]
        generation = generate(first)
        reading = read(generation.text)
        attempts: list[AttemptRecord] = [record(0, first, generation, reading)]
        reading = continue_ladder(reading, attempts, self.ladder, generate, read, self.thinking_off_tokens)
        run = RunRecord(
            backend=self.name,
            task=self.task,
            model_id=self.client.model,
            profile=self.profile.name,
            device=self.client.url,
            attempts=tuple(attempts),
        )
        return settle(reading, attempts), run

    def _run_each(
        self,
        items: Sequence[T],
        run_one: Callable[[T], tuple[R, RunRecord | None]],
        failed: Callable[[T, str], R],
        progress: Progress | None,
    ) -> list[R]:
        return [reading for reading, _ in self._run_each_with_records(items, run_one, failed, progress)]

    def _run_each_with_records(
        self,
        items: Sequence[T],
        run_one: Callable[[T], tuple[R, RunRecord | None]],
        failed: Callable[[T, str], R],
        progress: Progress | None,
    ) -> list[tuple[R, RunRecord | None]]:
        """One request per item, ``concurrency`` in flight at a time; results in input order,
        each with the record of its attempts (None: it never reached the endpoint).

        ``last_runs`` keeps the record of every item that reached the endpoint. An item the
        endpoint could not answer becomes ``failed(item, reason)``: a visible failed reading.
        """

        def guarded(item: T) -> tuple[R, RunRecord | None]:
            try:
                return run_one(item)
            except (EndpointUnavailableError, EndpointResponseError) as error:
                log.warning("%s", error)
                return failed(item, str(error)), None

        workers = max(1, min(self.settings.concurrency, len(items)))
        results: list[tuple[R, RunRecord | None]] = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"openai-{self.kind}") as pool:
            for result in pool.map(guarded, items):
                results.append(result)
                if progress is not None:
                    progress(1)
        self.last_runs = tuple(run for _, run in results if run is not None)
        return results


class OpenAIGrounder(_EndpointBackend[ImageReading]):
    """The grounding chat over an endpoint serving MedGemma (the fine-tune by default)."""

    task = "grounding"
    kind = "grounder"
    profile: GroundingProfile

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> _EndpointBackend[ImageReading]:
        return cls.connect(settings)

    def ground(self, case: AuditCase) -> ImageReading:
        return self.ground_batch([case])[0]

    def ground_batch(
        self, cases: Sequence[AuditCase], progress: Progress | None = None
    ) -> list[ImageReading]:
        """Ground cases, ``concurrency`` requests at a time (the server batches them itself)."""
        return self._run_each(cases, self._ground_one, self._failed, progress)

    def _failed(self, case: AuditCase, reason: str) -> ImageReading:
        return ImageReading(backend=self.name, outcome=ParseOutcome.failed(reason))

    def _ground_one(self, case: AuditCase) -> tuple[ImageReading, RunRecord | None]:
        try:
            prepared = prepare_image(case, self.profile)
        except (ValueError, OSError) as error:
            return self._failed(case, f"no usable image: {error}"), None
        return self._run(
            lambda plan: self.profile.messages(),
            partial(read_grounding, prepared=prepared, backend=self.name, profile=self.profile),
            png_data_url(prepared.image),
        )


class OpenAIParser(_EndpointBackend[DraftReading]):
    """The draft-parsing chat over an endpoint serving Nemotron (thinking switch passed along)."""

    task = "parsing"
    kind = "parser"
    profile: ParsingProfile

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> _EndpointBackend[DraftReading]:
        return cls.connect(settings)

    def parse(self, text: str) -> DraftReading:
        return self.parse_batch([text])[0]

    def parse_batch(self, texts: Sequence[str], progress: Progress | None = None) -> list[DraftReading]:
        return self._run_each(texts, self._parse_one, self._failed, progress)

    def _failed(self, text: str, reason: str) -> DraftReading:
        return DraftReading(backend=self.name, text=text, outcome=ParseOutcome.failed(reason))

    def _parse_one(self, text: str) -> tuple[DraftReading, RunRecord | None]:
        return self._run(
            lambda plan: self.profile.messages(text, plan.enable_thinking),
            partial(parse_draft_labels, draft=text, backend=self.name),
        )
