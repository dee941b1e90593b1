"""A fake OpenAI-compatible server on 127.0.0.1 that answers as vLLM, llama.cpp or Ollama do.

For the tests and the concurrency benchmark: no model, but the wire shapes of the three
servers the ``openai`` backend is used with (see :mod:`models.openai_client`): where each
puts a reasoning trace, how each shapes an error body, what ``/v1/models`` lists, and how
each answers an unknown model. Replies come from a script (or a default), each after a
set delay; every request is kept, and the most requests ever in flight at once is counted.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Flavour = Literal["vllm", "llama.cpp", "ollama"]


@dataclass
class Reply:
    """One scripted answer: a chat completion, or an HTTP error with the server's own body."""

    status: int = 200
    content: str | None = "[]"
    reasoning: str | None = None
    finish_reason: str = "stop"
    delay_s: float | None = None  # None: the server's delay
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "scripted failure"


@dataclass
class FakeEndpoint:
    """What the server was asked and how it answers; ``url`` is its ``/v1`` base once started."""

    flavour: Flavour = "vllm"
    served: tuple[str, ...] = ("alex-feeel/medgemma-cxr-auditor-v2",)
    delay_s: float = 0.0
    replies: list[Reply] = field(default_factory=list)
    default: Callable[[dict[str, Any]], Reply] = lambda request: Reply()
    lists_models: bool = True
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self.replies.pop(0) if self.replies else None
        return scripted if scripted is not None else self.default(request)

    def models_body(self) -> dict[str, Any]:
        owner = {"vllm": "vllm", "llama.cpp": "llamacpp", "ollama": "library"}[self.flavour]
        return {
            "object": "list",
            "data": [{"id": name, "object": "model", "owned_by": owner} for name in self.served],
        }

    def completion(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            # vLLM's older field (and llama.cpp's) is reasoning_content; Ollama's is reasoning.
            message["reasoning" if self.flavour == "ollama" else "reasoning_content"] = reply.reasoning
        return {
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": {"prompt_tokens": 42, "completion_tokens": 7},
        }

    def error_body(self, status: int, message: str) -> bytes:
        if status == 413 and self.flavour != "ollama":
            return f"<html><body><h1>413 Request Entity Too Large</h1>{message}</body></html>".encode()
        if self.flavour == "vllm":
            body: dict[str, Any] = {
                "object": "error",
                "message": message,
                "type": "BadRequestError",
                "code": status,
            }
        elif self.flavour == "llama.cpp":
            body = {"error": {"code": status, "message": message, "type": "server_error"}}
        else:
            body = {"error": {"message": message, "type": "api_error", "param": None, "code": None}}
        return json.dumps(body).encode()

    def unknown_model(self, request: dict[str, Any]) -> Reply | None:
        """Ollama and vLLM refuse a model they do not serve; llama.cpp serves its one model anyway."""
        name = str(request.get("model"))
        if self.flavour == "llama.cpp" or name in self.served or f"{name}:latest" in self.served:
            return None
        if self.flavour == "ollama":
            return Reply(status=404, message=f'model "{name}" not found, try pulling it first')
        return Reply(status=404, message=f"The model `{name}` does not exist.")


@contextmanager
def serve(endpoint: FakeEndpoint) -> Iterator[FakeEndpoint]:
    """Run ``endpoint`` on a free port of 127.0.0.1 until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/v1/models") and endpoint.lists_models:
                self._send(200, json.dumps(endpoint.models_body()).encode())
            else:
                self._send(404, endpoint.error_body(404, f"no route {self.path}"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length))
            with endpoint._lock:
                endpoint.headers.append(dict(self.headers))
                endpoint.paths.append(self.path)
                endpoint.in_flight += 1
                endpoint.max_in_flight = max(endpoint.max_in_flight, endpoint.in_flight)
            try:
                reply = endpoint.unknown_model(request) or endpoint.next_reply(request)
                time.sleep(endpoint.delay_s if reply.delay_s is None else reply.delay_s)
            finally:
                with endpoint._lock:
                    endpoint.in_flight -= 1
            if reply.status == 200:
                self._send(200, json.dumps(endpoint.completion(reply)).encode())
            else:
                self._send(reply.status, endpoint.error_body(reply.status, reply.message), reply.headers)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield endpoint
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
