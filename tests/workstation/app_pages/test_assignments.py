"""The Assignments page (educators): a named case set from a case list or a worklist filter, for
everyone or chosen students, with its progress; a bad one is refused with a message."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from data.assignments import Assignments
from data.store import Store
from tests.workstation.conftest import no_exceptions, shown


def test_an_assignment_from_a_case_list_is_created_once_and_listed(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    at = shared_app("erin", "assignments")
    at.text_input(key="as_name").input("Effusions")
    at.radio(key="as_from").set_value("a list of case ids").run()
    at.text_area(key="as_list").input("case-eff\ncase-normal, case-eff").run()
    at.button(key="as_create").click().run()

    no_exceptions(at)
    made = [a for a in Assignments(shared_db).all() if a.name == "Effusions"]
    assert [(a.n_cases, a.everyone) for a in made] == [(2, True)]
    assert at.text_input(key="as_name").value == ""  # emptied: a second click makes no twin
    assert any("Effusions · 2 cases" in shown(e.label) for e in at.expander)


def test_an_assignment_from_a_worklist_filter_takes_the_matching_cases_for_chosen_students(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    at = shared_app("erin", "assignments")
    at.text_input(key="as_name").input("Pneumothorax cases")
    at.selectbox(key="as_label").select("pneumothorax").run()
    at.toggle(key="as_everyone").set_value(False).run()
    at.multiselect(key="as_students").select("kim").run()
    at.button(key="as_create").click().run()

    (made,) = [a for a in Assignments(shared_db).all() if a.name == "Pneumothorax cases"]
    assert Assignments(shared_db).cases(made.assignment_id) == ["case-ptx"]
    assert made.students == ("kim",) and made.made_from == "filter: label pneumothorax"


def test_an_assignment_without_a_name_is_refused_with_a_message(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    before = len(Assignments(shared_db).all())
    at = shared_app("erin", "assignments")
    at.button(key="as_create").click().run()

    no_exceptions(at)
    assert any("needs a name" in shown(e.value) for e in at.error)
    assert len(Assignments(shared_db).all()) == before
