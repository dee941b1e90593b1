"""The concurrency benchmark runs end to end on real radiographs (its figures are printed, not asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import openai_concurrency

IMAGES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "images"


@pytest.mark.skipif(not IMAGES.is_dir(), reason="the shared data folder is not here")
def test_the_benchmark_grounds_every_case_at_each_level_and_prints_a_row_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert openai_concurrency.main(["--cases", "6", "--delay", "0.05", "--levels", "1", "3"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.endswith(" 0") and len(line.split()) == 5]
    assert [(row[0], row[4]) for row in rows] == [("1", "0"), ("3", "0")]  # every case grounded
    assert rows[0][3] == "1" and 1 <= int(rows[1][3]) <= 3  # never more in flight than asked
