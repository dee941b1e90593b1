"""Streamlit helpers every page uses: the shared store, cached backends, images and their
rendered views, the background auditor, the error boundary, one-line banners, the disclaimer,
the reviewer, and the few lines of browser script the keyboard flow needs.

Only this module, ``review_actions`` (the Review page's clicks), ``review_image`` (its image
panel), ``charts`` (column formats) and the page scripts import Streamlit; the logic they call
lives in ``services``, ``review_view``, ``overlay``, ``canvas``, ``teaching``, ``evaluation``
and ``model_status``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from audit import DISCLAIMER
from audit.protocols import DraftParser, Grounder
from data.audit_trail import AuditTrail
from data.connection import resolve_db_path
from data.records import CaseRecord
from data.store import Store
from models.registry import get_grounder, get_parser
from workstation import access, identity, session
from workstation.background import Auditor
from workstation.messages import HANDLED, describe
from workstation.overlay import OverlayBox, View, display_size, encode, placeholder, render
from workstation.services import Backends

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

PAGE_WORKLIST = "app_pages/worklist.py"
PAGE_REVIEW = "app_pages/review.py"
PAGE_TEACHING = "app_pages/teaching.py"


def show_error(error: BaseException) -> None:
    """The error as a human message (never a traceback); logged with its traceback for the operator."""
    log.warning("shown to the reviewer: %s", error, exc_info=error)
    shared = bool(st.session_state.get(session.SHARED))  # set by app.py first: no store needed here
    st.error(describe(error).as_markdown(hide_paths=shared), icon=":material/error:")


@contextmanager
def errors_shown() -> Iterator[None]:
    """Run a block; a handled error from the layers below becomes ``st.error`` and the block ends."""
    try:
        yield
    except HANDLED as error:
        show_error(error)


@st.cache_resource(show_spinner=False)
def _shared_store(path: str) -> Store:
    return Store.shared(path, lock_timeout_s=3.0)


def store() -> Store:
    """The process-wide store for ``$CXR_AUDIT_DB``; a handled error is shown and the page stops."""
    try:
        found = _shared_store(resolve_db_path())
        if found.path != ":memory:" and not found.is_held:
            found.schema_version()  # reopen now, so a lock held elsewhere is reported here
        return found
    except HANDLED as error:
        _shared_store.clear()
        show_error(error)
        st.stop()


@st.cache_resource(show_spinner="Loading the grounder…")
def load_grounder(name: str) -> Grounder:
    """A grounder built once per process (model weights stay loaded between reruns and sessions)."""
    return get_grounder(name)


@st.cache_resource(show_spinner="Loading the draft parser…")
def load_parser(name: str) -> DraftParser:
    return get_parser(name)


def backends() -> Backends:
    return Backends(grounder=load_grounder, parser=load_parser)


@st.cache_resource(show_spinner=False)
def auditor() -> Auditor:
    """The process's background auditor (one worker thread shared by every session)."""
    return Auditor()


DISPLAY_BASE = 2048  # decoded images are kept at most this large: zoom stays sharp, memory bounded


@st.cache_data(max_entries=24, show_spinner=False)
def display_pixels(path: str, modified_ns: int) -> np.ndarray:
    """The image as 2-D uint8, decoded once per file version and shrunk to ``DISPLAY_BASE``
    (raises ``ImageLoadError``). ``modified_ns`` keys the cache, so a replaced file is read again."""
    from PIL import Image

    from data.images import load_image

    pixels = load_image(path).pixels
    height, width = pixels.shape
    if max(width, height) <= DISPLAY_BASE:
        return pixels
    size = display_size(width, height, DISPLAY_BASE)
    return np.asarray(Image.fromarray(pixels, mode="L").resize(size, Image.Resampling.LANCZOS))


def _modified_ns(path: str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return 0  # a missing file: decoding it raises the ImageLoadError that says so


@st.cache_data(max_entries=96, show_spinner=False)
def _view_jpeg(
    path: str | None,
    modified_ns: int,
    size: tuple[int | None, int | None],
    boxes: tuple[OverlayBox, ...],
    view: View,
    orientation: bool,
) -> bytes:
    pixels = display_pixels(path, modified_ns) if path else placeholder(*size)
    return encode(render(pixels, boxes, view, orientation=orientation))


def view_jpeg(case: CaseRecord, boxes: tuple[OverlayBox, ...], view: View, orientation: bool) -> bytes:
    """The case's image as the viewer shows it (windowed, zoomed, boxes, R/L marker), encoded once
    per distinct view; a missing or unreadable image becomes a blank frame and a message."""
    from data.errors import ImageLoadError

    size = (case.width, case.height)
    path = _image_file(case.image_path)
    if path is not None:
        try:
            return _view_jpeg(path, _modified_ns(path), size, boxes, view, orientation)
        except ImageLoadError as error:
            show_error(error)
    return _view_jpeg(None, 0, size, boxes, view, orientation)


def _image_file(image_path: str | None) -> str | None:
    """The case's image file, or None after saying on the page that it has none."""
    if image_path is None:
        st.info(
            "The image file is not available on this machine; boxes are drawn on a blank frame.",
            icon=":material/hide_image:",
        )
    return image_path


def warm_view(case: CaseRecord, boxes: tuple[OverlayBox, ...], view: View, orientation: bool) -> None:
    """Decode and render a case's view ahead of time (the background prefetch of the next case)."""
    if case.image_path is not None:
        _view_jpeg(
            case.image_path,
            _modified_ns(case.image_path),
            (case.width, case.height),
            boxes,
            view,
            orientation,
        )


def mode() -> access.Mode:
    """The app's mode (``CXR_AUDIT_MODE``); a bad value is shown and the page stops."""
    try:
        return access.current_mode()
    except HANDLED as error:
        show_error(error)
        st.stop()


def viewer() -> access.Viewer | None:
    """Who this session acts for (None in shared mode before sign-in)."""
    return access.viewer(st.session_state, store(), mode(), session.reviewer(st.session_state))


def reviewer() -> str | None:
    """The name stored with this session's work: the account's in shared mode, else the typed one."""
    found = viewer()
    return found.name if found is not None else None


def require_reviewer(action: str) -> str | None:
    """The reviewer, or None after telling the user to enter a name in the sidebar (or sign in)."""
    name = reviewer()
    if name is None:
        where = "Sign in" if mode() == "shared" else "Enter your name in the sidebar"
        st.info(f"{where} to {action}.", icon=":material/person:")
    return name


def guard(page: access.Page) -> access.Viewer:
    """The viewer, when their role may open ``page``; otherwise a message, an audit-trail entry, a stop."""
    found = viewer()
    if found is not None and found.may_open(page):
        return found
    if found is not None and found.shared:
        AuditTrail(store()).record("page_refused", actor=found.name, role=found.role, target=page)
    st.error(f"This page is not open to your role ({found.role if found else 'not signed in'}).")
    st.stop()


DISCLAIMER_LINE = "Research and education only — not for diagnosis"


def banner(headline: str, details: str | None = None, *, icon: str, key: str) -> None:
    """A banner of one line that opens to its details; the details are shown as plain text."""
    with st.expander(headline, icon=icon, key=key):
        if details:
            st.text(details)


def disclaimer_banner(key: str = "disclaimer") -> None:
    """The research/education disclaimer above results, as one line that opens to the whole text."""
    banner(DISCLAIMER_LINE, DISCLAIMER, icon=":material/school:", key=key)


# The keyboard flow's browser side, and why each piece is script: Streamlit gives buttons single
# keys (st.button(shortcut=...)) but not punctuation, so "?" opens the shortcuts list here; it
# ignores shortcuts while a text box has focus (typing a note must type), so Enter or Esc in a
# text box hands the keys back by leaving the box. Installed once per page.
_KEYS_SCRIPT = """
<script>
if (!window.cxrKeyFlow) {
  window.cxrKeyFlow = true;
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target && (target.isContentEditable
      || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
    if (typing && target.tagName === "INPUT" && (event.key === "Enter" || event.key === "Escape")) {
      setTimeout(() => target.blur(), 0);
    } else if (!typing && event.key === "?") {
      document.querySelector(".st-key-rv_keys button")?.click();
    }
  });
}
</script>
"""


def keyboard_flow(css: str) -> None:
    """The keyboard flow's script, with the page's styles (layout only, never content). One element:
    a style-only ``st.html`` goes to Streamlit's event container, which every fragment rerun
    clears, and the page's layout would jump back with it."""
    st.html(f"<style>{css}</style>{_KEYS_SCRIPT}", unsafe_allow_javascript=True)


_SCROLL_SCRIPT = """
<script>/* %(nonce)s */ setTimeout(() => {
  const item = document.querySelector(".st-key-%(key)s"), box = document.querySelector(".st-key-%(within)s");
  if (!item || !box) return;
  const i = item.getBoundingClientRect(), b = box.getBoundingClientRect();
  if (i.top < b.top) box.scrollTop -= b.top - i.top;
  else if (i.bottom > b.bottom) box.scrollTop += Math.min(i.bottom - b.bottom, i.top - b.top);
}, 30);</script>
"""


def scroll_into_view(key: str, within: str, nonce: int) -> None:
    """Scroll the container with key ``within`` so that its element with key ``key`` shows (the
    focused flag card after a decision), moving nothing else on the page: Streamlit has no scroll
    command, and the browser's own scrollIntoView would move the page and the image with it.
    ``nonce`` makes each request run again."""
    st.html(_SCROLL_SCRIPT % {"key": key, "within": within, "nonce": nonce}, unsafe_allow_javascript=True)


def notice() -> None:
    """Show (once) the message a button left for the rerun it caused."""
    message = st.session_state.pop(session.NOTICE, None)
    if message:
        st.toast(message, icon=":material/check_circle:")


def case_pixels(image_path: str | None, width: int | None, height: int | None) -> np.ndarray:
    """The case's image; when it is missing or unreadable, a blank frame and a message saying why."""
    from data.errors import ImageLoadError

    path = _image_file(image_path)
    if path is not None:
        try:
            return display_pixels(path, _modified_ns(path))
        except ImageLoadError as error:
            show_error(error)
    return placeholder(width, height)


def sign_out(who: access.Viewer) -> None:
    AuditTrail(store()).record("sign_out", actor=who.name, role=who.role)
    access.sign_out(st.session_state)
    identity.logout()
    st.rerun()


def results_download(frame: pd.DataFrame, *, key: str, label: str, stem: str, what: str) -> None:
    """Class results (or a student's own) as CSV or Parquet; each download goes to the audit trail."""
    from workstation.class_results import CLASS_FORMATS, export_bytes

    st.caption(f"{frame['draft_id'].nunique():,} impression(s), {len(frame):,} row(s), one per finding.")
    fmt = st.selectbox("Format", CLASS_FORMATS, key=f"{key}_format", format_func=str.upper)
    st.download_button(
        f"{label} {fmt.upper()}",
        data=export_bytes(frame, fmt),
        file_name=f"cxr-audit-{stem}.{fmt}",
        mime="text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
        key=f"{key}_download",
        type="primary",
        on_click=lambda: record_export(f"{what}, {fmt}"),
    )


def record_export(detail: str) -> None:
    """A download, in the audit trail under the viewer's name."""
    who = viewer()
    AuditTrail(store()).record(
        "export", actor=who.name if who else None, role=who.role if who else None, detail=detail
    )
