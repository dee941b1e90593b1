"""The Review page's image panel: a one-row toolbar (window presets, zoom, layers, drawing),
then the image, or the canvas to draw and edit the reviewer's own boxes on the same view.

It is a fragment: a preset, a zoom or a layer switch reruns this panel only, and its picture
comes from ``ui.view_jpeg``, rendered once per distinct view. Wheel zoom and drag-to-pan come
from ``viewer``; neither ``st.image`` nor the drawing canvas reports a wheel or a drag.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from workstation import canvas, review_actions, session, ui, viewer
from workstation.overlay import PRESETS_BY_KEY, REVIEWER_COLOUR, WINDOW_PRESETS, View
from workstation.review_view import Layers, ReviewContext

LAYERS = {"model": "Model", "reference": "Reference", "reviewer": "Reviewer"}
LAYERS_KEY = "rv_layers"
DRAW_KEY = "rv_draw"
LEGEND = (
    "Scroll on the image to zoom, drag to pan. "
    ":red-badge[URGENT] :orange-badge[MISSING] :violet-badge[LATERALITY] solid; "
    ":gray-badge[dotted grey] a finding without a flag; dashed cyan: reference; lime: reviewer boxes. "
    "UNSUPPORTED flags have no box."
)


def window_presets() -> None:
    st.segmented_control(
        "Window",
        [preset.key for preset in WINDOW_PRESETS],
        format_func=lambda key: PRESETS_BY_KEY[key].name,
        default="default",
        key=review_actions.PRESET_KEY,
        on_change=review_actions.choose_preset,
        label_visibility="collapsed",
        persist_state="session",
        help="Window presets; set level and width by hand under the settings button",
    )


def settings(view: View, editing: str | None) -> Layers:
    """The popover with zoom buttons, the window set by hand and the box layers; returns the layers."""
    with st.popover("", icon=":material/tune:", help="Zoom, window by hand, and which boxes to show"):
        with st.container(horizontal=True, gap="small"):
            zoom_controls(view)
        st.slider(
            "Level (brightness)",
            0,
            255,
            128,
            1,
            key=review_actions.LEVEL_KEY,
            on_change=review_actions.adjust_window,
            persist_state="session",
        )
        st.slider(
            "Window (contrast range)",
            16,
            512,
            256,
            8,
            key=review_actions.WIDTH_KEY,
            on_change=review_actions.adjust_window,
            persist_state="session",
        )
        st.toggle(
            "Inverted",
            key=review_actions.INVERT_KEY,
            on_change=review_actions.adjust_window,
            persist_state="session",
        )
        chosen = st.pills(
            "Boxes",
            list(LAYERS),
            format_func=LAYERS.__getitem__,
            selection_mode="multi",
            default=DEFAULT_LAYERS,
            key=LAYERS_KEY,
            persist_state="session",
        )
    return _layers(chosen, editing)


def zoom_controls(view: View) -> None:
    st.button(
        "",
        icon=":material/zoom_out:",
        key="rv_zoom_out",
        help="Zoom out (or scroll down on the image)",
        on_click=review_actions.zoom,
        args=(1 / 1.5,),
        disabled=view.zoom <= 1.0,
    )
    st.button(
        "",
        icon=":material/zoom_in:",
        key="rv_zoom_in",
        help="Zoom in (or scroll up on the image; drag to pan)",
        on_click=review_actions.zoom,
        args=(1.5,),
    )
    st.button(
        "",
        icon=":material/fit_screen:",
        key="rv_fit",
        help="The whole image",
        on_click=review_actions.fit,
        disabled=view.zoom <= 1.0,
    )


DEFAULT_LAYERS = ["model", "reviewer"]


def _layers(chosen: list[str] | None, editing: str | None) -> Layers:
    chosen = chosen or []
    return Layers(
        model="model" in chosen,
        reference="reference" in chosen,
        reviewer="reviewer" in chosen,
        editing=editing,
    )


def layers_now() -> Layers:
    """The layers chosen in the toolbar, read without drawing it (for the next case's prefetch)."""
    return _layers(st.session_state.get(LAYERS_KEY, DEFAULT_LAYERS), None)


def toolbar(view: View, reviewer: str | None) -> tuple[Layers, bool]:
    """The row above the image; returns the layers to draw and whether the canvas is on."""
    drawing = bool(st.session_state.get(DRAW_KEY))
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="rv_toolbar"):
        window_presets()
        layers = settings(view, reviewer if drawing else None)
        st.toggle(
            "Draw",
            key=DRAW_KEY,
            help="Draw a box over a finding the audit missed, or move, resize and delete your own",
        )
    return layers, drawing


def picture(context: ReviewContext, layers: Layers, view: View) -> None:
    """The image with its boxes, at the viewer's zoom and window."""
    image = ui.view_jpeg(context.case, context.boxes(layers), view, context.orientation)
    viewer.show(image, view, key="rv_viewer", alt=alt_text(context, view))
    st.caption(LEGEND)


def alt_text(context: ReviewContext, view: View) -> str:
    marker = "R/L marker: the patient's right on the viewer's left. " if context.orientation else ""
    return f"{context.case.case_id}, {view.zoom:.1f}x. {marker}Boxes: see the flag cards."


def box_editor(context: ReviewContext, layers: Layers, view: View, reviewer: str) -> None:
    """The same view as a canvas: the reviewer's boxes on it to move, resize or delete, new ones to
    draw; above it, one row with the new box's label, a note, Save and Discard."""
    from streamlit_drawable_canvas import st_canvas

    case = context.case
    region = view.region()
    width, height = case.width or 1024, case.height or 1024
    size = canvas.canvas_size(region.width * width, region.height * height)
    saved = canvas.numbered(context.own_boxes(reviewer))
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small", key="rv_draw_row")
    label = row.selectbox(
        "New box",
        FINDING_LABELS,
        format_func=DISPLAY_NAMES.__getitem__,
        key=review_actions.DRAW_LABEL_KEY,
        width=170,
    )
    background = ui.view_jpeg(case, context.boxes(layers), view, context.orientation)
    view_tag = hashlib.sha1(repr(region).encode()).hexdigest()[:8]  # a new view redraws the canvas
    with st.container(key="rv_canvas"):  # room above it for the canvas's own floating toolbar
        result = st_canvas(
            drawing_mode="labeled_rect",
            label=DISPLAY_NAMES[label],
            stroke_color=REVIEWER_COLOUR,
            fill_color=canvas.CANVAS_FILL,
            stroke_width=3,
            font_size=canvas.CHIP_FONT_PX,
            background_image=background,
            initial_drawing=canvas.starting_drawing(saved, region, size),
            width=size[0],
            height=size[1],
            key=f"{session.canvas_key(st.session_state, case.case_id)}_{view_tag}",
        )
    edits = canvas.edits(saved, canvas.read_drawing(result.json_data, region, size), region, label)
    row.text_input(
        "Note (optional)", key=review_actions.DRAW_NOTE_KEY, placeholder="Note for new boxes", width=170
    )
    row.button(
        "Save",
        key="rv_draw_save",
        type="primary",
        disabled=edits.empty,
        on_click=review_actions.save_boxes,
        args=(case.case_id, edits, context.audit.run_id),
    )
    row.button("Discard", key="rv_draw_discard", disabled=edits.empty, on_click=review_actions.reload_canvas)
    st.caption(
        (f"Unsaved: {edits.summary()}. " if not edits.empty else "")
        + "Drag to draw a box. To move, resize or delete one of yours, turn on the canvas's Edit tool "
        "(pencil), select the box, then drag it or press its bin. Nothing is stored until you save."
    )
    if edits.deleted:
        st.warning(
            "Saving deletes "
            + ", ".join(canvas.chip(n, b.label) for n, b in saved.items() if b in edits.deleted)
            + ". The deletion is recorded with your name and stays in the export.",
            icon=":material/delete:",
        )


@st.fragment
def image_panel(context: ReviewContext, reviewer: str | None) -> None:
    """The toolbar and the image (or the canvas), rerun on their own."""
    view = review_actions.current_view()
    layers, drawing = toolbar(view, reviewer)
    if drawing and reviewer is not None:
        box_editor(context, layers, view, reviewer)
    else:
        if drawing:
            ui.require_reviewer("draw and edit boxes")
        picture(context, layers, view)
    for caption in (context.drawn_caption, context.deleted_caption):
        if caption:
            st.text(caption)  # reviewer names and notes are the reviewers' own text: never Markdown
