"""The app (``workstation/app.py``) under AppTest: every page renders without an exception and
shows the disclaimer, the sidebar's reviewer stays named from page to page, a database held
elsewhere gives a message naming its holder, and the app never imports torch to start."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit import DISCLAIMER
from data.connection import ENV_DB
from tests.workstation.conftest import APP_SCRIPT, PAGES, no_exceptions, shown

REPO_ROOT = APP_SCRIPT.parents[1]

TITLES = {
    "worklist": "Worklist",
    "review": "case-eff",  # the first case in the worklist's order opens when none is chosen
    "teaching": "Teaching",
    "evaluation": "Evaluation",
    "export": "Export",
    "models": "Models",
}


@pytest.mark.parametrize("page", PAGES, ids=PAGES)
def test_each_page_renders_with_its_title_and_the_disclaimer(app: Callable[..., AppTest], page: str) -> None:
    at = app(page)

    no_exceptions(at)
    assert [shown(title.value) for title in at.title] == [TITLES[page]]
    assert any(DISCLAIMER in caption.value for caption in at.sidebar.caption)


@pytest.mark.parametrize("page", PAGES, ids=PAGES)
def test_each_page_renders_before_a_reviewer_is_named(app: Callable[..., AppTest], page: str) -> None:
    at = app(page, reviewer=None)

    no_exceptions(at)


def test_the_app_starts_without_importing_torch(seeded_db: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({str(APP_SCRIPT)!r}, default_timeout=60)
        at.run()
        for page in ("review", "teaching", "evaluation", "export", "models"):
            at.switch_page(f"app_pages/{{page}}.py").run()
            assert not at.exception, (page, [e.value for e in at.exception])
        print("torch" in sys.modules)
        """
    )
    env = {**os.environ, ENV_DB: str(seeded_db)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_a_database_held_by_another_process_gives_a_message_naming_it(
    seeded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(seeded_db)!r}); "
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setenv(ENV_DB, str(seeded_db))
        at = AppTest.from_file(str(APP_SCRIPT), default_timeout=60)
        at.run()
    finally:
        holder.kill()
        holder.wait(timeout=10)

    no_exceptions(at)
    (error,) = at.error
    assert "in use by process" in error.value
    assert str(holder.pid) in error.value
    assert "What to do" in error.value


def test_the_reviewer_named_in_the_sidebar_stays_named_on_every_page(app: Callable[..., AppTest]) -> None:
    at = app("worklist", reviewer=None)
    at.sidebar.text_input(key="reviewer_input").input("  Ana  Lima ").run()

    at.text_input(key="wl_find").input("case-ptx").run()
    at.button(key="wl_open").click().run()  # st.switch_page drops the page's widget state

    assert not at.info, [info.value for info in at.info]
    accept_buttons = [button for button in at.button if button.key.startswith("accept_")]
    assert accept_buttons and not any(button.disabled for button in accept_buttons)
    assert at.query_params["reviewer"] == "Ana Lima"
    for page in ("teaching", "evaluation", "worklist"):
        at.switch_page(f"app_pages/{page}.py").run()
        assert at.sidebar.text_input(key="reviewer_input").value == "Ana Lima", page
