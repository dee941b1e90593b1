"""The corpus end to end: importers' readers in, TRL prompt/completion JSONL and curation.json out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.recover import parse_findings
from audit.schema import Box
from finetune.corpus import build_corpus, check_readback
from finetune.errors import CorpusError
from finetune.records import (
    CURATION_FILE,
    TRAIN_FILE,
    VAL_FILE,
    CuratedBox,
    CuratedImage,
    CurationReport,
    SourceImage,
)
from tests.finetune.conftest import HEIGHT, WIDTH, StandInProfile


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def all_examples(folder: Path) -> list[dict]:
    return lines(folder / TRAIN_FILE) + lines(folder / VAL_FILE)


class TestFolderCorpus:
    def test_every_box_is_accounted_for(self, corpus: tuple[Path, CurationReport]) -> None:
        _, report = corpus
        assert report.input_boxes == 7  # the two "no_finding" rows are evidence, not boxes
        assert (report.kept, report.merged, report.deduplicated) == (4, 1, 1)
        assert report.dropped == {"label without a counterpart in the vocabulary": 1}
        assert report.dropped_labels == {"atelectasis": 1}
        assert (
            report.kept + report.merged + report.deduplicated + sum(report.dropped.values())
            == report.input_boxes
        )
        assert report.normal_rows == 2

    def test_curation_json_holds_the_report_with_images_and_patients_per_split(
        self, corpus: tuple[Path, CurationReport]
    ) -> None:
        folder, report = corpus
        stored = json.loads((folder / CURATION_FILE).read_text(encoding="utf-8"))
        for key in ("input_boxes", "kept", "merged", "deduplicated", "dropped"):
            assert stored[key] == getattr(report, key)
        assert stored["splits"]["train"]["images"] + stored["splits"]["val"]["images"] == 6  # d.png left out
        assert stored["images_excluded"] == {"only findings outside the vocabulary": 1}
        assert {"patients", "images"} <= set(stored["splits"]["val"])

    def test_examples_are_trl_conversational_prompt_completion_with_the_profile_s_turn(
        self, corpus: tuple[Path, CurationReport], profile: StandInProfile
    ) -> None:
        for record in all_examples(corpus[0]):
            assert record["prompt"] == [profile.user_turn()]
            assert record["prompt"][0]["content"][0] == {"type": "image"}  # the image comes first
            (turn,) = record["completion"]
            assert turn["role"] == "assistant" and turn["content"][0]["type"] == "text"
            assert len(record["images"]) == 1 and Path(record["images"][0]).is_file()

    def test_boxes_are_y_first_in_0_to_1_of_the_image_s_own_size(
        self, corpus: tuple[Path, CurationReport]
    ) -> None:
        by_case = {
            r["case_id"]: json.loads(r["completion"][0]["content"][0]["text"])
            for r in all_examples(corpus[0])
        }
        assert by_case["c"] == [
            {
                "label": "pneumothorax",
                "box_2d": [
                    round(5 / HEIGHT, 4),
                    round(60 / WIDTH, 4),
                    round(30 / HEIGHT, 4),
                    round(90 / WIDTH, 4),
                ],
            }
        ]
        assert by_case["f"] == [{"label": "no_finding", "box_2d": None}]
        (effusion,) = by_case["a"]  # two readers' boxes, merged into their mean
        assert effusion["box_2d"] == [
            round(40.5 / HEIGHT, 4),
            round(10.5 / WIDTH, 4),
            round(70.5 / HEIGHT, 4),
            round(40.5 / WIDTH, 4),
        ]
        assert [f["label"] for f in by_case["b"]] == ["nodule_mass"]  # the opacity on the nodule went

    def test_every_target_reads_back_through_the_recovery_layer_with_no_repair(
        self, corpus: tuple[Path, CurationReport]
    ) -> None:
        for record in all_examples(corpus[0]):
            reading = parse_findings(
                record["completion"][0]["content"][0]["text"], "check", tuple(record["image_size"])
            )
            assert reading.outcome.status == "ok", reading.outcome

    def test_patients_are_never_on_both_sides_and_are_written_hashed(
        self, corpus: tuple[Path, CurationReport]
    ) -> None:
        folder, _ = corpus
        train = {r["patient"] for r in lines(folder / TRAIN_FILE)}
        val = {r["patient"] for r in lines(folder / VAL_FILE)}
        assert train.isdisjoint(val) and val
        assert not {"p1", "p2"} & (train | val)

    def test_the_same_inputs_and_seed_give_the_same_corpus(
        self,
        annotated_folder: tuple[Path, Path],
        corpus: tuple[Path, CurationReport],
        profile: StandInProfile,
        tmp_path: Path,
    ) -> None:
        images, annotations = annotated_folder
        build_corpus(images, [(annotations, "folder")], tmp_path, profile, val_fraction=0.2, seed=1)
        for name in (TRAIN_FILE, VAL_FILE, CURATION_FILE):
            assert (tmp_path / name).read_bytes() == (corpus[0] / name).read_bytes()

    def test_rows_for_images_that_are_not_in_the_folder_are_dropped_and_counted(
        self, annotated_folder: tuple[Path, Path], profile: StandInProfile, tmp_path: Path
    ) -> None:
        images, annotations = annotated_folder
        extra = tmp_path / "more.csv"
        extra.write_text(annotations.read_text() + "zz.png,nodule,1,1,5,5,r1,p9\n", encoding="utf-8")
        report = build_corpus(images, [(extra, "folder")], tmp_path / "out", profile)
        assert report.dropped["image not in the folder"] == 1
        assert report.input_boxes == 8

    def test_a_folder_with_nothing_usable_is_refused(self, tmp_path: Path, profile: StandInProfile) -> None:
        (tmp_path / "images").mkdir()
        boxes = tmp_path / "a.csv"
        boxes.write_text("image,label\n", encoding="utf-8")
        with pytest.raises(CorpusError, match="no image can become a training example"):
            build_corpus(tmp_path / "images", [(boxes, "folder")], tmp_path / "out", profile)


def test_a_checkpoint_label_spelt_its_own_way_is_not_a_repair_but_anything_else_is(
    profile: StandInProfile,
) -> None:
    image = curated_image(("lung_opacity", Box(x0=0.1, y0=0.2, x1=0.3, y1=0.4)))
    check_readback(profile.answer_text([("lung_opacity", image.boxes[0].box)]), image, profile)
    with pytest.raises(CorpusError, match="does not read back cleanly"):
        check_readback('[{"label": "opacity", "box_2d": [0.2, 0.1, 0.4, 0.3]}]', image, profile)
    with pytest.raises(CorpusError, match="reads back as other findings"):
        check_readback(
            '[{"label": "lung_opacity_consolidation", "box_2d": [0.2, 0.1, 0.4, 0.5]}]', image, profile
        )


def curated_image(*boxes: tuple[str, Box]) -> CuratedImage:
    source = SourceImage(image_id="x", path="/x.png", width=100, height=100, patient="p", dataset="t")
    return CuratedImage(
        image=source,
        boxes=tuple(CuratedBox(label=label, box=box, members=1, readers=("r",)) for label, box in boxes),  # type: ignore[arg-type]
    )


def test_on_the_shared_data_every_nih_and_chestx_det_box_is_accounted_for(
    shared_data: Path, profile: StandInProfile, tmp_path: Path
) -> None:
    report = build_corpus(
        shared_data / "images",
        [(shared_data / "boxes.csv", "nih")],
        tmp_path,
        profile,
        labels=shared_data / "labels.csv",
        verify=False,
    )
    assert report.input_boxes == 1235  # every row of boxes.csv (984 NIH + 251 ChestX-Det)
    assert report.kept + report.merged + report.deduplicated + sum(report.dropped.values()) == 1235
    assert report.merged > 0  # the 72 images read by both groups
    assert report.dropped_labels["Atelectasis"] == 196
    assert sum(split.boxes for split in report.splits.values()) == report.kept
    assert report.images["normal_kept"] == 200
    assert report.kept_by_label["lung_opacity_consolidation"] > 0  # written in the checkpoint's vocabulary
