"""Importers: NIH, VinDr and folder imports are idempotent, scale boxes, count what they drop."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from audit.boxes import from_pixel_xyxy, iou
from audit.protocols import MAX_DRAFT_CHARS
from audit.schema import Box
from data.errors import ImportFormatError, LinkLoopError, UnsafePathError
from data.importers import nih
from data.importers.common import ImportSummary, readable_image
from data.importers.folder import import_folder
from data.importers.nih import import_nih, torchxrayvision_file
from data.importers.vindr import import_vindr
from data.store import Store
from tests.data.conftest import gradient, write_png

SHARED_HEADER = (
    "image,label,x,y,w,h,orig_width,orig_height,source,stored_width,stored_height,canonical_label_suggested"
)


@pytest.fixture
def nih_folder(tmp_path: Path) -> Path:
    """Three 512 × 512 NIH-named images and one unreadable file."""
    folder = tmp_path / "images"
    for name in ("00000001_000.png", "00000002_000.png", "00000003_000.png"):
        write_png(folder / name, np.zeros((512, 512), dtype=np.uint8))
    (folder / "00000004_000.png").write_bytes(b"")
    return folder


@pytest.fixture
def nih_bbox_list(tmp_path: Path) -> Path:
    """NIH's own BBox_List_2017.csv format, boxes in the 1024 space, gzipped like the original."""
    path = tmp_path / "BBox_List_2017.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(
            "Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
            "00000001_000.png,Pneumothorax,100,200,300,100\n"
            "00000001_000.png,Atelectasis,500,500,100,100\n"
            "00000002_000.png,Infiltrate,600,100,200,400\n"
            "00000099_000.png,Mass,10,10,10,10\n"
        )
    return path


def test_nih_boxes_are_scaled_from_the_1024_space_to_the_image(
    store: Store, nih_folder: Path, nih_bbox_list: Path
) -> None:
    summary = import_nih(store, nih_folder, nih_bbox_list)
    (ptx,) = store.cases.reference_findings("00000001_000")
    assert (
        ptx.label == "pneumothorax" and ptx.source == "reference:NIH" and ptx.source_label == "Pneumothorax"
    )
    assert (
        ptx.box is not None
        and iou(ptx.box, Box(x0=100 / 1024, y0=200 / 1024, x1=400 / 1024, y1=300 / 1024)) > 0.999
    )
    assert store.cases.get("00000001_000").image_size == (512, 512)
    assert (summary.imported, summary.updated, summary.findings) == (3, 0, 2)
    assert summary.dropped_labels == {"Atelectasis": 1}
    assert summary.skipped == {
        "boxes for an image not in the folder": 1,
        "unreadable image (file is empty (0 bytes))": 1,
    }


def test_importing_twice_adds_nothing_twice(store: Store, nih_folder: Path, nih_bbox_list: Path) -> None:
    import_nih(store, nih_folder, nih_bbox_list)
    again = import_nih(store, nih_folder, nih_bbox_list)
    assert (again.imported, again.updated) == (0, 3)
    assert store.stats().cases == 3 and store.stats().reference_findings == 2


def test_the_shared_box_file_keeps_each_rows_source(store: Store, nih_folder: Path, tmp_path: Path) -> None:
    boxes = tmp_path / "boxes.csv"
    boxes.write_text(
        f"{SHARED_HEADER}\n"
        "00000001_000.png,Effusion,0,0,512,512,1024,1024,"
        "NIH ChestX-ray14 BBox_List_2017.csv,512,512,pleural_effusion\n"
        "00000001_000.png,Consolidation,512,512,256,256,1024,1024,"
        "ChestX-Det (Deepwise) file 1.png,512,512,lung_opacity\n"
        "00000001_000.png,Diffuse Nodule,1,1,5,5,1024,1024,ChestX-Det (Deepwise) file 1.png,512,512,\n"
    )
    summary = import_nih(store, nih_folder, boxes)
    found = {(f.label, f.source): f.box for f in store.cases.reference_findings("00000001_000")}
    assert set(found) == {("pleural_effusion", "reference:NIH"), ("lung_opacity", "reference:ChestX-Det")}
    assert found[("lung_opacity", "reference:ChestX-Det")] == Box(x0=0.5, y0=0.5, x1=0.75, y1=0.75)
    assert summary.dropped_labels == {"Diffuse Nodule": 1}
    assert summary.findings_by_source == {"reference:ChestX-Det": 1, "reference:NIH": 1}


def test_nih_labels_give_view_and_image_labels_but_no_patient_data(
    store: Store, nih_folder: Path, nih_bbox_list: Path, tmp_path: Path
) -> None:
    labels = tmp_path / "Data_Entry_2017.csv"
    labels.write_text(
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position\n"
        "00000001_000.png,Pneumothorax|Atelectasis,0,1,57,M,AP\n"
    )
    import_nih(store, nih_folder, nih_bbox_list, labels)
    case = store.cases.get("00000001_000")
    assert case.view == "AP"
    assert case.metadata["image_labels"] == ["pneumothorax"]
    assert case.metadata["image_labels_dropped"] == ["Atelectasis"]
    assert "57" not in json.dumps(case.metadata)


def test_an_unknown_box_file_is_a_typed_error(store: Store, nih_folder: Path, tmp_path: Path) -> None:
    boxes = tmp_path / "wrong.csv"
    boxes.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ImportFormatError, match="not a known box file"):
        import_nih(store, nih_folder, boxes)
    assert store.cases.count() == 0


def test_torchxrayvision_data_is_found_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "torchxrayvision"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "raise ImportError('importing torchxrayvision is not allowed here')\n"
    )
    (package / "data" / "BBox_List_2017.csv.gz").write_bytes(b"")
    monkeypatch.setattr(
        nih, "find_spec", lambda name: SimpleNamespace(submodule_search_locations=[str(package)])
    )
    assert torchxrayvision_file("BBox_List_2017.csv.gz") == package / "data" / "BBox_List_2017.csv.gz"
    monkeypatch.setattr(nih, "find_spec", lambda name: None)
    assert torchxrayvision_file("BBox_List_2017.csv.gz") is None


def test_vindr_keeps_one_finding_per_reader(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "vindr"
    write_png(folder / "abc123.png", np.zeros((200, 100), dtype=np.uint8))
    train = tmp_path / "train.csv"
    train.write_text(
        "image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n"
        "abc123,Nodule/Mass,8,R8,10,20,30,40\n"
        "abc123,Nodule/Mass,8,R9,12,22,32,42\n"
        "abc123,Aortic enlargement,0,R9,40,40,60,60\n"
        "abc123,No finding,14,R10,,,,\n"
    )
    summary = import_vindr(store, folder, train)
    found = sorted((f.label, f.reader, f.box is not None) for f in store.cases.reference_findings("abc123"))
    assert found == [("no_finding", "R10", False), ("nodule_mass", "R8", True), ("nodule_mass", "R9", True)]
    assert summary.dropped_labels == {"Aortic enlargement": 1}
    (first,) = [f for f in store.cases.reference_findings("abc123") if f.reader == "R8"]
    assert first.box == Box(x0=0.1, y0=0.1, x1=0.3, y1=0.2)
    assert import_vindr(store, folder, train).updated == 1


class TestFolder:
    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        root = tmp_path / "cases"
        write_png(root / "a.png", gradient(100, 50))
        write_png(root / "sub" / "b.png", gradient(100, 50))
        return root

    def test_images_anywhere_under_the_folder_become_cases(self, store: Store, folder: Path) -> None:
        summary = import_folder(store, folder)
        assert summary.imported == 2
        assert sorted(c.case_id for c in store.cases.where()) == ["a", "sub__b"]

    def test_annotations_and_drafts_are_read_and_mapped(
        self, store: Store, folder: Path, tmp_path: Path
    ) -> None:
        annotations = tmp_path / "boxes.json"
        annotations.write_text(
            json.dumps(
                {
                    "annotations": [
                        {"image": "a.png", "label": "effusion", "x0": 0, "y0": 0, "x1": 50, "y1": 25},
                        {"image": "sub/b.png", "label": "nodule", "box_2d": [100, 200, 300, 400]},
                        {"image": "sub/b.png", "label": "calcification", "x": 1, "y": 1, "w": 2, "h": 2},
                    ]
                }
            )
        )
        drafts = tmp_path / "drafts.csv"
        drafts.write_text('image,text,author\na.png,"Small right effusion.",dr x\n')
        summary = import_folder(store, folder, annotations, drafts)
        (effusion,) = store.cases.reference_findings("a")
        assert effusion.label == "pleural_effusion" and effusion.box == Box(x0=0, y0=0, x1=0.5, y1=0.5)
        (nodule,) = store.cases.reference_findings("sub__b")
        assert nodule.box == Box(x0=0.2, y0=0.1, x1=0.4, y1=0.3)
        assert summary.dropped_labels == {"calcification": 1}
        assert [d.text for d in store.drafts.for_case("a")] == ["Small right effusion."]
        import_folder(store, folder, annotations, drafts)
        assert len(store.drafts.for_case("a")) == 1  # the same draft is not added twice

    def test_a_generators_drafts_are_left_to_import_reports(
        self, store: Store, folder: Path, tmp_path: Path
    ) -> None:
        drafts = tmp_path / "drafts.csv"
        drafts.write_text('image,text,author,kind\na.png,"Right effusion.",gen-a,generated\n')
        summary = import_folder(store, folder, drafts=drafts)
        assert store.drafts.for_case("a") == []
        assert summary.skipped == {"draft kind not one of human, synthetic, student": 1}

    @pytest.mark.parametrize(
        "image",
        ["../outside.png", "/etc/passwd", "sub/../../outside.png"],
        ids=["dotdot", "absolute", "nested-dotdot"],
    )
    def test_paths_that_leave_the_folder_are_refused_before_anything_is_written(
        self, store: Store, folder: Path, tmp_path: Path, image: str
    ) -> None:
        write_png(tmp_path / "outside.png", gradient())
        annotations = tmp_path / "boxes.csv"
        annotations.write_text(f"image,label\n{image},nodule\n")
        with pytest.raises(UnsafePathError, match="outside"):
            import_folder(store, folder, annotations)
        assert store.cases.count() == 0

    def test_a_symlink_out_of_the_folder_is_not_imported(
        self, store: Store, folder: Path, tmp_path: Path
    ) -> None:
        target = write_png(tmp_path / "secret.png", gradient())
        (folder / "link.png").symlink_to(target)
        import_folder(store, folder)
        assert "link" not in {c.case_id for c in store.cases.where()}


class TestFolderCaseIds:
    """Case ids go to readable images only; a clash between two readable ones names both."""

    def test_an_unreadable_image_does_not_take_the_case_id_of_a_readable_one(
        self, store: Store, tmp_path: Path
    ) -> None:
        root = tmp_path / "cases"
        root.mkdir()
        (root / "scan.dcm").write_text("not DICOM at all")
        write_png(root / "scan.png", gradient())
        summary = import_folder(store, root)
        assert [(c.case_id, c.image_id) for c in store.cases.where()] == [("scan", "scan.png")]
        (reason,) = summary.skipped
        assert reason.startswith("unreadable image (not a DICOM file")
        assert summary.skipped_examples[reason] == ["scan.dcm"]

    def test_two_readable_images_with_one_case_id_keep_the_first_and_name_both(
        self, store: Store, tmp_path: Path
    ) -> None:
        root = tmp_path / "cases"
        write_png(root / "scan.jpg", gradient())
        write_png(root / "scan.png", gradient())
        summary = import_folder(store, root)
        assert [c.image_id for c in store.cases.where()] == ["scan.jpg"]
        assert summary.skipped_examples == {
            "two readable images give the same case id (the first in name order is kept)": [
                "scan.png (case 'scan' is scan.jpg)"
            ]
        }


class TestFolderPaths:
    @pytest.fixture
    def looped(self, tmp_path: Path) -> Path:
        """A folder with a good image and ``loop.a`` → ``loop.b`` → ``loop.a``."""
        root = tmp_path / "cases"
        write_png(root / "a.png", gradient())
        (root / "loop.a").symlink_to(root / "loop.b")
        (root / "loop.b").symlink_to(root / "loop.a")
        return root

    @pytest.mark.parametrize(
        ("name", "content", "argument"),
        [
            ("drafts.csv", "image,text\nloop.a/x.png,Left pneumothorax.\n", "drafts"),
            ("boxes.csv", "image,label\nloop.b,nodule\n", "annotations"),
        ],
        ids=["drafts", "annotations"],
    )
    def test_a_path_through_a_symlink_loop_is_refused_before_anything_is_written(
        self, store: Store, looped: Path, tmp_path: Path, name: str, content: str, argument: str
    ) -> None:
        (tmp_path / name).write_text(content)
        with pytest.raises(LinkLoopError, match="is a symbolic link loop; no file can be read there"):
            import_folder(store, looped, **{argument: tmp_path / name})
        assert store.cases.count() == 0

    def test_a_looping_image_link_in_the_folder_is_counted_as_unreadable(
        self, store: Store, tmp_path: Path
    ) -> None:
        root = tmp_path / "cases"
        write_png(root / "a.png", gradient())
        (root / "loop.png").symlink_to(root / "loop.png")
        summary = import_folder(store, root)
        assert (summary.images_found, summary.imported) == (2, 1)
        assert summary.skipped_examples == {
            "unreadable image (a broken symbolic link (it loops, or its target is missing))": ["loop.png"]
        }


class TestFolderDrafts:
    def test_a_draft_over_the_limit_is_skipped_with_the_limit_named(
        self, store: Store, tmp_path: Path
    ) -> None:
        root = tmp_path / "cases"
        write_png(root / "a.png", gradient())
        long_draft = "No pneumothorax. " * 5_931
        drafts = tmp_path / "drafts.csv"
        drafts.write_text(f"image,text\na.png,{long_draft}\na.png,Left effusion.\n")
        summary = import_folder(store, root, drafts=drafts)
        assert [d.text for d in store.drafts.for_case("a")] == ["Left effusion."]
        assert summary.drafts_added == 1
        assert summary.skipped_examples == {
            f"draft over the {MAX_DRAFT_CHARS:,}-character limit the auditor reads": [
                f"a ({len(long_draft.strip()):,} characters)"
            ]
        }


@pytest.mark.requires_shared_data
@pytest.mark.slow
def test_the_shared_nih_images_import_with_their_boxes(store: Store, shared_data: Path) -> None:
    summary = import_nih(store, shared_data / "images", shared_data / "boxes.csv", shared_data / "labels.csv")
    assert (summary.images_found, summary.imported, summary.skipped_total) == (1080, 1080, 0)
    # 1,235 box rows: each kept as a finding or counted as a dropped label.
    assert summary.findings + sum(summary.dropped_labels.values()) == 1235
    assert set(summary.findings_by_source) == {"reference:NIH", "reference:ChestX-Det"}
    assert store.stats().cases == 1080


class TestSharedImportSteps:
    """What every importer does with a box and an image file (``data.importers.common``)."""

    def test_a_rejected_box_is_counted_and_its_finding_skipped_with_the_reason(self) -> None:
        summary = ImportSummary(source="test")
        box = summary.keep_box(from_pixel_xyxy(10, 10, 10, 50, (100, 100)), "img.png Mass")
        assert box is None
        assert (summary.boxes_rejected, summary.boxes_clipped) == (1, 0)
        assert summary.skipped == {"box rejected (box has zero area: [0.1, 0.1, 0.1, 0.5])": 1}
        assert summary.skipped_examples == {
            "box rejected (box has zero area: [0.1, 0.1, 0.1, 0.5])": ["img.png Mass"]
        }

    def test_a_box_over_the_edge_is_clipped_counted_and_kept(self) -> None:
        summary = ImportSummary(source="test")
        box = summary.keep_box(from_pixel_xyxy(50, 50, 101, 90, (100, 100)), "img.png Mass")
        assert box == Box(x0=0.5, y0=0.5, x1=1.0, y1=0.9)
        assert (summary.boxes_rejected, summary.boxes_clipped, summary.skipped) == (0, 1, {})

    def test_an_unreadable_image_is_skipped_with_the_reason(self, tmp_path: Path) -> None:
        summary = ImportSummary(source="test")
        empty = tmp_path / "empty.png"
        empty.write_bytes(b"")
        assert readable_image(empty, summary, verify=False, example="empty.png") is None
        assert summary.skipped_examples == {"unreadable image (file is empty (0 bytes))": ["empty.png"]}

    def test_a_readable_image_gives_its_header(self, tmp_path: Path) -> None:
        summary = ImportSummary(source="test")
        path = write_png(tmp_path / "ok.png", np.zeros((30, 40), dtype=np.uint8))
        info = readable_image(path, summary, verify=True, example="ok.png")
        assert info is not None and info.size == (40, 30)
        assert summary.skipped == {}
