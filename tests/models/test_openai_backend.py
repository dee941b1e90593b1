"""The openai backends against fake vLLM, llama.cpp and Ollama servers on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from audit.protocols import AuditCase
from bench.fake_endpoint import FakeEndpoint, Flavour, Reply, serve
from models.checkpoints import FINE_TUNE_PROMPT
from models.errors import EndpointResponseError, EndpointUnavailableError
from models.openai_backend import OpenAIGrounder, OpenAIParser
from models.openai_client import (
    completions_url,
    retry_after_s,
    server_message,
)
from models.registry import get_grounder, get_parser
from models.settings import BackendSettings
from tests.models.tiny_models import tiny_chest_image

DRAFT = "Small left pleural effusion. No pneumothorax."
NEMOTRON_ID = "nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16"
SERVED = ("alex-feeel/medgemma-cxr-auditor-v2", NEMOTRON_ID)
ANSWER = '[{"label": "pneumothorax", "status": "absent", "span": "No pneumothorax"}]'


@pytest.fixture
def server() -> Iterator[FakeEndpoint]:
    with serve(FakeEndpoint(served=SERVED)) as running:
        yield running


def settings(url: str, **overrides: Any) -> BackendSettings:
    values: dict[str, Any] = {"endpoint_url": url, "timeout_s": 5.0, "http_retries": 2}
    values.update(overrides)
    return BackendSettings(**values)


def quiet(backend: object) -> list[float]:
    """Record the client's waits instead of sleeping them."""
    waits: list[float] = []
    backend.client.sleep = waits.append  # type: ignore[attr-defined]
    return waits


def image_case(width: int = 96, height: int = 80) -> AuditCase:
    return AuditCase(
        case_id="c1",
        draft=DRAFT,
        image_size=(width, height),
        load_image=lambda: tiny_chest_image(width, height),
    )


def sent_image(request: dict[str, Any]) -> Any:
    from PIL import Image

    url = next(
        part["image_url"]["url"]
        for message in request["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part["type"] == "image_url"
    )
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2])))


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://gpu:8000", "http://gpu:8000/v1/chat/completions"),
        ("http://gpu:8000/v1/", "http://gpu:8000/v1/chat/completions"),
        ("http://gpu:8000/v1/chat/completions", "http://gpu:8000/v1/chat/completions"),
    ],
    ids=["root", "v1", "full"],
)
def test_the_completions_url_is_found_from_any_usual_endpoint_form(endpoint: str, url: str) -> None:
    assert completions_url(endpoint) == url


def test_without_an_endpoint_the_backend_says_how_to_give_one() -> None:
    with pytest.raises(EndpointUnavailableError, match=r"needs an endpoint URL \(--parser-endpoint"):
        get_parser("openai", BackendSettings())


class TestGrounding:
    def test_the_default_profile_sends_one_user_turn_image_first_then_the_pinned_prompt(
        self, server: FakeEndpoint
    ) -> None:
        server.replies.append(
            Reply(content='[{"label": "lung_opacity_consolidation", "box_2d": [0.5, 0.1, 0.9, 0.4]}]')
        )
        grounder = get_grounder("openai", settings(server.url))
        reading = grounder.ground(image_case())
        (request,) = server.requests
        assert server.paths == ["/v1/chat/completions"]
        assert request["model"] == "alex-feeel/medgemma-cxr-auditor-v2"
        assert (request["temperature"], request["max_tokens"]) == (0.0, 512)
        (message,) = request["messages"]
        assert message["role"] == "user"
        image_part, text_part = message["content"]
        assert image_part["type"] == "image_url"
        assert text_part == {"type": "text", "text": FINE_TUNE_PROMPT}
        assert "chat_template_kwargs" not in request  # a grounder has no thinking switch
        assert reading.outcome.status == "ok"  # its own label name is no repair
        assert reading.findings[0].label == "lung_opacity"
        assert (reading.image_width, reading.image_height) == (96, 80)

    def test_the_image_keeps_its_aspect_ratio_unpadded_with_the_longer_side_at_most_1024(
        self, server: FakeEndpoint
    ) -> None:
        get_grounder("openai", settings(server.url)).ground(image_case(2000, 1500))
        image = sent_image(server.requests[0])
        assert image.size == (1024, 768)
        assert image.mode == "L"  # one gray channel: a third of the bytes

    def test_the_base_profile_sends_a_system_turn_and_a_square_padded_image(
        self, server: FakeEndpoint
    ) -> None:
        get_grounder("openai", settings(server.url, profile="medgemma-base")).ground(image_case(2000, 1500))
        roles = [m["role"] for m in server.requests[0]["messages"]]
        assert roles == ["system", "user"]
        assert sent_image(server.requests[0]).size == (1024, 1024)

    def test_retries_of_the_single_turn_fine_tune_resend_its_chat_unchanged(
        self, server: FakeEndpoint
    ) -> None:
        server.replies.extend([Reply(content="I cannot"), Reply(content="No."), Reply(content="[]")])
        grounder = get_grounder("openai", settings(server.url, seed=5))
        reading = grounder.ground(image_case())
        assert len(server.requests) == 3
        assert [len(r["messages"]) for r in server.requests] == [1, 1, 1]
        assert {r["messages"][0]["content"][1]["text"] for r in server.requests} == {FINE_TUNE_PROMPT}
        assert [r.get("seed") for r in server.requests] == [None, 5, 6]
        assert reading.outcome.status == "recovered"

    def test_a_case_without_an_image_is_a_failed_reading_without_a_request(
        self, server: FakeEndpoint
    ) -> None:
        reading = get_grounder("openai", settings(server.url)).ground(AuditCase(case_id="x", draft=DRAFT))
        assert reading.failed and server.requests == []


class TestParsing:
    def test_thinking_is_on_by_default_with_what_vllm_needs_to_return_the_tags(
        self, server: FakeEndpoint
    ) -> None:
        server.replies.append(Reply(content=f"The draft negates it.</think>{ANSWER}"))
        parser = get_parser("openai", settings(server.url))
        reading = parser.parse(DRAFT)
        request = server.requests[0]
        assert request["model"] == NEMOTRON_ID
        assert request["chat_template_kwargs"] == {"enable_thinking": True}
        assert request["skip_special_tokens"] is False
        assert request["stop"] == ["<|im_end|>"]
        assert request["max_tokens"] == 1024
        assert [m["role"] for m in request["messages"]] == ["system", "user"]
        assert reading.outcome.status == "ok" and reading.labels[0].verified

    @pytest.mark.parametrize("flavour", ["vllm", "llama.cpp", "ollama"])
    def test_a_trace_returned_apart_is_read_whatever_the_servers_field(self, flavour: Flavour) -> None:
        with serve(FakeEndpoint(flavour=flavour, served=SERVED)) as running:
            running.replies.append(Reply(content=ANSWER, reasoning="The draft negates it."))
            parser = get_parser("openai", settings(running.url))
            reading = parser.parse(DRAFT)
        assert reading.labels[0].label == "pneumothorax"
        run = parser.last_run  # type: ignore[attr-defined]
        assert run.attempts[0].raw.startswith("<think>The draft negates it.</think>")
        assert (run.attempts[0].prompt_tokens, run.attempts[0].new_tokens) == (42, 7)

    @pytest.mark.parametrize(
        "cut_off",
        [
            Reply(content=None, reasoning="Let me list: [{", finish_reason="length"),
            Reply(content="Let me list the labels: [{", finish_reason="length"),
        ],
        ids=["reasoning-parser", "tags-in-content"],
    )
    def test_a_trace_cut_off_by_the_budget_is_retried_with_thinking_off(
        self, server: FakeEndpoint, cut_off: Reply
    ) -> None:
        server.replies.extend([cut_off, Reply(content=ANSWER)])
        parser = get_parser("openai", settings(server.url))
        reading = parser.parse(DRAFT)
        first, second = server.requests
        assert first["chat_template_kwargs"] == {"enable_thinking": True} and first["max_tokens"] == 1024
        assert second["chat_template_kwargs"] == {"enable_thinking": False} and second["max_tokens"] == 384
        assert len(second["messages"]) == 2  # asked again plainly, not corrected
        assert reading.outcome.status == "recovered"
        attempts = parser.last_run.attempts  # type: ignore[attr-defined]
        assert attempts[0].trace_cut_off and "never closed" in (attempts[0].error or "")
        assert attempts[1].decoding.kind == "thinking_off"

    def test_thinking_off_in_the_settings_is_sent_so(self, server: FakeEndpoint) -> None:
        get_parser("openai", settings(server.url, enable_thinking=False)).parse(DRAFT)
        assert server.requests[0]["chat_template_kwargs"] == {"enable_thinking": False}
        assert server.requests[0]["max_tokens"] == 384

    def test_garbage_climbs_the_retry_ladder_and_fails_with_every_attempt_kept(
        self, server: FakeEndpoint
    ) -> None:
        server.replies.extend(
            [Reply(content="Sorry, I can't."), Reply(content="No."), Reply(content="Nope.")]
        )
        parser = get_parser("openai", settings(server.url, enable_thinking=False))
        reading = parser.parse(DRAFT)
        assert reading.failed and reading.outcome.raw == "Nope."
        assert "could not be read" in server.requests[1]["messages"][-1]["content"]
        assert server.requests[2]["temperature"] > 0 and "seed" in server.requests[2]
        assert [a.raw for a in parser.last_run.attempts] == ["Sorry, I can't.", "No.", "Nope."]  # type: ignore[attr-defined]

    def test_the_api_key_is_read_from_the_named_environment_variable(
        self, server: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CXR_TEST_KEY", "sk-test")
        get_parser("openai", settings(server.url, api_key_env="CXR_TEST_KEY")).parse(DRAFT)
        assert server.headers[0]["Authorization"] == "Bearer sk-test"


class TestConcurrency:
    def test_a_batch_keeps_at_most_concurrency_requests_in_flight_and_its_order(self) -> None:
        def echo(request: dict[str, Any]) -> Reply:
            draft = request["messages"][-1]["content"].rpartition("<draft>\n")[2].partition("\n</draft>")[0]
            return Reply(content=json.dumps([{"label": "pneumothorax", "status": "present", "span": draft}]))

        drafts = [f"Pneumothorax number {index}." for index in range(12)]
        with serve(FakeEndpoint(served=SERVED, delay_s=0.1, default=echo)) as running:
            parser = get_parser("openai", settings(running.url, concurrency=4, enable_thinking=False))
            done: list[int] = []
            readings = parser.parse_batch(drafts, progress=done.append)  # type: ignore[attr-defined]
        assert running.max_in_flight == 4
        assert [r.labels[0].span for r in readings] == drafts
        assert sum(done) == 12 and len(parser.last_runs) == 12  # type: ignore[attr-defined]


class TestServerTrouble:
    def test_503_is_retried_waiting_as_retry_after_says(self, server: FakeEndpoint) -> None:
        server.replies.extend(
            [Reply(status=503, headers={"Retry-After": "2"}, message="Loading model"), Reply(content=ANSWER)]
        )
        parser = get_parser("openai", settings(server.url, enable_thinking=False))
        waits = quiet(parser)
        reading = parser.parse(DRAFT)
        assert waits == [2.0] and not reading.failed

    def test_429_that_persists_fails_the_item_saying_to_lower_the_concurrency(
        self, server: FakeEndpoint
    ) -> None:
        server.replies.extend([Reply(status=429, message="Too many requests")] * 3)
        parser = get_parser("openai", settings(server.url, enable_thinking=False))
        waits = quiet(parser)
        reading = parser.parse(DRAFT)
        assert waits == [0.5, 1.0]  # backing off, bounded by http_retries
        assert reading.failed and "HTTP 429: Too many requests" in (reading.outcome.error or "")
        assert "lower --concurrency" in (reading.outcome.error or "")

    def test_a_retry_after_longer_than_the_auditor_waits_is_not_waited_for(
        self, server: FakeEndpoint
    ) -> None:
        server.replies.append(Reply(status=503, headers={"Retry-After": "600"}))
        parser = get_parser("openai", settings(server.url, enable_thinking=False))
        waits = quiet(parser)
        reading = parser.parse(DRAFT)
        assert waits == [] and "asks to wait 600 s" in (reading.outcome.error or "")

    @pytest.mark.parametrize("flavour", ["vllm", "llama.cpp", "ollama"])
    def test_413_is_not_retried_and_says_the_request_was_too_large(self, flavour: Flavour) -> None:
        with serve(FakeEndpoint(flavour=flavour, served=SERVED)) as running:
            running.replies.append(Reply(status=413, message="Payload Too Large"))
            grounder = get_grounder("openai", settings(running.url))
            reading = grounder.ground(image_case())
        assert len(running.requests) == 1
        assert reading.failed and "refused the request as too large (HTTP 413" in (
            reading.outcome.error or ""
        )
        assert "Payload Too Large" in (reading.outcome.error or "")

    def test_a_400_fails_only_its_item_with_the_servers_reason_and_no_blame_on_the_key(self) -> None:
        with serve(FakeEndpoint(flavour="vllm", served=SERVED)) as running:
            running.replies.append(Reply(status=400, message="image too small for the vision encoder"))
            grounder = get_grounder("openai", settings(running.url))
            reading = grounder.ground(image_case())
        error = reading.outcome.error or ""
        assert reading.failed and len(running.requests) == 1
        assert "refused this request (HTTP 400: image too small for the vision encoder)" in error
        assert "API key" not in error

    def test_a_slow_server_times_out_and_the_item_says_so(self, server: FakeEndpoint) -> None:
        server.replies.extend([Reply(delay_s=1.0, content=ANSWER), Reply(delay_s=1.0, content=ANSWER)])
        parser = get_parser(
            "openai", settings(server.url, timeout_s=0.2, http_retries=1, enable_thinking=False)
        )
        quiet(parser)
        reading = parser.parse(DRAFT)
        assert reading.failed and "did not answer within 0.2 s" in (reading.outcome.error or "")
        assert "gave up after 2 tries" in (reading.outcome.error or "")


class TestServers:
    def test_an_endpoint_that_is_down_is_refused_when_the_backend_is_built(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # closed again before the request: nothing listens here
        started = time.perf_counter()
        with pytest.raises(EndpointUnavailableError) as caught:
            get_grounder("openai", settings(f"http://127.0.0.1:{port}", http_retries=0))
        assert time.perf_counter() - started < 5
        message = str(caught.value)
        assert f"http://127.0.0.1:{port}/v1" in message and "is the server running" in message

    def test_vllm_not_serving_the_model_is_refused_with_what_it_serves(self, server: FakeEndpoint) -> None:
        with pytest.raises(EndpointResponseError, match=r"does not serve 'medgemma'; it serves: alex-feeel/"):
            get_grounder("openai", settings(server.url, model_id="medgemma"))

    def test_ollama_model_names_match_without_their_latest_tag(self) -> None:
        with serve(FakeEndpoint(flavour="ollama", served=("medgemma-cxr:latest",))) as running:
            grounder = get_grounder("openai", settings(running.url, model_id="medgemma-cxr"))
            grounder.ground(image_case())
        assert running.requests[0]["model"] == "medgemma-cxr"
        assert grounder.profile.name == "medgemma-cxr-auditor-v2"  # type: ignore[attr-defined]
        assert "choose another with --profile" in grounder.notes[0]  # type: ignore[attr-defined]

    def test_llama_cpp_serves_its_one_model_whatever_the_name(self) -> None:
        with serve(FakeEndpoint(flavour="llama.cpp", served=("medgemma-cxr-q8_0.gguf",))) as running:
            grounder = get_grounder("openai", settings(running.url))
            reading = grounder.ground(image_case())
        assert not reading.failed
        assert any("llama.cpp" in note for note in grounder.notes)  # type: ignore[attr-defined]

    def test_an_unknown_ollama_model_fails_the_item_saying_to_pull_it(self) -> None:
        with serve(FakeEndpoint(flavour="ollama", served=(), lists_models=False)) as running:
            parser = get_parser("openai", settings(running.url, model_id="nemotron", enable_thinking=False))
            reading = parser.parse(DRAFT)
        assert reading.failed and "ollama pull" in (reading.outcome.error or "")
        assert 'model "nemotron" not found' in (reading.outcome.error or "")

    def test_a_network_address_beyond_loopback_is_never_reached(self) -> None:
        with pytest.raises(EndpointUnavailableError, match="may not resolve"):
            get_grounder("openai", settings("http://models.example.org/v1", http_retries=0))

    def test_the_backend_records_its_profile_model_and_endpoint(self, server: FakeEndpoint) -> None:
        grounder = get_grounder("openai", settings(server.url))
        assert isinstance(grounder, OpenAIGrounder)
        assert grounder.version == f"profile medgemma-cxr-auditor-v2; {SERVED[0]} at {server.url}"
        grounder.ground(image_case())
        assert grounder.last_run is not None and grounder.last_run.profile == "medgemma-cxr-auditor-v2"
        assert isinstance(get_parser("openai", settings(server.url)), OpenAIParser)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"object": "error", "message": "max context 4096", "type": "BadRequestError", "code": 400}',
            "max context 4096",
        ),
        (
            b'{"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}',
            "Loading model",
        ),
        (b'{"error": "Input validation error"}', "Input validation error"),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b"<html><body><h1>413 Request Entity Too Large</h1></body></html>", "413 Request Entity Too Large"),
        (b"", "(no message)"),
    ],
    ids=["vllm", "llama.cpp-and-ollama", "tgi", "fastapi", "html-proxy", "empty"],
)
def test_every_servers_error_body_gives_one_line(body: bytes, message: str) -> None:
    assert server_message(body) == message


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert retry_after_s("3") == 3.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert retry_after_s("soon") is None and retry_after_s(None) is None
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 50 < (retry_after_s(later) or 0) <= 60
    assert np.isclose(retry_after_s("0.5") or 0, 0.5)
