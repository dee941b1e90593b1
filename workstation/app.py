"""CXR Draft Auditor's review workstation: ``streamlit run workstation/app.py`` (``./run.sh``).

The entry point sets up the page, the sidebar (who is working, the disclaimer) and the
navigation; each page lives in ``app_pages/``. Which pages exist depends on the mode and
the role (``workstation.access``): in shared mode nothing but the sign-in page is there
until someone signs in. Nothing here imports a model stack.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from audit import DISCLAIMER
from data.connection import resolve_db_path
from workstation import access, session, ui
from workstation.text import md

st.set_page_config(page_title="CXR Draft Auditor", page_icon=":material/radiology:", layout="wide")

mode = ui.mode()
st.session_state[session.SHARED] = mode == "shared"
session.init_from_url(st.session_state, st.query_params, shared=mode == "shared")
if mode == "shared" and session.PARAM_REVIEWER in st.query_params:
    del st.query_params[session.PARAM_REVIEWER]  # a name in the URL never chooses who acts
viewer = ui.viewer()


def page(path: str, title: str, icon: str, url_path: str, *, default: bool = False) -> st.Page:
    return st.Page(path, title=title, icon=f":material/{icon}:", url_path=url_path, default=default)


# Addresses used before (bookmarks, links in notes) open the start page. The start page itself
# lives at "/" (Streamlit serves the default page there, never at its own path).
OLD_ADDRESSES = ("worklist", "home", "index")


def _redirect(target: st.Page) -> None:
    st.switch_page(target, query_params=st.query_params.to_dict())


def old_addresses(start: st.Page) -> list[st.Page]:
    return [
        st.Page(partial(_redirect, start), title=f"{path} (old address)", url_path=path, visibility="hidden")
        for path in OLD_ADDRESSES
    ]


if viewer is None:
    pages = st.navigation([page("app_pages/sign_in.py", "Sign in", "login", "sign-in", default=True)])
else:
    student = viewer.is_student
    chosen: dict[str, list[tuple[access.Page, st.Page]]] = {
        "Review": [
            (
                (
                    "my_assignments",
                    page(
                        "app_pages/my_assignments.py",
                        "My assignments",
                        "assignment",
                        "start",
                        default=True,
                    ),
                )
                if student
                else (
                    "worklist",
                    page("app_pages/worklist.py", "Worklist", "checklist", "start", default=True),
                )
            ),
            ("review", page("app_pages/review.py", "Review", "radiology", "review")),
            ("teaching", page("app_pages/teaching.py", "Teaching", "school", "teaching")),
        ],
        "Class": [
            ("assignments", page("app_pages/assignments.py", "Assignments", "assignment_add", "assignments")),
            ("class", page("app_pages/class_view.py", "Class", "groups", "class")),
        ],
        "Results": [
            ("evaluation", page("app_pages/evaluation.py", "Evaluation", "monitoring", "evaluation")),
            (
                ("my_work", page("app_pages/my_work.py", "My work", "download", "export"))
                if student
                else ("export", page("app_pages/export.py", "Export", "download", "export"))
            ),
        ],
        "Setup": [("models", page("app_pages/models.py", "Models", "memory", "models"))],
    }
    visible = {
        group: [entry for key, entry in entries if viewer.may_open(key)] for group, entries in chosen.items()
    }
    visible["Review"] += old_addresses(chosen["Review"][0][1])
    pages = st.navigation({group: entries for group, entries in visible.items() if entries})

with st.sidebar:
    if mode == "local":
        st.session_state[session.REVIEWER_INPUT] = st.session_state.get(session.REVIEWER) or ""
        st.text_input(
            "Reviewer",
            key=session.REVIEWER_INPUT,
            on_change=session.take_reviewer_input,
            args=(st.session_state,),
            placeholder="your name",
            max_chars=session.MAX_REVIEWER_CHARS,
            help="Stored with every decision, reviewer box and student draft you make in this session.",
        )
        name = viewer.name if viewer else None
        if name:
            st.caption(f"Reviewing as **{md(name)}**")
            st.query_params[session.PARAM_REVIEWER] = name
    elif viewer is not None:
        st.caption(f"Signed in as **{md(viewer.name)}** · {viewer.role}")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            ui.sign_out(viewer)
    st.caption(f":material/school: {DISCLAIMER}")
    if mode == "local":
        st.caption(f"Database: {md(resolve_db_path())}")
    else:
        st.caption("Shared mode: sign-in, roles and an audit trail.")

pages.run()
