"""Altair charts for the Evaluation page; each shows its counts in the tooltip."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from workstation.display import header
from workstation.overlay import FLAG_COLOURS

# How rate columns read in the Evaluation page's tables (headed by ``display.header``): two decimals.
RATE_COLUMNS: dict[str, Any] = {
    header(name): st.column_config.NumberColumn(header(name), format="%.2f")
    for name in ("acceptance_rate", "agreement", "kappa")
}


def height(frame: pd.DataFrame) -> int:
    """Pixels for a horizontal bar chart of ``frame``'s rows, axis included."""
    return 60 + 34 * max(1, len(frame))


def acceptance_chart(frame: pd.DataFrame, by: str) -> alt.Chart:
    """Acceptance rate per ``by`` (flag type or label), with decisions and accepted in the tooltip."""
    data = frame[frame["decisions"] > 0]
    colour = (
        alt.Color(
            f"{by}:N",
            scale=alt.Scale(domain=list(FLAG_COLOURS), range=list(FLAG_COLOURS.values())),
            legend=None,
        )
        if by == "flag_type"
        else alt.Color(f"{by}:N", legend=None)
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "acceptance_rate:Q",
                title="accepted / decided",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(values=[0, 0.25, 0.5, 0.75, 1], format=".0%"),
            ),
            y=alt.Y(f"{by}:N", title=None, sort="-x"),
            color=colour,
            tooltip=[
                alt.Tooltip(f"{by}:N", title=header(by)),
                *(
                    alt.Tooltip(f"{name}:Q", title=header(name))
                    for name in ("decisions", "accepted", "dismissed")
                ),
                alt.Tooltip("acceptance_rate:Q", title=header("acceptance_rate"), format=".2f"),
            ],
        )
    )


def reasons_chart(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar(color="#7f7f7f")
        .encode(
            x=alt.X("dismissals:Q", title="dismissals"),
            y=alt.Y("reason:N", title=None, sort="-x"),
            tooltip=[
                alt.Tooltip("reason:N", title=header("reason")),
                alt.Tooltip("dismissals:Q", title=header("dismissals")),
            ],
        )
    )
