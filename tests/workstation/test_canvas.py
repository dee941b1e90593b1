"""The box-drawing canvas (``workstation.canvas``): its size, the reviewer's saved boxes put on it
through the zoomed view, rectangles read back to the whole image, and what saving would change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.schema import Box
from data.records import ReviewerFinding
from workstation import canvas

WHOLE = Box(x0=0.0, y0=0.0, x1=1.0, y1=1.0)
RIGHT_HALF = Box(x0=0.5, y0=0.0, x1=1.0, y1=1.0)  # a zoomed view of the image's right half
SIZE = (400, 400)
HALF_SIZE = (200, 400)  # the canvas of RIGHT_HALF: half as wide as it is tall


def _saved(finding_id: int, box: Box, label: str = "nodule_mass", reviewer: str = "ana") -> ReviewerFinding:
    return ReviewerFinding(
        finding_id=finding_id,
        case_id="c",
        run_id=1,
        reviewer=reviewer,
        label=label,  # type: ignore[arg-type]
        box=box,
        created_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


def _rect(left: float, top: float, width: float, height: float, label: str = "", **extra: object) -> dict:
    return {
        "type": "LabeledRect",
        "left": left,
        "top": top,
        "width": width,
        "height": height,
        "label": label,
        **extra,
    }


@pytest.mark.parametrize(
    ("region", "expected"),
    [((320, 288), (522, 470)), ((1000, 2000), (235, 470)), ((2000, 500), (620, 155))],
    ids=["landscape", "tall", "wide"],
)
def test_the_canvas_keeps_the_views_aspect_and_fits_the_column(
    region: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert canvas.canvas_size(*region) == expected


def test_saved_boxes_are_numbered_in_the_order_they_were_drawn() -> None:
    numbered = canvas.numbered([_saved(9, WHOLE), _saved(4, WHOLE, "pneumothorax")])

    assert [(n, b.finding_id) for n, b in numbered.items()] == [(1, 4), (2, 9)]
    assert canvas.chip(1, "pneumothorax") == "#1 pneumothorax"


def test_the_starting_drawing_shows_the_saved_boxes_in_the_zoomed_view() -> None:
    inside = _saved(1, Box(x0=0.6, y0=0.2, x1=0.8, y1=0.4))
    outside = _saved(2, Box(x0=0.1, y0=0.1, x1=0.2, y1=0.2))

    drawing = canvas.starting_drawing({1: inside, 2: outside}, RIGHT_HALF, HALF_SIZE)

    (rect,) = drawing["objects"]  # the box in the left half is not on the canvas
    assert rect["label"] == "#1 nodule / mass"
    assert (rect["left"], rect["top"], rect["width"], rect["height"]) == pytest.approx((40, 80, 80, 80))


def test_a_rectangle_drawn_on_the_zoomed_view_maps_back_to_the_whole_image() -> None:
    (drawn,) = canvas.read_drawing(
        {"objects": [_rect(40, 80, 80, 80, "pneumothorax")]}, RIGHT_HALF, HALF_SIZE
    )

    assert (drawn.number, drawn.label) == (None, "pneumothorax")
    assert drawn.box.as_list() == pytest.approx([0.6, 0.2, 0.8, 0.4])


@pytest.mark.parametrize(
    ("rect", "expected"),
    [
        (
            _rect(40, 40, 80, 80, originX="center", originY="center"),
            [0.0, 0.0, 0.2, 0.2],
        ),  # Fabric's centre origin
        (_rect(0, 0, 40, 40, scaleX=2, scaleY=2), [0.0, 0.0, 0.2, 0.2]),  # a resized rect keeps its width
        (_rect(360, 360, 100, 100), [0.9, 0.9, 1.0, 1.0]),  # clipped to the image
    ],
    ids=["centre-origin", "scaled", "clipped"],
)
def test_read_drawing_handles_fabrics_origin_scale_and_the_edge(rect: dict, expected: list[float]) -> None:
    (drawn,) = canvas.read_drawing({"objects": [rect]}, WHOLE, SIZE)

    assert drawn.box.as_list() == pytest.approx(expected)


def test_clicks_paths_and_an_empty_canvas_are_not_boxes() -> None:
    drawing = {
        "objects": [_rect(10, 10, 1, 1), {"type": "path", "left": 0, "top": 0, "width": 100, "height": 100}]
    }

    assert canvas.read_drawing(drawing, WHOLE, SIZE) == []
    assert canvas.read_drawing(None, WHOLE, SIZE) == []


def test_edits_tell_new_moved_and_deleted_boxes_apart() -> None:
    kept, moved, gone = (
        _saved(1, Box(x0=0.1, y0=0.1, x1=0.2, y1=0.2)),
        _saved(2, Box(x0=0.5, y0=0.5, x1=0.6, y1=0.6)),
        _saved(3, Box(x0=0.7, y0=0.7, x1=0.8, y1=0.8)),
    )
    saved = canvas.numbered([kept, moved, gone])
    drawing = canvas.starting_drawing(saved, WHOLE, SIZE)
    objects = drawing["objects"]
    objects[1] = {**objects[1], "left": objects[1]["left"] + 40, "scaleX": 2}  # #2 moved and widened
    del objects[2]  # #3 deleted with the bin
    objects.append(_rect(200, 40, 40, 40, "pneumothorax"))  # a new box

    edits = canvas.edits(saved, canvas.read_drawing(drawing, WHOLE, SIZE), WHOLE, "lung_opacity")

    assert [(label, box.as_list()) for label, box in edits.added] == [
        ("pneumothorax", pytest.approx([0.5, 0.1, 0.6, 0.2]))
    ]
    assert [(f.finding_id, box.as_list()) for f, box in edits.moved] == [
        (2, pytest.approx([0.6, 0.5, 0.8, 0.6]))
    ]
    assert [f.finding_id for f in edits.deleted] == [3]
    assert edits.summary() == "1 new box, 1 moved or resized, 1 deleted"


def test_an_untouched_canvas_changes_nothing_even_for_boxes_off_the_view() -> None:
    saved = canvas.numbered(
        [_saved(1, Box(x0=0.6, y0=0.2, x1=0.8, y1=0.4)), _saved(2, Box(x0=0.1, y0=0.1, x1=0.2, y1=0.2))]
    )
    drawing = canvas.starting_drawing(saved, RIGHT_HALF, HALF_SIZE)

    edits = canvas.edits(
        saved, canvas.read_drawing(drawing, RIGHT_HALF, HALF_SIZE), RIGHT_HALF, "nodule_mass"
    )

    assert edits.empty and edits.summary() == "no changes"  # #2 was never on the canvas: not deleted


def test_a_new_box_without_its_own_label_takes_the_chosen_one() -> None:
    edits = canvas.edits(
        {}, canvas.read_drawing({"objects": [_rect(0, 0, 80, 80)]}, WHOLE, SIZE), WHOLE, "cardiomegaly"
    )

    assert [label for label, _ in edits.added] == ["cardiomegaly"]
