"""The ``openai`` grounder and parser: the same prompts over an OpenAI-compatible endpoint.

This is how a department scales out: vLLM or TGI serve MedGemma and Nemotron on GPUs
behind one URL; the workstation and ``cxr-audit eval`` are clients. Only the standard
library's HTTP client is used. Requests time out (``timeout_s``), connection failures and
5xx/429 answers are retried (``http_retries``, with backoff), and an endpoint that stays
down raises :class:`EndpointUnavailableError` with the URL and what to check. What the model
says goes through the same recovery layer and retry ladder as the local backends.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from audit.protocols import AuditCase
from audit.recover import parse_draft_labels
from audit.schema import DraftReading, ImageReading, ParseOutcome
from models.errors import EndpointResponseError, EndpointUnavailableError
from models.generation import AttemptRecord, Generation, Reading, RunRecord, continue_ladder, record, settle
from models.imaging import png_data_url
from models.medgemma import PreparedImage, prepare_image, read_grounding
from models.prompts import (
    DecodingPlan,
    Message,
    Task,
    as_openai_messages,
    grounding_messages,
    parsing_messages,
    retry_ladder,
    with_correction,
)
from models.registry import spec_for
from models.settings import BackendSettings

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Reading)
T = TypeVar("T")
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_S = 0.5


def completions_url(endpoint: str) -> str:
    """The chat-completions URL for a server root, a ``/v1`` base, or the full URL."""
    url = endpoint.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return f"{url}/chat/completions"
    return f"{url}/v1/chat/completions"


class ChatClient:
    """A minimal OpenAI-compatible chat-completions client with timeouts and retries."""

    def __init__(
        self,
        endpoint: str,
        model: str,
        timeout_s: float,
        retries: int,
        api_key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = completions_url(endpoint)
        self.model = model
        self.timeout_s = timeout_s
        self.retries = retries
        self.api_key = api_key
        self.sleep = sleep

    def body(self, messages: list[Message], plan: DecodingPlan) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": plan.max_new_tokens,
            "temperature": plan.temperature if plan.do_sample else 0.0,
            "stream": False,
        }
        if plan.do_sample:
            body["top_p"] = plan.top_p
            if plan.seed is not None:
                body["seed"] = plan.seed
        if plan.task == "parsing":
            # vLLM and SGLang hand these to the chat template (Nemotron's thinking switch).
            body["chat_template_kwargs"] = {"enable_thinking": plan.enable_thinking}
        return body

    def complete(self, messages: list[Message], plan: DecodingPlan) -> Generation:
        """One chat completion; raises EndpointUnavailableError when the endpoint stays down."""
        payload = json.dumps(self.body(messages, plan)).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(BACKOFF_S * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    answer = json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", "replace")[:300]
                if error.code in RETRY_STATUS:
                    last_problem = f"HTTP {error.code}: {detail}"
                    log.warning("endpoint %s answered %s; retrying", self.url, last_problem)
                    continue
                raise EndpointResponseError(
                    f"the endpoint {self.url} refused the request (HTTP {error.code}: {detail}); "
                    f"check the model name {self.model!r} and the API key"
                ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                last_problem = f"{type(reason).__name__}: {reason}"
                log.warning("endpoint %s unreachable (%s); retrying", self.url, last_problem)
                continue
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise EndpointResponseError(
                    f"the endpoint {self.url} did not answer with JSON: {error}"
                ) from None
            return self._generation(answer, time.perf_counter() - started)
        raise EndpointUnavailableError(
            f"cannot reach the OpenAI-compatible endpoint {self.url} after {self.retries + 1} tries "
            f"({last_problem}): is the server running, and is --endpoint right?"
        )

    def _generation(self, answer: Any, seconds: float) -> Generation:
        try:
            message = answer["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise EndpointResponseError(
                f"the endpoint {self.url} answered without choices[0].message: {str(answer)[:200]}"
            ) from None
        text = message.get("content") or ""
        # A server-side reasoning parser returns the trace apart; keep it, closed, for the record.
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning:
            text = f"<think>{reasoning}</think>{text}"
        usage = answer.get("usage") or {}
        return Generation(text, usage.get("prompt_tokens"), usage.get("completion_tokens"), seconds)


def client_from(settings: BackendSettings, kind: str, name: str) -> ChatClient:
    if not settings.endpoint_url:
        raise EndpointUnavailableError(
            f"the openai {kind} needs an endpoint URL (--endpoint or CXR_AUDIT_ENDPOINT_URL), "
            "e.g. http://gpu-server:8000/v1"
        )
    model = spec_for(kind, name).model_id(settings)  # type: ignore[arg-type]
    if not model:
        raise EndpointUnavailableError(f"the openai {kind} needs a served model name (--model)")
    return ChatClient(
        settings.endpoint_url,
        model,
        settings.timeout_s,
        settings.http_retries,
        api_key=os.environ.get(settings.api_key_env),
    )


class _EndpointBackend:
    name = "openai"
    task: Task

    def __init__(self, client: ChatClient, settings: BackendSettings) -> None:
        self.client = client
        self.settings = settings
        self.ladder = retry_ladder(self.task, settings)
        self.last_runs: tuple[RunRecord, ...] = ()

    @property
    def last_run(self) -> RunRecord | None:
        return self.last_runs[-1] if self.last_runs else None

    def _run(
        self, messages: list[Message], read: Callable[[str], R], image_url: str | None = None
    ) -> tuple[R, RunRecord]:
        def generate(plan: DecodingPlan, previous: str | None = None, error: str | None = None) -> Generation:
            chat = (
                with_correction(messages, self.task, previous or "", error) if plan.corrective else messages
            )
            return self.client.complete(as_openai_messages(chat, image_url), plan)

        first = self.ladder[0]
        generation = generate(first)
        reading = read(generation.text)
        attempts: list[AttemptRecord] = [record(0, first, generation, reading)]
        reading = continue_ladder(reading, attempts, self.ladder, generate, read)
        run = RunRecord(
            backend=self.name,
            task=self.task,
            model_id=self.client.model,
            device=self.client.url,
            attempts=tuple(attempts),
        )
        return settle(reading, attempts), run

    def _run_each(
        self,
        items: Sequence[T],
        run_one: Callable[[T], tuple[R, RunRecord | None]],
        progress: Callable[[int], None] | None,
    ) -> list[R]:
        """One request per item, in order.

        ``last_runs`` keeps the record of every item that reached the endpoint; an item
        ``run_one`` answered without a request (``None``) has none.
        """
        readings: list[R] = []
        runs: list[RunRecord] = []
        for item in items:
            reading, run = run_one(item)
            readings.append(reading)
            if run is not None:
                runs.append(run)
            if progress is not None:
                progress(1)
        self.last_runs = tuple(runs)
        return readings


class OpenAIGrounder(_EndpointBackend):
    """The grounding prompt over an endpoint serving MedGemma (or its fine-tune)."""

    task = "grounding"

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> OpenAIGrounder:
        return cls(client_from(settings, "grounder", "openai"), settings)

    def ground(self, case: AuditCase) -> ImageReading:
        return self.ground_batch([case])[0]

    def ground_batch(
        self, cases: Sequence[AuditCase], progress: Callable[[int], None] | None = None
    ) -> list[ImageReading]:
        """Ground cases one request each (the server batches concurrent requests itself)."""
        return self._run_each(cases, self._ground_one, progress)

    def _ground_one(self, case: AuditCase) -> tuple[ImageReading, RunRecord | None]:
        try:
            prepared: PreparedImage = prepare_image(case, self.settings.pad_to_square)
        except (ValueError, OSError) as error:
            failed = ImageReading(backend=self.name, outcome=ParseOutcome.failed(f"no usable image: {error}"))
            return failed, None
        return self._run(
            grounding_messages(),
            partial(read_grounding, prepared=prepared, backend=self.name),
            png_data_url(prepared.image),
        )


class OpenAIParser(_EndpointBackend):
    """The draft-parsing prompt over an endpoint serving Nemotron (thinking switch passed along)."""

    task = "parsing"

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> OpenAIParser:
        return cls(client_from(settings, "parser", "openai"), settings)

    def parse(self, text: str) -> DraftReading:
        return self.parse_batch([text])[0]

    def parse_batch(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[DraftReading]:
        thinking = self.ladder[0].enable_thinking

        def parse_one(text: str) -> tuple[DraftReading, RunRecord | None]:
            return self._run(
                parsing_messages(text, thinking),
                partial(parse_draft_labels, draft=text, backend=self.name),
            )

        return self._run_each(texts, parse_one, progress)
