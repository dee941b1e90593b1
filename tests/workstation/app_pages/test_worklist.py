"""The Worklist page under AppTest: progress and totals, filters that stay for the session, a
search of the whole worklist, opening a case in Review, and cases audited in the background."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from data.store import Store
from tests.workstation.conftest import no_exceptions, shown
from workstation import ui


def test_worklist_shows_progress_and_every_case(app: Callable[..., AppTest]) -> None:
    at = app("worklist")

    assert at.get("progress")[0].proto.text == "0 of 4 reviewed by you"  # ana's own decisions
    assert [metric.value for metric in at.metric][:2] == ["4", "4"]  # cases matching, not audited


def test_worklist_search_filters_cases(app: Callable[..., AppTest]) -> None:
    at = app("worklist")

    at.text_input(key="q").input("phantom").run()

    assert at.metric[0].value == "1"
    assert at.dataframe[0].value["Case"].tolist() == ["case-phantom"]


def test_the_finder_searches_the_whole_worklist_not_just_this_page(app: Callable[..., AppTest]) -> None:
    at = app("worklist")
    at.selectbox(key="rows").select(25).run()

    at.text_input(key="wl_find").input("EFF").run()

    assert at.selectbox(key="wl_pick").options == ["case-eff"]


def test_open_in_review_switches_to_the_chosen_case(app: Callable[..., AppTest]) -> None:
    at = app("worklist")

    at.text_input(key="wl_find").input("case-ptx").run()
    at.button(key="wl_open").click().run()

    no_exceptions(at)
    assert [shown(title.value) for title in at.title] == ["case-ptx"]


def test_the_filters_stay_when_the_reviewer_comes_back_from_review(app: Callable[..., AppTest]) -> None:
    at = app("worklist")
    at.selectbox(key="images").select("real images only").run()
    at.text_input(key="wl_find").input("case-ptx").run()
    at.button(key="wl_open").click().run()

    at.switch_page("app_pages/worklist.py").run()

    assert at.selectbox(key="images").value == "real images only"
    assert at.metric[0].value == "3"  # the phantom stays filtered out


def test_cases_never_audited_are_audited_in_the_background(
    app: Callable[..., AppTest], app_db: Store
) -> None:
    at = app("worklist")
    ui.auditor().drain()

    at.run()

    no_exceptions(at)
    assert all(
        app_db.audits.latest(case_id) is not None
        for case_id in ("case-eff", "case-ptx", "case-normal", "case-phantom")
    )
    assert [metric.value for metric in at.metric][1] == "0"  # nothing left not audited
