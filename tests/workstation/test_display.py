"""Tables in words (``workstation.display``): headers and labels as a person reads them."""

from __future__ import annotations

import pandas as pd

from workstation.display import for_display, header


def test_known_columns_have_their_own_headers_and_others_read_as_words() -> None:
    assert (header("acceptance_rate"), header("kappa"), header("latest_flags")) == (
        "Acceptance",
        "Cohen's kappa",
        "Flags in latest audits",
    )
    assert header("some_new_column") == "Some new column"


def test_a_table_for_display_has_no_snake_case_left() -> None:
    frame = pd.DataFrame(
        {"label": ["nodule_mass", "pleural_effusion"], "latest_flags": [3, 1], "kappa": [0.5, 0.1]}
    )

    shown = for_display(frame)

    assert list(shown.columns) == ["Label", "Flags in latest audits", "Cohen's kappa"]
    assert shown["Label"].tolist() == ["nodule / mass", "pleural effusion"]
    assert frame["label"].tolist() == ["nodule_mass", "pleural_effusion"]  # the original is untouched
