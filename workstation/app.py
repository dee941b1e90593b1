"""CXR Draft Auditor's review workstation: ``streamlit run workstation/app.py``.

The entry point sets up the page, the sidebar (reviewer, disclaimer, database) and the
navigation; each page lives in ``app_pages/``. Nothing here imports a model stack.
"""

from __future__ import annotations

import streamlit as st

from audit import DISCLAIMER
from data.connection import resolve_db_path
from workstation import session

st.set_page_config(page_title="CXR Draft Auditor", page_icon=":material/radiology:", layout="wide")

session.init_from_url(st.session_state, st.query_params)

pages = st.navigation(
    {
        "Review": [
            st.Page(
                "app_pages/worklist.py",
                title="Worklist",
                icon=":material/checklist:",
                url_path="worklist",
                default=True,
            ),
            st.Page("app_pages/review.py", title="Review", icon=":material/radiology:", url_path="review"),
            st.Page("app_pages/teaching.py", title="Teaching", icon=":material/school:", url_path="teaching"),
        ],
        "Results": [
            st.Page(
                "app_pages/evaluation.py",
                title="Evaluation",
                icon=":material/monitoring:",
                url_path="evaluation",
            ),
            st.Page("app_pages/export.py", title="Export", icon=":material/download:", url_path="export"),
        ],
        "Setup": [
            st.Page("app_pages/models.py", title="Models", icon=":material/memory:", url_path="models")
        ],
    }
)

with st.sidebar:
    st.session_state[session.REVIEWER_INPUT] = st.session_state.get(session.REVIEWER) or ""
    st.text_input(
        "Reviewer",
        key=session.REVIEWER_INPUT,
        on_change=session.take_reviewer_input,
        args=(st.session_state,),
        placeholder="your name",
        help="Stored with every decision, reviewer box and student draft you make in this session.",
    )
    name = session.reviewer(st.session_state)
    if name:
        st.caption(f"Reviewing as **{name}**")
        st.query_params[session.PARAM_REVIEWER] = name
    st.caption(f":material/school: {DISCLAIMER}")
    st.caption(f"Database: `{resolve_db_path()}`")

pages.run()
