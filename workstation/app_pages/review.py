"""Review: the image first, with the auditor's boxes, and beside it each flag as a card to accept
or dismiss; the draft as the parser read it below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial

import streamlit as st

from data.records import MAX_NOTE_CHARS, REASON_CODE_NAMES, REASON_CODES, DraftKind
from data.store import Store
from workstation import access, generated, review_actions, review_image, services, session, ui
from workstation.overlay import View
from workstation.review_view import FlagCard, Layers, ReviewContext, choice_index, decision_text, flag_heading
from workstation.text import md

SHORTCUTS = {
    "j": "next case, in the worklist's filtered order",
    "k": "previous case",
    "n": "next case with flags you have not decided",
    "a": "accept the focused flag",
    "d": "dismiss the focused flag",
    "?": "this list",
    "Enter / Esc": "leave a text box (keys typed there stay text)",
}
CSS = """
.stMainBlockContainer { padding: 3.9rem 1.5rem 2rem 1.5rem; }
.stMainBlockContainer h1 { font-size: 1.5rem; padding: 0; }
.st-key-rv_canvas { padding-top: 2.1rem; }
.st-key-rv_flags { max-height: calc(100vh - 260px); overflow-y: auto; padding-right: 0.25rem; }
.st-key-rv_flags [data-testid="stVerticalBlockBorderWrapper"] { padding: 0.55rem 0.75rem; }
.cxr-draft.collapsed { max-height: 9.5em; overflow: hidden;
  mask-image: linear-gradient(to bottom, black 70%, transparent); }
"""


def case_to_open(store: Store) -> str:
    """The session's case (the worklist's first on a fresh session); an empty worklist ends the page."""
    case_id = st.session_state.get(session.CASE) or services.first_case(
        store, session.worklist_filters(st.session_state).query(paged=False)
    )
    if case_id is None:
        st.title("Review")
        st.info("The worklist is empty. Seed a demo worklist with `cxr-audit demo` or import cases.")
        st.stop()
    session.open_case(st.session_state, case_id)
    st.query_params.from_dict(session.url_params(st.session_state, case_id))
    return case_id


def open_context(
    store: Store,
    case_id: str,
    reviewer: str | None,
    blinded: bool,
    draft_kind: DraftKind | None,
    draft_author: str | None,
) -> ReviewContext:
    """The case's context; only a case never audited (nor audited ahead) waits, with a spinner saying why."""
    if store.audits.latest(case_id) is None:
        with st.spinner(
            f"Auditing {case_id} now: it has not been audited yet (reference grounder, rules parser)…"
        ):
            ui.auditor().ensure(store, case_id, ui.backends())
    return services.review_context(
        store,
        case_id,
        reviewer,
        backends=ui.backends(),
        blinded=blinded,
        draft_kind=draft_kind,
        draft_author=draft_author,
    )


def shortcuts() -> None:
    """The keys, in a popover the ? key opens."""
    with (
        st.container(key="rv_keys", width="content"),
        st.popover("", icon=":material/keyboard:", help="Keyboard shortcuts (?)"),
    ):
        for key, what in SHORTCUTS.items():
            st.markdown(f"**{key}** · {what}")


def header(context: ReviewContext, reviewer: str | None) -> None:
    """The case id and what it is; Previous (k), Next (j), Next to do (n) and the keys."""
    case_id = context.case.case_id
    st.title(md(case_id))
    st.caption(md(context.title))
    with st.container(horizontal=True, gap="small"):
        st.button("Previous", key="rv_prev", shortcut="k", on_click=review_actions.step, args=(case_id, -1))
        st.button(
            "Next",
            key="rv_next",
            shortcut="j",
            on_click=review_actions.step,
            args=(case_id, 1),
            type="primary",
        )
        st.button(
            "Next to do",
            key="rv_next_todo",
            shortcut="n",
            on_click=review_actions.next_with_work,
            args=(case_id,),
            disabled=reviewer is None,
            help="The next case with flags you have not decided",
        )
        shortcuts()


def authorship(store: Store, context: ReviewContext, kind: DraftKind | None, author: str | None) -> None:
    """Who wrote the draft, when a report generator did; report generations that failed here."""
    for notice in generated.authorship_notices(store, context.audit, kind, author):
        st.info(notice, icon=":material/smart_toy:")
    for line in generated.failed_generations(store, context.case.case_id):
        st.text(line)


def banners(context: ReviewContext) -> None:
    """One line each, opening to the details: the disclaimer, a phantom, an audit that is not full."""
    if context.audited_now:
        audit = context.audit
        st.toast(f"First audit of {md(audit.case_id)} saved ({md(audit.grounder)} + {md(audit.parser)}).")
    ui.disclaimer_banner(key="rv_disclaimer")
    if context.case.is_phantom:
        ui.banner(
            "Synthetic phantom: a drawn model of a chest radiograph, not a patient image",
            str(context.case.metadata.get("note") or "") or None,
            icon=":material/science:",
            key="rv_phantom",
        )
    for index, item in enumerate(context.summary.banners):
        icon = ":material/error:" if item.level == "error" else ":material/warning:"
        ui.banner(item.headline, item.text, icon=icon, key=f"rv_banner_{index}")


def flag_card(
    card: FlagCard, cards: Sequence[FlagCard], is_focused: bool, reviewer: str | None, case_id: str
) -> None:
    """One flag: type and label, reason, phrase and box, the decisions on it, reason, note, Accept/Dismiss."""
    with st.container(border=True, key=review_actions.card_key(card.flag_id)):
        title = st.columns([5, 2], vertical_alignment="center")
        focus_badge = "  :blue-badge[:material/keyboard: focused]" if is_focused else ""
        title[0].markdown(flag_heading(card.type, card.label) + focus_badge)
        if not is_focused:
            title[1].button(
                "Focus",
                key=f"focus_{card.flag_id}",
                on_click=review_actions.set_focus,
                args=(card.position, card.flag_id),
                width="stretch",
            )
        st.text(card.reason)
        st.text(f"Phrase: “{card.phrase}”" if card.phrase else "Phrase: none (the draft is silent)")
        st.caption(card.box_text)
        if card.mine is not None:
            mark = "✓" if card.mine.decision == "accept" else "✗"
            st.text(f"{mark} {decision_text(card.mine)}")
        for other in card.others:
            st.text(decision_text(other))
        if card.hidden_others:
            st.caption(f"Blinded reading: {card.hidden_others} other decision(s) hidden until you decide.")
        if is_focused:  # the reason and note go with the keys: the focused card has them
            st.pills(
                "Reason (optional)",
                REASON_CODES,
                format_func=REASON_CODE_NAMES.__getitem__,
                key=review_actions.reason_key(card.flag_id),
            )
            st.text_input(
                "Note (optional)",
                key=review_actions.note_key(card.flag_id),
                placeholder="Note (optional); Enter or Esc, then a or d",
                label_visibility="collapsed",
                max_chars=MAX_NOTE_CHARS,
            )
        buttons = st.columns(2)
        buttons[0].button(
            "Accept",
            key=f"accept_{card.flag_id}",
            shortcut="a" if is_focused else None,
            on_click=review_actions.decide,
            args=(card.flag_id, "accept", cards, case_id),
            disabled=reviewer is None,
            width="stretch",
            type="primary" if is_focused else "secondary",
        )
        buttons[1].button(
            "Dismiss",
            key=f"dismiss_{card.flag_id}",
            shortcut="d" if is_focused else None,
            on_click=review_actions.decide,
            args=(card.flag_id, "dismiss", cards, case_id),
            disabled=reviewer is None,
            width="stretch",
        )


def case_done(context: ReviewContext, cards: Sequence[FlagCard], reviewer: str | None) -> None:
    """What to do when there is nothing left: no flags (mark reviewed), or every flag decided."""
    if not cards:
        st.success("No flags: the draft agrees with the image findings. Press **j** for the next case.")
        if reviewer is not None:
            st.button(
                "Mark case reviewed",
                key="rv_mark_reviewed",
                on_click=review_actions.mark_reviewed,
                args=(context.case.case_id, reviewer),
            )
    elif reviewer is not None and all(card.decided for card in cards):
        st.success(
            "Case complete — **j** for the next, **n** for the next with flags left.",
            icon=":material/task_alt:",
        )


@st.fragment
def flag_panel(context: ReviewContext, reviewer: str | None, blinded: bool) -> None:
    """Every flag as a card (the focused one takes a and d), and what is left to do; a decision
    reruns only this panel."""
    ui.notice()
    cards = services.flag_cards_now(ui.store(), context.audit, reviewer, blinded=blinded)
    decided = sum(card.decided for card in cards)
    if reviewer is None:
        ui.require_reviewer("accept or dismiss flags")
    focused = session.focus(st.session_state, [card.decided for card in cards])
    with st.container(key="rv_flags"):
        st.subheader(f"Flags ({len(cards)})" + (f" · {decided} decided" if reviewer and cards else ""))
        for card in cards:
            flag_card(card, cards, card.position == focused, reviewer, context.case.case_id)
        case_done(context, cards, reviewer)
    st.toggle(
        "Auto-advance",
        key=session.AUTO_ADVANCE,
        persist_state="session",
        help="Open the next case as soon as every flag of this one is decided",
    )
    target = st.session_state.pop(session.SCROLL_TO, None)
    if target:
        nonce = int(st.session_state.get("rv_scrolls", 0)) + 1
        st.session_state["rv_scrolls"] = nonce
        ui.scroll_into_view(target, "rv_flags", nonce)


@st.fragment
def draft_panel(context: ReviewContext) -> None:
    """The draft with each parsed phrase highlighted (a long one collapsed), the parser's table, the notes."""
    st.subheader("Draft")
    draft = context.draft
    if draft is not None:
        whole = not draft.is_long or st.toggle(
            f"Show the whole draft ({draft.characters:,} characters)", key="rv_draft_whole"
        )
        html = (
            draft.html if whole else draft.html.replace('class="cxr-draft"', 'class="cxr-draft collapsed"', 1)
        )
        st.markdown(html, unsafe_allow_html=True)
        st.markdown(draft.legend, unsafe_allow_html=True)
        if draft.rows:
            st.dataframe(draft.rows, key="rv_reading", hide_index=True, width="stretch")
        else:
            st.caption("The parser found no label in this draft.")
    for note in context.summary.notes:
        st.text(f"Note: {note}")


def reaudit_panel(context: ReviewContext) -> None:
    audit = context.audit
    grounder = st.selectbox(
        "Grounder",
        context.grounders,
        key="rv_grounder",
        index=choice_index(context.grounders, audit.grounder),
    )
    parser = st.selectbox(
        "Parser", context.parsers, key="rv_parser", index=choice_index(context.parsers, audit.parser)
    )
    st.caption(md(context.run_caption))
    if st.button("Re-audit", key="rv_reaudit"):
        review_actions.reaudit(context.case.case_id, grounder, parser)


def details(context: ReviewContext) -> None:
    """The grounder's findings as a table, and a re-audit with other backends."""
    columns = st.columns(2)
    with columns[0], st.expander(f"Image findings ({md(context.audit.grounder)})", expanded=False):
        st.dataframe(context.findings, key="rv_findings", hide_index=True, width="stretch")
    with columns[1], st.expander("Re-audit with another backend", expanded=False):
        reaudit_panel(context)


def prefetch_next(store: Store, case_id: str) -> None:
    """Audit, decode and render the next case on the background worker, so j opens it at once."""
    query = session.worklist_filters(st.session_state).query(paged=False)
    target = services.neighbour(store, case_id, 1, query)
    if target is None:
        return
    view = replace(review_actions.current_view(), zoom=1.0, centre_x=0.5, centre_y=0.5)  # as j opens it
    warm = partial(_warm, store, target, review_image.layers_now(), view, ui.backends())
    ui.auditor().run_ahead(warm)


def _warm(store: Store, case_id: str, layers: Layers, view: View, backends: services.Backends) -> None:
    ui.auditor().ensure(store, case_id, backends)
    context = services.review_context(store, case_id, None, backends=backends)
    ui.warm_view(context.case, context.boxes(layers), view, context.orientation)


ui.notice()
viewer = ui.guard("review")
review_actions.show_callback_error()
store = ui.store()
reviewer = viewer.name

with ui.errors_shown():
    case_id = case_to_open(store)
    blinded = access.blinded(store, viewer)
    draft_kind, draft_author = generated.session_filter(st.session_state)
    context = open_context(store, case_id, reviewer, blinded, draft_kind, draft_author)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        review_image.image_panel(context, reviewer)
    with right:
        header(context, reviewer)
        authorship(store, context, draft_kind, draft_author)
        banners(context)
        flag_panel(context, reviewer, blinded)
    draft_panel(context)
    details(context)
    ui.keyboard_flow(CSS)  # last: a script element still takes a row's gap
    prefetch_next(store, case_id)
