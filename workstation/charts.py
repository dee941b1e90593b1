"""Altair charts for the Evaluation page; each shows its counts in the tooltip."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from workstation.overlay import FLAG_COLOURS

# How rate columns read in the Evaluation page's tables: two decimals, a short header.
RATE_COLUMNS: dict[str, Any] = {
    "acceptance_rate": st.column_config.NumberColumn("acceptance", format="%.2f"),
    "agreement": st.column_config.NumberColumn("agreement", format="%.2f"),
    "kappa": st.column_config.NumberColumn("kappa", format="%.2f"),
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
            x=alt.X("acceptance_rate:Q", title="accepted / decided", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y(f"{by}:N", title=None, sort="-x"),
            color=colour,
            tooltip=[
                by,
                "decisions",
                "accepted",
                "dismissed",
                alt.Tooltip("acceptance_rate:Q", format=".2f"),
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
            tooltip=["reason", "dismissals"],
        )
    )
