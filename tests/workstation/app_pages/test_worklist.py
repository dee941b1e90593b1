"""The Worklist page under AppTest: progress and totals, search, opening a case in Review, and
auditing a page of cases on request."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from data.store import Store
from tests.workstation.conftest import no_exceptions, shown


def test_worklist_shows_progress_and_every_case(app: Callable[..., AppTest]) -> None:
    at = app("worklist")

    assert at.get("progress")[0].proto.text == "0 of 4 reviewed by you"  # ana's own decisions
    assert [metric.value for metric in at.metric][:2] == ["4", "4"]  # cases matching, not audited


def test_worklist_search_filters_cases(app: Callable[..., AppTest]) -> None:
    at = app("worklist")

    at.text_input(key="wl_search").input("phantom").run()

    assert at.selectbox(key="wl_pick").options == ["case-phantom"]


def test_open_in_review_switches_to_the_chosen_case(app: Callable[..., AppTest]) -> None:
    at = app("worklist")

    at.selectbox(key="wl_pick").select("case-ptx").run()
    at.button(key="wl_open").click().run()

    no_exceptions(at)
    assert [shown(title.value) for title in at.title] == ["case-ptx"]


def test_the_worklist_audits_its_page_on_request(app: Callable[..., AppTest], app_db: Store) -> None:
    at = app("worklist")

    at.button(key="wl_audit_page").click().run()

    no_exceptions(at)
    assert all(
        app_db.audits.latest(case_id) is not None for case_id in ("case-eff", "case-ptx", "case-phantom")
    )
    assert [metric.value for metric in at.metric][1] == "0"  # nothing left not audited
    assert not [button for button in at.button if button.key == "wl_audit_page"]
