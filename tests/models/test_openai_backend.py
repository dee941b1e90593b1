"""The openai backends against a small fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from audit.protocols import AuditCase
from models.errors import EndpointResponseError, EndpointUnavailableError
from models.openai_backend import (
    OpenAIGrounder,
    OpenAIParser,
    completions_url,
)
from models.registry import get_grounder, get_parser
from models.settings import BackendSettings
from tests.models.tiny_models import tiny_chest_image

DRAFT = "Small left pleural effusion. No pneumothorax."


@dataclass
class Reply:
    status: int = 200
    content: str = "[]"
    reasoning: str | None = None
    delay_s: float = 0.0


@dataclass
class FakeServer:
    """Answers chat completions from a script of replies and keeps every request it got."""

    url: str
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def completion(reply: Reply) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    body = {
        "choices": [{"index": 0, "message": message}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7},
    }
    return json.dumps(body).encode()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.requests.append(json.loads(self.rfile.read(length)))
            state.headers.append(dict(self.headers))
            state.paths.append(self.path)
            reply = state.replies.pop(0) if state.replies else Reply()
            time.sleep(reply.delay_s)
            body = completion(reply) if reply.status == 200 else b'{"error": "scripted"}'
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def settings(url: str, **overrides: Any) -> BackendSettings:
    values: dict[str, Any] = {
        "endpoint_url": url,
        "timeout_s": 5.0,
        "http_retries": 2,
        "enable_thinking": False,
    }
    values.update(overrides)
    return BackendSettings(**values)


def no_sleep(backend: OpenAIGrounder | OpenAIParser) -> None:
    backend.client.sleep = lambda seconds: None


def image_case() -> AuditCase:
    return AuditCase(
        case_id="c1", draft=DRAFT, image_size=(96, 80), load_image=lambda: tiny_chest_image(96, 80)
    )


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
    with pytest.raises(EndpointUnavailableError, match="needs an endpoint URL"):
        get_parser("openai", BackendSettings())


def test_the_grounder_sends_the_padded_image_and_reads_the_boxes(server: FakeServer) -> None:
    server.replies.append(Reply(content='[{"label": "cardiomegaly", "box_2d": [400, 300, 800, 700]}]'))
    grounder = get_grounder("openai", settings(server.url))
    reading = grounder.ground(image_case())
    request = server.requests[0]
    assert server.paths == ["/v1/chat/completions"]
    assert request["model"] == "alex-feeel/medgemma-cxr-auditor-v2"
    assert (request["temperature"], request["max_tokens"]) == (0.0, 384)
    image_part = request["messages"][1]["content"][0]
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,")
    assert reading.outcome.status == "ok"
    assert reading.findings[0].label == "cardiomegaly" and reading.findings[0].box_scale == "per_mille"
    assert (reading.image_width, reading.image_height) == (96, 80)


def test_the_parser_passes_the_thinking_switch_and_reads_a_separate_trace(server: FakeServer) -> None:
    answer = '[{"label": "pneumothorax", "status": "absent", "span": "No pneumothorax"}]'
    server.replies.append(Reply(content=answer, reasoning="The draft negates it."))
    parser = get_parser("openai", settings(server.url, enable_thinking=True, model_id="nemotron-served"))
    reading = parser.parse(DRAFT)
    request = server.requests[0]
    assert request["model"] == "nemotron-served"
    assert request["chat_template_kwargs"] == {"enable_thinking": True}
    assert request["max_tokens"] >= 512
    assert reading.labels[0].label == "pneumothorax" and reading.labels[0].verified
    run = parser.last_run  # type: ignore[attr-defined]
    assert run.attempts[0].raw.startswith("<think>The draft negates it.</think>")
    assert (run.attempts[0].prompt_tokens, run.attempts[0].new_tokens) == (42, 7)


def test_the_api_key_is_read_from_the_named_environment_variable(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXR_TEST_KEY", "sk-test")
    get_parser("openai", settings(server.url, api_key_env="CXR_TEST_KEY")).parse(DRAFT)
    assert server.headers[0]["Authorization"] == "Bearer sk-test"


def test_garbage_climbs_the_retry_ladder_and_fails_with_every_attempt_kept(server: FakeServer) -> None:
    server.replies.extend([Reply(content="Sorry, I can't."), Reply(content="No."), Reply(content="Nope.")])
    parser = get_parser("openai", settings(server.url))
    reading = parser.parse(DRAFT)
    assert reading.failed and reading.outcome.raw == "Nope."
    assert "could not be read" in server.requests[1]["messages"][-1]["content"]
    assert server.requests[2]["temperature"] > 0 and "seed" in server.requests[2]
    assert [a.raw for a in parser.last_run.attempts] == ["Sorry, I can't.", "No.", "Nope."]  # type: ignore[attr-defined]


def test_a_server_error_is_retried(server: FakeServer) -> None:
    server.replies.extend([Reply(status=503), Reply(content="[]")])
    parser = get_parser("openai", settings(server.url))
    assert isinstance(parser, OpenAIParser)
    no_sleep(parser)
    reading = parser.parse(DRAFT)
    assert len(server.requests) == 2
    assert not reading.failed


def test_a_refused_request_is_a_clear_error_not_a_retry(server: FakeServer) -> None:
    server.replies.append(Reply(status=404))
    parser = get_parser("openai", settings(server.url, model_id="no-such-model"))
    with pytest.raises(EndpointResponseError, match=r"HTTP 404.*'no-such-model'"):
        parser.parse(DRAFT)
    assert len(server.requests) == 1


def test_a_slow_server_times_out_and_is_reported_down(server: FakeServer) -> None:
    server.replies.extend([Reply(delay_s=1.0), Reply(delay_s=1.0)])
    parser = get_parser("openai", settings(server.url, timeout_s=0.2, http_retries=1))
    assert isinstance(parser, OpenAIParser)
    no_sleep(parser)
    with pytest.raises(EndpointUnavailableError, match="after 2 tries"):
        parser.parse(DRAFT)


def test_an_endpoint_that_is_down_says_so_with_its_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the request: nothing listens here
    grounder = get_grounder("openai", settings(f"http://127.0.0.1:{port}", http_retries=1))
    assert isinstance(grounder, OpenAIGrounder)
    no_sleep(grounder)
    with pytest.raises(EndpointUnavailableError) as caught:
        grounder.ground(image_case())
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in message
    assert "is the server running" in message


def test_a_case_without_an_image_is_a_failed_reading_without_a_request(server: FakeServer) -> None:
    reading = get_grounder("openai", settings(server.url)).ground(AuditCase(case_id="x", draft=DRAFT))
    assert reading.failed and server.requests == []


def test_a_network_address_beyond_loopback_is_never_reached() -> None:
    grounder = get_grounder("openai", settings("http://models.example.org/v1", http_retries=0))
    with pytest.raises(EndpointUnavailableError, match="may not resolve"):
        grounder.ground(image_case())
