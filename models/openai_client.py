"""A small client for OpenAI-compatible chat completions, as vLLM, llama.cpp and Ollama serve them.

Only the standard library's HTTP client is used. What the three servers do differently:

- **vLLM** passes ``chat_template_kwargs`` to the chat template (Nemotron's thinking
  switch) and, with ``skip_special_tokens: false``, leaves ``</think>`` in the content; run
  with ``--reasoning-parser``, it returns the trace apart, as ``reasoning_content`` (older)
  or ``reasoning`` (newer). Errors are ``{"object": "error", "message": ...}`` or
  ``{"error": {"message": ...}}``.
- **llama.cpp** ``llama-server`` returns the trace as ``reasoning_content``, answers 503
  while it loads the model, serves one model whatever the request names, and lists it in
  ``/v1/models`` with ``owned_by: "llamacpp"``.
- **Ollama** returns the trace as ``reasoning``, names models ``name:tag`` (``:latest``
  when no tag is given), and answers 404 ``model "x" not found, try pulling it first``.

A trace that ends with ``finish_reason: "length"`` and no answer was cut off: the text is
handed on with its trace left open, so that the recovery layer reports it and the retry
ladder turns thinking off. 429 and 503 answers, 5xx and timeouts are retried
(``http_retries``), waiting as ``Retry-After`` says (at most :data:`MAX_WAIT_S`) or backing
off; 413 (the request is too large) and other refusals are not, and every failure ends in
one clear sentence.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from models.errors import EndpointResponseError, EndpointUnavailableError
from models.generation import Generation, opened_trace
from models.prompts import DecodingPlan, Message

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_S = 0.5
MAX_WAIT_S = 30.0  # the longest Retry-After honoured; a server asking for more is told no
PROBE_TIMEOUT_S = 10.0


def completions_url(endpoint: str) -> str:
    """The chat-completions URL for a server root, a ``/v1`` base, or the full URL."""
    return f"{api_base(endpoint)}/chat/completions"


def api_base(endpoint: str) -> str:
    """The ``.../v1`` base of an endpoint given as a root, a ``/v1`` base or the full URL."""
    url = endpoint.rstrip("/")
    url = url.removesuffix("/chat/completions")
    return url if url.endswith("/v1") else f"{url}/v1"


def server_message(body: bytes) -> str:
    """The human part of an error body, whatever shape the server gives it (one line)."""
    text = body.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    message: Any = None
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        message = message or document.get("message") or document.get("detail")
    if not isinstance(message, str) or not message.strip():
        message = re.sub(r"<[^>]+>", " ", text)  # an HTML page from a proxy
    return " ".join(message.split())[:300] or "(no message)"


def unreachable(url: str, reason: object) -> str:
    return (
        f"cannot reach the OpenAI-compatible endpoint {url} ({type(reason).__name__}: {reason}): "
        "is the server running, and is the endpoint URL right?"
    )


def retry_after_s(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ChatClient:
    """One endpoint and model: chat completions with timeouts and bounded retries."""

    def __init__(
        self,
        endpoint: str,
        model: str,
        timeout_s: float,
        retries: int,
        api_key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = api_base(endpoint)
        self.url = f"{self.base}/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.retries = retries
        self.api_key = api_key
        self.sleep = sleep

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def body(
        self,
        messages: list[Message],
        plan: DecodingPlan,
        stop: tuple[str, ...] = (),
        thinking_kwarg: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": plan.max_new_tokens,
            "temperature": plan.temperature if plan.do_sample else 0.0,
            "stream": False,
        }
        if stop:
            body["stop"] = list(stop)
        if plan.do_sample:
            body["top_p"] = plan.top_p
            if plan.seed is not None:
                body["seed"] = plan.seed
        if thinking_kwarg is not None:
            # vLLM and SGLang hand these to the chat template (Nemotron's thinking switch), and
            # keep </think> in the text when no reasoning parser runs on the server.
            body["chat_template_kwargs"] = {thinking_kwarg: plan.enable_thinking}
            body["skip_special_tokens"] = False
        return body

    def complete(
        self,
        messages: list[Message],
        plan: DecodingPlan,
        stop: tuple[str, ...] = (),
        thinking_kwarg: str | None = None,
    ) -> Generation:
        """One chat completion; raises when the endpoint stays down or refuses the request."""
        payload = json.dumps(self.body(messages, plan, stop, thinking_kwarg)).encode("utf-8")
        started = time.perf_counter()
        answer = self._post(payload)
        return self._generation(answer, plan, time.perf_counter() - started)

    def _post(self, payload: bytes) -> Any:
        problem = ""
        wait: float | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(wait if wait is not None else BACKOFF_S * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=payload, headers=self.headers(), method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                detail = server_message(error.read())
                if error.code not in RETRY_STATUS:
                    raise self._refusal(error.code, detail, len(payload)) from None
                problem = self._overload(error.code, detail)
                wait = retry_after_s(error.headers.get("Retry-After") if error.headers else None)
                if wait is not None and wait > MAX_WAIT_S:
                    raise EndpointUnavailableError(
                        f"{problem}; it asks to wait {wait:.0f} s, longer than the {MAX_WAIT_S:.0f} s "
                        "the auditor waits"
                    ) from None
            except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                wait = None
                if isinstance(reason, TimeoutError) or isinstance(error, TimeoutError):
                    problem = (
                        f"the endpoint {self.url} did not answer within {self.timeout_s:g} s "
                        "(raise timeout_s, or lower --concurrency)"
                    )
                else:
                    problem = unreachable(self.url, reason)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise EndpointResponseError(
                    f"the endpoint {self.url} did not answer with JSON: {error}"
                ) from None
            log.info("%s (try %d of %d)", problem, attempt + 1, self.retries + 1)
        raise EndpointUnavailableError(f"{problem}; gave up after {self.retries + 1} tries")

    def _overload(self, status: int, detail: str) -> str:
        if status == 429:
            return f"the endpoint {self.url} is limiting requests (HTTP 429: {detail}); lower --concurrency"
        if status == 503:
            return f"the endpoint {self.url} is unavailable or still loading its model (HTTP 503: {detail})"
        return f"the endpoint {self.url} failed (HTTP {status}: {detail})"

    def _refusal(self, status: int, detail: str, sent: int) -> EndpointResponseError:
        if status == 413:
            return EndpointResponseError(
                f"the endpoint {self.url} refused the request as too large (HTTP 413, {sent / 1e6:.1f} MB "
                f"sent: {detail}); raise the server's request size limit (a proxy's client_max_body_size, "
                "TGI's --payload-limit)"
            )
        if status == 404 and "not found" in detail.lower():
            return EndpointResponseError(
                f"the endpoint {self.url} does not serve the model {self.model!r} (HTTP 404: {detail}); "
                "set --model to a model it serves (Ollama: ollama pull NAME first)"
            )
        if status in (401, 403):
            return EndpointResponseError(
                f"the endpoint {self.url} refused the API key (HTTP {status}: {detail}); set the key in "
                "the variable named by api_key_env (CXR_AUDIT_API_KEY by default)"
            )
        # A 400 or 422 names one request the server could not take (an image it cannot read, a
        # prompt past its context), not the key or the model, which fail every request alike.
        return EndpointResponseError(
            f"the endpoint {self.url} refused this request (HTTP {status}: {detail}); the server's "
            "reason is its own: often an image it cannot read or a prompt longer than its context"
        )

    def _generation(self, answer: Any, plan: DecodingPlan, seconds: float) -> Generation:
        try:
            choice = answer["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise EndpointResponseError(
                f"the endpoint {self.url} answered without choices[0].message: {str(answer)[:200]}"
            ) from None
        content = message.get("content") or ""
        hit_budget = choice.get("finish_reason") == "length"
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        cut_off = False
        if reasoning:
            # The server parsed the trace out; put it back, closed only if an answer followed.
            cut_off = hit_budget and not content.strip()
            text = f"<think>{reasoning}" if cut_off else f"<think>{reasoning}</think>{content}"
        else:
            text, cut_off = opened_trace(content, plan.enable_thinking, hit_budget)
        usage = answer.get("usage") or {}
        return Generation(text, usage.get("prompt_tokens"), usage.get("completion_tokens"), seconds, cut_off)

    def served_models(self) -> tuple[list[str], bool] | None:
        """(model ids the server lists, whether it is llama.cpp) from ``/v1/models``; None when the
        server keeps no list. Raises :class:`EndpointUnavailableError` when it cannot be reached."""
        request = urllib.request.Request(f"{self.base}/models", headers=self.headers(), method="GET")
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(BACKOFF_S * 2 ** (attempt - 1))
            try:
                with urllib.request.urlopen(
                    request, timeout=min(self.timeout_s, PROBE_TIMEOUT_S)
                ) as response:
                    listing = json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                if error.code in (401, 403):
                    raise self._refusal(error.code, server_message(error.read()), 0) from None
                if error.code in RETRY_STATUS:
                    problem = self._overload(error.code, server_message(error.read()))
                    continue
                return None  # no model list here (404, 405): nothing to check against
            except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
                problem = unreachable(self.base, getattr(error, "reason", error))
                continue
            except (json.JSONDecodeError, UnicodeDecodeError):
                return None
            data = listing.get("data") if isinstance(listing, dict) else None
            if not isinstance(data, list):
                return None
            ids = [str(item.get("id")) for item in data if isinstance(item, dict) and item.get("id")]
            llama_cpp = any(isinstance(item, dict) and item.get("owned_by") == "llamacpp" for item in data)
            return ids, llama_cpp
        raise EndpointUnavailableError(f"{problem}; gave up after {self.retries + 1} tries")

    def check(self, flag: str = "--model") -> str | None:
        """Raise unless the endpoint is up and serves the model; a note when it cannot say."""
        listed = self.served_models()
        if listed is None:
            return f"{self.base} lists no models; {self.model!r} is assumed to be served"
        ids, llama_cpp = listed
        if llama_cpp:
            return f"llama.cpp at {self.base} serves {', '.join(ids) or 'its model'} whatever the name"
        if self.model in ids or f"{self.model}:latest" in ids:
            return None
        raise EndpointResponseError(
            f"the endpoint {self.base} does not serve {self.model!r}; it serves: "
            f"{', '.join(ids) or 'nothing'}. Set {flag} to one of them"
        )
