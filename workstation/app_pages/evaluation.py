"""Evaluation: what reviewers' decisions say about the auditor, with the counts behind each rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from workstation import charts, evaluation, report_evaluation, ui
from workstation.display import for_display, labels_in_words
from workstation.text import md

if TYPE_CHECKING:
    import pandas as pd

    from data.store import Store


def acceptance_section(title: str, table: pd.DataFrame, column: str, key: str) -> None:
    """One acceptance breakdown: its chart (once there are decisions) and the counts behind it."""
    st.subheader(title)
    st.dataframe(
        for_display(table),
        key=f"ev_{key}",
        hide_index=True,
        width="stretch",
        column_config=charts.RATE_COLUMNS,
    )
    if table["decisions"].sum() > 0:
        st.altair_chart(
            charts.acceptance_chart(labels_in_words(table), column),
            key=f"ev_chart_{key}",
            height=charts.height(table),
        )


def totals(store: Store) -> None:
    stats = store.stats()
    top = st.columns(5)
    top[0].metric("Cases", f"{stats.cases:,}")
    top[1].metric("Audit runs", f"{stats.audit_runs:,}")
    top[2].metric("Flags", f"{stats.flags:,}")
    top[3].metric("Decisions", f"{stats.decisions:,}", help="every decision, a changed one included")
    top[4].metric("Reviewer boxes", f"{stats.reviewer_findings:,}")


def dismissal_reasons(store: Store) -> None:
    st.subheader("Dismissal reasons")
    reasons = evaluation.dismissal_reasons(store)
    if reasons.empty:
        st.caption("No flag has been dismissed yet.")
        return
    st.altair_chart(charts.reasons_chart(reasons), key="ev_chart_reasons", height=charts.height(reasons))
    st.dataframe(for_display(reasons), key="ev_reasons", hide_index=True, width="stretch")


def reviewer_agreement(store: Store) -> None:
    st.subheader("Reviewer agreement")
    agreement = evaluation.agreement(store)
    if agreement.flags_with_several_reviewers == 0:
        st.caption("No flag has been decided by two reviewers yet.")
        return
    st.metric(
        "All reviewers agree",
        f"{agreement.rate:.0%}",
        help="flags with the same decision from every reviewer ÷ flags decided by two or more",
    )
    st.caption(
        f"{agreement.flags_all_agree} of {agreement.flags_with_several_reviewers} flags decided by "
        "two or more reviewers got the same decision from all of them."
    )
    st.dataframe(
        for_display(agreement.pairs),
        key="ev_pairs",
        hide_index=True,
        width="stretch",
        column_config=charts.RATE_COLUMNS,
    )


def backends(store: Store) -> None:
    st.subheader("Backends")
    st.caption("Every audit run per grounder and parser, with its failed and recovered parses counted.")
    st.dataframe(
        for_display(evaluation.backends(store)),
        key="ev_backends",
        hide_index=True,
        width="stretch",
        column_config=charts.RATE_COLUMNS,
    )


def eval_runs(store: Store) -> None:
    st.subheader("Stored `cxr-audit eval` runs")
    runs = evaluation.eval_run_rows(store)
    if not runs:
        st.caption("None yet: `cxr-audit eval` stores each run here.")
        return
    st.dataframe(runs, key="ev_runs", hide_index=True, width="stretch")
    for run in store.eval_runs.newest_first()[:10]:
        with st.expander(
            f"Eval run {run.eval_id}: {md(run.grounder)} + {md(run.parser)}, "
            f"scored {run.n_scored:,} of {run.n_items:,}; {run.n_failed:,} failed"
        ):
            st.json(run.summary, expanded=False)


def grounder_comparisons(store: Store) -> None:
    st.subheader("Stored grounder comparisons")
    comparisons = store.comparisons.newest_first()
    if not comparisons:
        st.caption(
            "None yet: `cxr-audit ground` each grounder over the same held-out cases, then "
            "`cxr-audit compare-grounders` stores its comparison here."
        )
    for record in comparisons[:10]:
        with st.expander(
            f"Comparison {record.comparison_id}: {md(' vs '.join(record.runs))} on {record.n_cases:,} cases "
            f"({record.created_at:%Y-%m-%d %H:%M} UTC)",
            expanded=record is comparisons[0],
        ):
            st.caption(
                "Each figure with the fraction it comes from; † marks a figure resting on fewer than 20 "
                "items (directional only). Failed or missing cases are counted in every run's coverage."
            )
            st.dataframe(
                evaluation.comparison_rows(record),
                key=f"ev_cmp_{record.comparison_id}",
                hide_index=True,
                width="stretch",
            )
            differences = evaluation.difference_rows(record)
            if differences:
                st.markdown("Paired differences (later − earlier) with bootstrap 95% intervals")
                st.dataframe(
                    differences, key=f"ev_cmp_diff_{record.comparison_id}", hide_index=True, width="stretch"
                )


def report_generators(store: Store) -> None:
    """Stored ``eval-reports`` results: the generators side by side, reviewers' acceptance now."""
    st.subheader("Stored report-generator evaluations")
    records = store.report_evaluations.newest_first()
    if not records:
        st.caption(
            "None yet: add a generator's reports (`cxr-audit import reports` or `cxr-audit generate`), then "
            "`cxr-audit eval-reports` scores them against the reference boxes and stores the result here."
        )
    for record in records[:5]:
        evaluation = report_evaluation.evaluation_of(record)
        with st.expander(
            f"Report evaluation {record.evaluation_id}: {md(' vs '.join(record.generators))} on "
            f"{record.n_cases:,} cases ({record.created_at:%Y-%m-%d %H:%M} UTC)",
            expanded=record is records[0],
        ):
            st.caption(report_evaluation.caption(evaluation))
            if record.note:
                st.text(f"Note: {record.note}")
            feedback = store.report_evaluations.feedback(list(evaluation.generators))
            st.dataframe(
                report_evaluation.side_by_side(evaluation, feedback),
                key=f"ev_rep_{record.evaluation_id}",
                hide_index=True,
                width="stretch",
            )
            differences = report_evaluation.difference_rows(evaluation)
            if differences:
                st.markdown("Paired differences on shared cases (later − earlier), bootstrap 95% intervals")
                st.dataframe(
                    differences, key=f"ev_rep_diff_{record.evaluation_id}", hide_index=True, width="stretch"
                )


st.title("Evaluation")
st.caption(
    "Acceptance (accepted ÷ decided) is a proxy for precision: it says how often reviewers agreed a flag was "
    "worth raising. Each figure shows the counts it comes from; a rate with nothing decided reads None."
)
ui.disclaimer_banner()
viewer = ui.guard("evaluation")
store = ui.store()

with ui.errors_shown():
    totals(store)
    # Each breakdown has the page's width: side by side, their tables were cut off at 1280 px.
    acceptance_section("By flag type", evaluation.acceptance(store, "flag_type"), "flag_type", "type")
    acceptance_section("By label", evaluation.acceptance(store, "label"), "label", "label")
    columns = st.columns([2, 3])
    with columns[0]:
        dismissal_reasons(store)
    with columns[1]:
        reviewer_agreement(store)
    backends(store)
    eval_runs(store)
    grounder_comparisons(store)
    report_generators(store)
