"""Curation steps, each alone: properties over random images (hypothesis) and worked examples."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.boxes import iou
from audit.labels import FINDING_LABELS
from audit.schema import Box
from finetune.curation import (
    CROSS_FINDING_IOU,
    MERGE_IOU,
    SPECIFICITY,
    UNMAPPED,
    balance,
    clusters,
    curate_image,
    mean_box,
    merge_same_finding,
    resolve_cross_finding,
    split,
)
from finetune.records import Annotation, BoxLedger, CuratedBox, CuratedImage, SourceImage


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    x0 = draw(st.floats(0.0, 0.9))
    y0 = draw(st.floats(0.0, 0.9))
    return Box(x0=x0, y0=y0, x1=draw(st.floats(x0 + 0.01, 1.0)), y1=draw(st.floats(y0 + 0.01, 1.0)))


def near(box: Box, shift: float) -> Box:
    """The same box moved right by ``shift`` (clipped): a second reader's near-duplicate."""
    return Box(x0=min(box.x0 + shift, 0.98), y0=box.y0, x1=min(box.x1 + shift, 1.0), y1=box.y1)


annotations = st.builds(
    Annotation,
    reader=st.sampled_from(["r1", "r2", "r3"]),
    source_label=st.sampled_from(["Effusion", "Mass", "Atelectasis", "No Finding"]),
    label=st.sampled_from([*FINDING_LABELS, None, "no_finding"]),
    box=st.one_of(st.none(), boxes()),
    box_error=st.one_of(st.none(), st.just("box is inverted (x1 < x0 or y1 < y0): [1, 1, 0, 0]")),
)


def image(image_id: str, patient: str, rows: list[Annotation] | tuple[Annotation, ...] = ()) -> SourceImage:
    return SourceImage(
        image_id=image_id,
        path=f"/x/{image_id}.png",
        width=100,
        height=80,
        patient=patient,
        dataset="test",
        annotations=tuple(rows),
    )


def curated(image_id: str, patient: str, labels: tuple[str, ...]) -> CuratedImage:
    box = Box(x0=0.1, y0=0.1, x1=0.3, y1=0.3)
    return CuratedImage(
        image=image(image_id, patient),
        boxes=tuple(CuratedBox(label=lab, box=box, members=1, readers=("r",)) for lab in labels),  # type: ignore[arg-type]
    )


class TestAccounting:
    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.lists(annotations, max_size=8), min_size=1, max_size=6))
    def test_every_input_box_is_kept_merged_deduplicated_or_dropped(
        self, images: list[list[Annotation]]
    ) -> None:
        ledger, excluded = BoxLedger(), Counter[str]()
        for index, rows in enumerate(images):
            curate_image(
                image(f"i{index}", f"p{index}", rows),
                ledger,
                excluded,
                merge_iou=MERGE_IOU,
                cross_iou=CROSS_FINDING_IOU,
            )
        assert ledger.balanced
        claimed = sum(1 for rows in images for row in rows if not row.says_normal)
        assert ledger.input_boxes == claimed  # every row that claims a finding is an input box
        assert ledger.normal_rows == sum(1 for rows in images for row in rows if row.says_normal)

    def test_a_label_without_a_counterpart_is_dropped_and_counted_by_its_own_name(self) -> None:
        ledger, excluded = BoxLedger(), Counter[str]()
        rows = [
            Annotation(
                reader="r", source_label="Atelectasis", label=None, box=Box(x0=0.1, y0=0.1, x1=0.2, y1=0.2)
            )
        ]
        assert curate_image(image("a", "p", rows), ledger, excluded, merge_iou=0.5, cross_iou=0.6) is None
        assert ledger.dropped == {UNMAPPED: 1}
        assert ledger.dropped_labels == {"Atelectasis": 1}
        assert excluded == {"only findings outside the vocabulary": 1}  # not a normal image either


class TestMerge:
    @settings(max_examples=80, deadline=None)
    @given(st.lists(boxes(), max_size=10))
    def test_clusters_partition_the_boxes_and_join_every_overlapping_pair(self, items: list[Box]) -> None:
        groups = clusters(items)
        members = sorted(i for group in groups for i in group)
        assert members == list(range(len(items)))
        where = {i: g for g, group in enumerate(groups) for i in group}
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                if iou(items[i], items[j]) >= MERGE_IOU:
                    assert where[i] == where[j]

    @settings(max_examples=60, deadline=None)
    @given(st.lists(boxes(), min_size=1, max_size=6))
    def test_the_cluster_mean_lies_within_the_cluster_s_extent(self, items: list[Box]) -> None:
        mean = mean_box(items)
        slack = 1e-12  # the mean of equal floats may differ from them in the last bit
        assert min(b.x0 for b in items) - slack <= mean.x0 <= max(b.x0 for b in items) + slack
        assert min(b.y1 for b in items) - slack <= mean.y1 <= max(b.y1 for b in items) + slack

    def test_two_readers_boxes_of_one_effusion_become_their_mean(self) -> None:
        first = Box(x0=0.1, y0=0.5, x1=0.4, y1=0.9)
        second = near(first, 0.02)
        ledger = BoxLedger()
        merged = merge_same_finding(
            [("pleural_effusion", first, "NIH"), ("pleural_effusion", second, "ChestX-Det")], ledger
        )
        assert len(merged) == 1 and merged[0].members == 2
        assert merged[0].readers == ("ChestX-Det", "NIH")
        assert merged[0].box.x0 == (first.x0 + second.x0) / 2
        assert ledger.merged == 1  # two boxes in, one out: one merged away

    def test_boxes_of_different_findings_are_never_merged(self) -> None:
        box = Box(x0=0.1, y0=0.1, x1=0.3, y1=0.3)
        merged = merge_same_finding([("nodule_mass", box, "r"), ("lung_opacity", box, "r")], BoxLedger())
        assert sorted(b.label for b in merged) == ["lung_opacity", "nodule_mass"]


class TestCrossFinding:
    @settings(max_examples=80, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(SPECIFICITY), boxes()), max_size=8))
    def test_no_two_kept_boxes_of_different_findings_cover_one_region(
        self, items: list[tuple[str, Box]]
    ) -> None:
        given_boxes = [CuratedBox(label=lab, box=box, members=1, readers=("r",)) for lab, box in items]  # type: ignore[arg-type]
        kept, removed = resolve_cross_finding(given_boxes)
        assert len(kept) + len(removed) == len(given_boxes)
        for a in kept:
            for b in kept:
                if a.label != b.label:
                    assert iou(a.box, b.box) < CROSS_FINDING_IOU
        for box in removed:  # each removed box lost to a kept, more specific one
            assert any(
                SPECIFICITY.index(k.label) < SPECIFICITY.index(box.label)
                and iou(k.box, box.box) >= CROSS_FINDING_IOU
                for k in kept
            )

    def test_the_order_is_pneumothorax_nodule_effusion_cardiomegaly_opacity(self) -> None:
        assert SPECIFICITY == (
            "pneumothorax",
            "nodule_mass",
            "pleural_effusion",
            "cardiomegaly",
            "lung_opacity",
        )

    def test_a_nodule_drawn_also_as_opacity_keeps_the_nodule(self) -> None:
        box = Box(x0=0.5, y0=0.2, x1=0.7, y1=0.4)
        items = [
            CuratedBox(label=lab, box=box, members=1, readers=("r",))
            for lab in ("lung_opacity", "nodule_mass")
        ]  # type: ignore[arg-type]
        kept, removed = resolve_cross_finding(items)
        assert [b.label for b in kept] == ["nodule_mass"] and [b.label for b in removed] == ["lung_opacity"]


class TestBalance:
    @settings(max_examples=50, deadline=None)
    @given(st.integers(0, 12), st.integers(0, 40), st.integers(0, 5))
    def test_every_positive_is_kept_and_normals_come_down_to_about_one_per_positive(
        self, n_positive: int, n_normal: int, seed: int
    ) -> None:
        items = [curated(f"p{i}", f"p{i}", ("nodule_mass",)) for i in range(n_positive)]
        items += [curated(f"n{i}", f"n{i}", ()) for i in range(n_normal)]
        kept, left_out = balance(items, 1.0, seed)
        assert sum(not i.is_normal for i in kept) == n_positive
        assert sum(i.is_normal for i in kept) == min(n_normal, n_positive)
        assert left_out == n_normal - min(n_normal, n_positive)

    def test_the_same_seed_keeps_the_same_normals(self) -> None:
        items = [curated("p", "p", ("cardiomegaly",))] + [curated(f"n{i}", f"n{i}", ()) for i in range(9)]
        assert balance(items, 1.0, seed=3) == balance(items, 1.0, seed=3)


class TestSplit:
    @settings(max_examples=50, deadline=None)
    @given(
        st.lists(
            st.tuples(st.integers(0, 15), st.sampled_from([(), ("pneumothorax",), ("cardiomegaly",)])),
            min_size=1,
            max_size=60,
        ),
        st.integers(0, 3),
    )
    def test_no_patient_is_on_both_sides_and_every_image_is_on_one(
        self, rows: list[tuple[int, tuple[str, ...]]], seed: int
    ) -> None:
        items = [curated(f"i{n}", f"patient{p}", labels) for n, (p, labels) in enumerate(rows)]
        train, val = split(items, 0.1, seed)
        assert {i.image.patient for i in train}.isdisjoint({i.image.patient for i in val})
        assert sorted(i.image.image_id for i in train + val) == sorted(i.image.image_id for i in items)
        patients = len({i.image.patient for i in items})
        assert len({i.image.patient for i in val}) == int(patients * 0.1 + 0.5)

    def test_each_stratum_sends_about_a_tenth_of_its_patients_to_val(self) -> None:
        items = [curated(f"a{i}", f"a{i}", ("pneumothorax",)) for i in range(20)]
        items += [curated(f"b{i}", f"b{i}", ()) for i in range(30)]
        _, val = split(items, 0.1, seed=0)
        assert Counter(i.labels for i in val) == {("pneumothorax",): 2, (): 3}  # 2 of 20, 3 of 30
