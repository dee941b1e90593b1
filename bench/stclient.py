"""A headless client that speaks Streamlit's own protocol: protobuf ``BackMsg`` up and
``ForwardMsg`` down a websocket at ``/_stcore/stream``, as the browser's frontend does.

It keeps what a browser keeps of a session (the elements by delta path, which fragment each
came from, the widget ids) and presses buttons the way the frontend does: a rerun request
carrying a trigger for the button's widget id and, for a button inside a fragment, that
fragment's id. It draws nothing, so eight of them cost the server what eight browsers would
and the client almost nothing (Chromium x8 would share the two cores with the server).
Images the page shows are fetched over HTTP once each, as a browser would.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = {
    ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
    ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}


@dataclass
class Element:
    kind: str  # the Element oneof's name: "button", "markdown", "imgs", ...
    proto: object
    fragment_id: str

    @property
    def text(self) -> str:
        body = getattr(self.proto, "body", None)
        return body if isinstance(body, str) else ""


@dataclass
class Session:
    """One browser tab's worth of state: where each element sits, and the widget ids seen."""

    base_url: str
    page: str
    query: str
    elements: dict[tuple[int, ...], Element] = field(default_factory=dict)
    page_script_hash: str = ""  # the page the server resolved, sent back with each rerun as the browser does
    media_seen: set[str] = field(default_factory=set)
    finished: int = 0
    exceptions: list[str] = field(default_factory=list)

    def buttons(self) -> dict[str, Element]:
        """Button elements by user key (the part of the widget id after the last ``-``)."""
        found = {}
        for element in self.elements.values():
            if element.kind == "button":
                widget_id = str(element.proto.id)  # type: ignore[attr-defined]
                found[widget_id.rsplit("-", 1)[-1]] = element
        return found

    def texts(self) -> list[str]:
        return [element.text for element in self.elements.values() if element.text]


class Client:
    """One session on a running app: ``await open()``, then ``await click(key)``; ``close()``."""

    def __init__(self, base_url: str, page: str, query: str) -> None:
        self.session = Session(base_url, page, query)
        self._socket: websockets.ClientConnection | None = None
        self._pending: asyncio.Queue[ForwardMsg] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._run_fragment = ""  # the fragment the current run reruns ("" for the whole page)
        self._touched: set[tuple[int, ...]] = set()  # delta paths written by the current run

    async def open(self, timeout_s: float = 60.0) -> float:
        """Connect and run the page; returns seconds until the run finished."""
        url = self.session.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        self._socket = await websockets.connect(url, subprotocols=["streamlit"], max_size=None)  # type: ignore[list-item]
        self._reader = asyncio.create_task(self._receive())
        started = time.perf_counter()
        await self._send_rerun([])
        await self.until(lambda _: True, timeout_s)
        return time.perf_counter() - started

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()

    async def click(self, key: str, until: Callable[[Session], bool], timeout_s: float = 60.0) -> float:
        """Press the button with user key ``key``; seconds until ``until(session)`` holds after a run ends."""
        button = self.session.buttons()[key]
        state = WidgetState(id=str(button.proto.id), trigger_value=True)  # type: ignore[attr-defined]
        started = time.perf_counter()
        await self._send_rerun([state], fragment_id=button.fragment_id)
        return await self.until(until, timeout_s, started)

    async def until(
        self, condition: Callable[[Session], bool], timeout_s: float, started: float | None = None
    ) -> float:
        """Read messages until ``condition`` holds (checked as each message lands, as a browser paints
        each delta when it arrives); then finish reading that run. Seconds from ``started`` until the
        condition held."""
        started = time.perf_counter() if started is None else started
        deadline = started + timeout_s
        runs_before = self.session.finished
        held_at: float | None = None
        while held_at is None or self.session.finished == runs_before:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"the condition did not hold within {timeout_s} s")
            message = await asyncio.wait_for(self._pending.get(), remaining)
            self._apply(message)
            if held_at is None and condition(self.session):
                held_at = time.perf_counter()
        return held_at - started

    async def _send_rerun(self, widgets: list[WidgetState], fragment_id: str = "") -> None:
        assert self._socket is not None
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.session.query
        state.page_name = self.session.page
        state.page_script_hash = self.session.page_script_hash
        state.widget_states.widgets.extend(widgets)
        if fragment_id:
            state.fragment_id = fragment_id
        self._run_fragment = fragment_id
        self._touched.clear()
        await self._socket.send(back.SerializeToString())

    async def _receive(self) -> None:
        assert self._socket is not None
        async for raw in self._socket:
            message = ForwardMsg()
            message.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
            await self._pending.put(message)

    def _apply(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "delta":
            path = tuple(message.metadata.delta_path)
            delta = message.delta
            if delta.WhichOneof("type") == "new_element":
                element = delta.new_element
                name = element.WhichOneof("type") or ""
                proto = getattr(element, name) if name else element
                self.session.elements[path] = Element(name, proto, delta.fragment_id)
                self._touched.add(path)
                if name == "exception":
                    self.session.exceptions.append(str(proto.message))  # type: ignore[attr-defined]
                if name == "imgs":
                    self._fetch_media(proto)
        elif kind == "script_finished" and message.script_finished in FINISHED:
            self._drop_stale()
            self.session.finished += 1
        elif kind == "navigation":
            self.session.page_script_hash = message.navigation.page_script_hash

    def _drop_stale(self) -> None:
        """What the frontend does when a run ends: elements the run did not write again go."""
        for path, element in list(self.session.elements.items()):
            in_scope = not self._run_fragment or element.fragment_id == self._run_fragment
            if in_scope and path not in self._touched:
                del self.session.elements[path]
        self._touched.clear()

    def _fetch_media(self, images: object) -> None:
        for image in getattr(images, "imgs", []):
            url = str(image.url)
            if url.startswith("/") and url not in self.session.media_seen:
                self.session.media_seen.add(url)
                asyncio.get_running_loop().create_task(asyncio.to_thread(_get, self.session.base_url + url))


def _get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
