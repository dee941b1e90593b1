"""The Review image as a small ``st.components.v2`` component, for what ``st.image`` cannot do:
report a mouse wheel (zoom about the pointer) and a drag (pan) back to Python.

Why script, and why this little: Streamlit's image element has no events, and the drawing
canvas (streamlit-drawable-canvas 0.13) does not expose its zoom or pan. The script shows the
picture Python rendered, previews a wheel or drag at once with a CSS transform, and sends one
gesture when it ends; Python renders the new view (``overlay.View.zoomed`` / ``panned``),
which replaces the preview. Drawing, windowing and boxes all stay in Python (``overlay``).
"""

from __future__ import annotations

import base64
from functools import partial

import streamlit as st

from workstation import review_actions
from workstation.overlay import View

_CSS = """
.cxr-frame { display: flex; justify-content: center; overflow: hidden; border-radius: 4px; background: #000; }
.cxr-frame img {
  display: block; max-width: 100%; max-height: calc(100vh - 135px); min-height: 240px;
  object-fit: contain; user-select: none; touch-action: none; transform-origin: 50% 50%;
}
.cxr-frame.zoomed img { cursor: grab; }
"""

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let frame = parentElement.querySelector(".cxr-frame");
  if (!frame) {
    frame = document.createElement("div");
    frame.className = "cxr-frame";
    frame.appendChild(document.createElement("img"));
    parentElement.appendChild(frame);
  }
  const img = frame.querySelector("img");
  if (img.getAttribute("src") !== data.src) img.setAttribute("src", data.src);
  img.alt = data.alt;
  img.draggable = false;
  img.style.transform = "";
  frame.classList.toggle("zoomed", data.zoom > 1);
  let steps = 0, timer = null, drag = null;
  const at = (event) => {
    const box = img.getBoundingClientRect();
    return [(event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height];
  };
  const wheel = (event) => {
    event.preventDefault();
    steps += event.deltaY < 0 ? 1 : -1;
    const scale = Math.max(1 / data.zoom, Math.pow(1.25, steps));
    const [x, y] = at(event);
    img.style.transformOrigin = `${x * 100}% ${y * 100}%`;
    img.style.transform = `scale(${scale})`;
    clearTimeout(timer);
    timer = setTimeout(() => { steps = 0; setTriggerValue("gesture", { zoom: scale, x, y }); }, 160);
  };
  const down = (event) => {
    if (data.zoom <= 1 || event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY };
    img.setPointerCapture(event.pointerId);
  };
  const move = (event) => {
    if (drag) img.style.transform = `translate(${event.clientX - drag.x}px, ${event.clientY - drag.y}px)`;
  };
  const up = (event) => {
    if (!drag) return;
    const dx = (event.clientX - drag.x) / img.offsetWidth, dy = (event.clientY - drag.y) / img.offsetHeight;
    drag = null;
    if (Math.abs(dx) + Math.abs(dy) > 0.01) setTriggerValue("gesture", { dx, dy });
    else img.style.transform = "";
  };
  img.addEventListener("wheel", wheel, { passive: false });
  img.addEventListener("pointerdown", down);
  img.addEventListener("pointermove", move);
  img.addEventListener("pointerup", up);
  return () => {
    clearTimeout(timer);
    img.removeEventListener("wheel", wheel);
    img.removeEventListener("pointerdown", down);
    img.removeEventListener("pointermove", move);
    img.removeEventListener("pointerup", up);
  };
}
"""

_viewer = st.components.v2.component("cxr_viewer", css=_CSS, js=_JS)


def _on_gesture(key: str) -> None:
    """A wheel zooms about the pointer, a drag pans; the panel then reruns with the new view."""
    gesture = (st.session_state.get(key) or {}).get("gesture") or {}
    try:
        if "zoom" in gesture:
            review_actions.zoom(
                float(gesture["zoom"]), float(gesture.get("x", 0.5)), float(gesture.get("y", 0.5))
            )
        elif "dx" in gesture:
            review_actions.pan(float(gesture["dx"]), float(gesture["dy"]))
    except (TypeError, ValueError):
        return  # a malformed gesture changes nothing


def show(jpeg: bytes, view: View, *, key: str, alt: str) -> None:
    """The rendered view, with wheel zoom and drag-to-pan (pan once zoomed in)."""
    source = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    _viewer(
        data={"src": source, "alt": alt, "zoom": view.zoom},
        key=key,
        on_gesture_change=partial(_on_gesture, key),
    )
