"""Caption placement (``workstation.label_layout``): captions never overlap each other or the
marks they must avoid, stay inside the frame, and sit by their boxes when there is room."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.label_layout import overlaps, place_labels

FRAME = (1024.0, 1024.0)


def test_a_lone_caption_sits_just_above_its_box() -> None:
    (spot,) = place_labels([(100.0, 200.0, 300.0, 400.0)], [(120.0, 24.0)], FRAME)

    assert spot[0] == 100.0 and spot[3] <= 200.0 and spot[1] > 150.0


def test_captions_of_the_same_box_are_stacked_not_printed_over_each_other() -> None:
    box = (400.0, 400.0, 600.0, 600.0)

    spots = place_labels([box] * 4, [(180.0, 24.0)] * 4, FRAME)

    assert not any(overlaps(a, b) for i, a in enumerate(spots) for b in spots[i + 1 :])


def test_a_box_at_the_top_edge_gets_its_caption_inside_the_frame() -> None:
    (spot,) = place_labels([(10.0, 0.0, 200.0, 100.0)], [(150.0, 24.0)], FRAME)

    assert spot[1] >= 0.0


def test_captions_avoid_fixed_marks() -> None:
    mark = (0.0, 0.0, 60.0, 60.0)

    (spot,) = place_labels([(0.0, 30.0, 300.0, 300.0)], [(120.0, 24.0)], FRAME, obstacles=[mark])

    assert not overlaps(spot, mark)


boxes = st.tuples(st.floats(0, 900), st.floats(0, 900), st.floats(20, 400), st.floats(20, 400)).map(
    lambda b: (b[0], b[1], min(1024.0, b[0] + b[2]), min(1024.0, b[1] + b[3]))
)


@settings(max_examples=60, deadline=None)
@given(st.lists(boxes, min_size=1, max_size=10), st.lists(st.floats(40, 260), min_size=10, max_size=10))
def test_no_two_captions_ever_overlap_and_all_stay_in_the_frame(
    placed: list[tuple[float, float, float, float]], widths: list[float]
) -> None:
    sizes = [(widths[i], 26.0) for i in range(len(placed))]

    spots = place_labels(placed, sizes, FRAME)

    assert not any(overlaps(a, b) for i, a in enumerate(spots) for b in spots[i + 1 :])
    assert all(x0 >= 0 and y0 >= 0 and x1 <= FRAME[0] and y1 <= FRAME[1] for x0, y0, x1, y1 in spots)
