"""Streamlit helpers every page uses: the shared store, cached backends and images, the error
boundary, the disclaimer and the reviewer.

Only this module, ``review_actions`` (the Review page's clicks), ``charts`` (column formats)
and the page scripts import Streamlit; the logic they call lives in ``services``,
``review_view``, ``overlay``, ``teaching``, ``evaluation`` and ``model_status``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from audit import DISCLAIMER
from audit.protocols import DraftParser, Grounder
from data.audit_trail import AuditTrail
from data.connection import resolve_db_path
from data.store import Store
from models.registry import get_grounder, get_parser
from workstation import access, identity, session
from workstation.messages import HANDLED, describe
from workstation.overlay import OverlayBox, View, encode, render
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


@st.cache_data(max_entries=16, show_spinner=False)
def load_pixels(path: str) -> np.ndarray:
    """The image as 2-D uint8, decoded once per file (raises ``ImageLoadError``)."""
    from data.images import load_image

    return load_image(path).pixels


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


def disclaimer_banner() -> None:
    """The research/education disclaimer above results."""
    st.warning(DISCLAIMER, icon=":material/school:")


def notice() -> None:
    """Show (once) the message a button left for the rerun it caused."""
    message = st.session_state.pop(session.NOTICE, None)
    if message:
        st.toast(message, icon=":material/check_circle:")


def case_pixels(image_path: str | None, width: int | None, height: int | None) -> np.ndarray:
    """The case's image; when it is missing or unreadable, a blank frame and a message saying why."""
    from data.errors import ImageLoadError
    from workstation.overlay import placeholder

    if image_path is None:
        st.info(
            "The image file is not available on this machine; boxes are drawn on a blank frame.",
            icon=":material/hide_image:",
        )
        return placeholder(width, height)
    try:
        return load_pixels(image_path)
    except ImageLoadError as error:
        show_error(error)
        return placeholder(width, height)


@st.cache_data(max_entries=32, show_spinner=False)
def overlay_jpeg(pixels: np.ndarray, boxes: tuple[OverlayBox, ...], view: View) -> bytes:
    """The rendered, encoded overlay; a rerun that changes no box or view (a decision) reuses it."""
    return encode(render(pixels, boxes, view))


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
