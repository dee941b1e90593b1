"""``cxr-audit train``: bad input gets one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workstation.cli.main import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_fit_refuses_a_folder_that_is_not_a_corpus(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run_cli(
        capsys, "train", "fit", "--corpus", str(tmp_path), "--base", "x", "--out", str(tmp_path / "a")
    )
    assert code == 2 and "is not a corpus folder" in err and len(err.strip().splitlines()) == 1


def test_merge_refuses_an_adapter_without_a_run_card(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run_cli(
        capsys, "train", "merge", "--base", "x", "--adapter", str(tmp_path), "--out", str(tmp_path / "m")
    )
    assert code == 2 and "has no run card" in err and len(err.strip().splitlines()) == 1


def test_corpus_wants_one_source_or_one_per_box_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    boxes = tmp_path / "b.csv"
    boxes.write_text("image,label\n", encoding="utf-8")
    code, err = run_cli(
        capsys,
        "train",
        "corpus",
        "--images",
        str(tmp_path),
        "--boxes",
        str(boxes),
        "--boxes",
        str(boxes),
        "--source",
        "nih",
        "--source",
        "vindr",
        "--source",
        "folder",
        "--out",
        str(tmp_path / "c"),
    )
    assert code == 2 and "2 --boxes file(s) but 3 --source value(s)" in err


def test_corpus_writes_the_published_profile_s_user_turn_and_vocabulary(
    capsys: pytest.CaptureFixture[str], annotated_folder: tuple[Path, Path], tmp_path: Path
) -> None:
    from models.checkpoints import DEFAULT_GROUNDING_PROFILE, grounding_profile

    images, annotations = annotated_folder
    out = tmp_path / "corpus"
    code = main(
        [
            "train",
            "corpus",
            "--images",
            str(images),
            "--boxes",
            str(annotations),
            "--source",
            "folder",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    stdout = capsys.readouterr().out
    assert code == 0 and "7 input boxes: 4 kept, 1 merged, 1 deduplicated, 1 dropped" in stdout
    profile = grounding_profile(DEFAULT_GROUNDING_PROFILE)
    record = json.loads((out / "train.jsonl").read_text().splitlines()[0])
    assert record["prompt"] == [profile.user_turn()]  # one user turn: the image, then the pinned prompt
    assert json.loads((out / "curation.json").read_text())["profile"] == DEFAULT_GROUNDING_PROFILE


def test_corpus_names_the_valid_profiles_for_an_unknown_one(
    capsys: pytest.CaptureFixture[str], annotated_folder: tuple[Path, Path], tmp_path: Path
) -> None:
    images, annotations = annotated_folder
    code, err = run_cli(
        capsys,
        "train",
        "corpus",
        "--images",
        str(images),
        "--boxes",
        str(annotations),
        "--source",
        "folder",
        "--profile",
        "nope",
        "--out",
        str(tmp_path / "c"),
    )
    assert code == 2 and "unknown checkpoint profile 'nope'" in err and "medgemma-cxr-auditor-v2" in err


def test_merge_never_writes_into_a_folder_that_holds_something(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "model.safetensors").write_text("an earlier merge")
    code, err = run_cli(
        capsys, "train", "merge", "--base", "x", "--adapter", str(tmp_path), "--out", str(tmp_path)
    )
    assert code == 2 and "is not empty; merge into a new folder" in err
