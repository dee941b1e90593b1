"""Hostile text renders as text on every page: case ids, reviewer names, notes, drafts, impressions
and assignment names that carry Markdown links, Streamlit colour directives, icons, maths and
HTML are shown, escaped, never rendered as what they spell."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from audit.schema import Box
from data.assignments import Assignments
from data.records import CaseImport, CaseRecord, ReferenceFinding
from data.store import Store
from tests.workstation.conftest import IMAGE_SIZE, MARKDOWN_KINDS, no_exceptions, shown, write_image
from workstation import services
from workstation.text import html, md

LINK = "[x](http://evil.example)"
HOSTILE_CASE = ":red[case]-9"
HOSTILE_NAME = "[me](http://evil.example) :red[boss]"
HOSTILE_NOTE = f"see {LINK} **now** :material/home: $x^2$ <b>bold</b>"
HOSTILE_DRAFT = f"Right pneumothorax. {LINK} :red[alarm] :material/warning: $e^x$ <script>alert(1)</script>"
# The hostile constructs as Streamlit would act on them; escaped, none of them survives verbatim.
PAYLOADS = (
    "[x](http://evil",
    "[me](http",
    ":red[case]",
    ":red[boss]",
    ":red[alarm]",
    ":material/home:",
    ":material/warning:",
    "$x^2$",
    "$e^x$",
    "<b>",
    "<script",
    "**now**",
)


def _live(value: str) -> list[str]:
    return [payload for payload in PAYLOADS if payload in value]


def _markdown_sources(at: AppTest) -> list[str]:
    """Every string the app handed to Streamlit as Markdown: bodies, titles, alerts, labels."""
    values: list[str] = []
    for kind in MARKDOWN_KINDS:
        values.extend(str(item.value) for item in getattr(at, kind))
        values.extend(str(item.value) for item in getattr(at.sidebar, kind))
    values.extend(str(t.value) for t in at.toast)
    values.extend(e.label for e in at.expander)
    for kind in ("button", "text_input", "text_area", "selectbox", "toggle", "number_input"):
        values.extend(str(w.label) for w in getattr(at, kind))
    return values


def _draft_html(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "cxr-draft" in m.value]


@pytest.fixture
def hostile(app_db: Store, tmp_path_factory: pytest.TempPathFactory) -> Store:
    path = tmp_path_factory.mktemp("hostile") / "hostile.png"
    write_image(path, 9)
    app_db.cases.upsert_many(
        [
            CaseImport(
                case=CaseRecord(
                    case_id=HOSTILE_CASE,
                    image_id=f"{LINK}.png",
                    image_path=str(path),
                    width=IMAGE_SIZE[0],
                    height=IMAGE_SIZE[1],
                    source="test",
                ),
                findings=(
                    ReferenceFinding(
                        label="pneumothorax", box=Box(x0=0.1, y0=0.1, x1=0.4, y1=0.5), source="reference:test"
                    ),
                ),
            )
        ]
    )
    app_db.drafts.add(HOSTILE_CASE, HOSTILE_DRAFT, kind="human", author=HOSTILE_NAME)
    audit, _ = services.ensure_audited(app_db, HOSTILE_CASE)
    app_db.decisions.record(audit.flag_ids[0], HOSTILE_NAME, "dismiss", note=HOSTILE_NOTE)
    app_db.reviewer_findings.add(
        HOSTILE_CASE, HOSTILE_NAME, "nodule_mass", Box(x0=0.5, y0=0.5, x1=0.6, y1=0.6), note=HOSTILE_NOTE
    )
    Assignments(app_db).create(HOSTILE_NOTE, [HOSTILE_CASE], created_by=HOSTILE_NAME, everyone=True)
    app_db.drafts.add(HOSTILE_CASE, HOSTILE_DRAFT, kind="student", author=HOSTILE_NAME)
    return app_db


def _page(app: Callable[..., AppTest], page: str) -> AppTest:
    at = app(page, reviewer=HOSTILE_NAME, case=HOSTILE_CASE)
    if page == "teaching":
        at.text_input(key="tc_search").input("red").run()
    return at


@pytest.mark.parametrize(
    "page", ["worklist", "review", "teaching", "evaluation", "export", "models", "assignments", "class_view"]
)
def test_hostile_values_render_as_text_on_every_page(
    app: Callable[..., AppTest], hostile: Store, page: str
) -> None:
    at = _page(app, page)

    no_exceptions(at)
    live = [value for value in _markdown_sources(at) if _live(value)]
    assert not live, live
    every = "\n".join(shown(v) for v in _markdown_sources(at))
    assert f"Reviewing as **{HOSTILE_NAME}**" in every  # shown, as typed, in the sidebar
    if page == "review":
        plain = [str(item.value) for item in at.text]  # st.text: never Markdown
        assert HOSTILE_CASE in every and any("see [x](http://evil.example) **now**" in t for t in plain)
        (draft,) = _draft_html(at)
        assert not _live(draft) and ":material/" not in draft
        assert html("<script>alert(1)</script>") in draft


def test_the_escape_helper_leaves_no_markdown_or_directive_intact() -> None:
    for value in (
        LINK,
        HOSTILE_CASE,
        HOSTILE_NOTE,
        "# heading",
        "- item",
        "1. item",
        "> quote",
        "`code`",
        "www.evil.example",
    ):
        escaped = md(value)
        assert not _live(escaped) and not re.match(r"[#>`-]|\d+\.", escaped)
        assert shown(escaped) == " ".join(value.split())
    assert md("two\nlines") == "two lines"


@pytest.mark.parametrize("page", ["my_assignments", "teaching", "my_work"])
def test_hostile_values_render_as_text_on_the_student_pages(
    shared_app: Callable[..., AppTest], shared_db: Store, page: str
) -> None:
    Assignments(shared_db).create(HOSTILE_NOTE, ["case-ptx"], created_by=HOSTILE_NAME, everyone=True)
    shared_db.drafts.add("case-ptx", HOSTILE_DRAFT, kind="student", author="sam")

    at = shared_app("sam", page)

    no_exceptions(at)
    live = [value for value in _markdown_sources(at) if _live(value)]
    assert not live, live
    if page == "my_assignments":
        assert any(shown(s.value) == " ".join(HOSTILE_NOTE.split()) for s in at.subheader)
