"""The app's services without Streamlit (``workstation.services``): auditing on open, the
Review page's context and flag cards, decisions, reviewer boxes drawn, moved and deleted,
worklist rows, moving through the worklist and searching it, on a temporary database with
the CPU defaults."""

from __future__ import annotations

from audit.schema import Box
from data.records import WorklistQuery
from data.store import Store
from data.worklist import worklist_page
from workstation import services
from workstation.canvas import BoxEdits


def test_ensure_audited_audits_a_new_case_once_and_saves_the_run(store: Store) -> None:
    first, made = services.ensure_audited(store, "case-ptx")
    again, made_again = services.ensure_audited(store, "case-ptx")

    assert (made, made_again) == (True, False)
    assert again.run_id == first.run_id
    assert store.audits.run_ids("case-ptx") == [first.run_id]
    assert (first.grounder, first.parser) == ("reference", "rules")
    assert first.draft_id == store.drafts.default("case-ptx").draft_id  # type: ignore[union-attr]


def test_audit_and_save_uses_the_backends_given(store: Store) -> None:
    backends = services.Backends()
    stored = services.audit_and_save(
        store, "case-eff", backends.grounder("reference"), backends.parser("rules")
    )

    assert [(flag.type, flag.label) for flag in stored.report.flags] == [("UNSUPPORTED", "cardiomegaly")]
    assert len(stored.flag_ids) == 1


def _draw(store: Store, case_id: str, reviewer: str, *boxes: tuple[str, Box]) -> None:
    services.save_box_edits(store, case_id, reviewer, BoxEdits(added=boxes), note=None, run_id=None)  # type: ignore[arg-type]


def test_the_review_context_holds_what_the_review_page_shows(store: Store) -> None:
    first = services.review_context(store, "case-ptx", "ana")
    cards = services.flag_cards_now(store, first.audit, "ana")
    services.decide(store, cards[0].flag_id, "ana", "accept")
    services.decide(store, cards[1].flag_id, "bo", "dismiss")
    _draw(store, "case-ptx", "bo", ("nodule_mass", Box(x0=0.6, y0=0.2, x1=0.8, y1=0.4)))

    again = services.review_context(store, "case-ptx", "ana")
    cards = services.flag_cards_now(store, again.audit, "ana")

    assert (first.audited_now, again.audited_now) == (True, False)  # audited on opening, once
    assert again.audit.run_id == first.audit.run_id
    assert (again.case.case_id, again.title) == ("case-ptx", services.case_title(store.cases.get("case-ptx")))
    assert [card.type for card in cards] == ["URGENT", "MISSING"]
    assert [card.decided for card in cards] == [True, False]  # bo's decision is someone else's
    assert [other.reviewer for other in cards[1].others] == ["bo"]
    assert [(item.label, item.source) for item in again.references] == [("pneumothorax", "reference:test")]
    assert [item.reviewer for item in again.drawn] == ["bo"]
    assert again.draft is not None and 'data-label="pneumothorax"' in again.draft.html
    assert [row["Label"] for row in again.findings] == ["pneumothorax"]
    assert again.summary.banners == ()
    assert "reference" in again.grounders and "rules" in again.parsers


def test_decisions_are_append_only_and_the_newest_counts(store: Store) -> None:
    stored, _ = services.ensure_audited(store, "case-eff")
    (flag_id,) = stored.flag_ids

    services.decide(store, flag_id, "ana", "accept")
    services.decide(store, flag_id, "ana", "dismiss", reason_code="clinically_insignificant", note=" mild ")

    current = store.decisions.current_for(flag_id, "ana")
    assert current is not None and (current.decision, current.reason_code, current.note) == (
        "dismiss",
        "clinically_insignificant",
        "mild",
    )
    assert len(store.decisions.history(flag_id)) == 2


def test_a_missed_finding_is_stored_with_its_reviewer_box_and_run(store: Store) -> None:
    stored, _ = services.ensure_audited(store, "case-normal")
    box = Box(x0=0.6, y0=0.2, x1=0.8, y1=0.4)

    services.save_box_edits(
        store, "case-normal", "ana", BoxEdits(added=(("nodule_mass", box),)), note="  ", run_id=stored.run_id
    )

    (found,) = store.reviewer_findings.for_case("case-normal")
    assert (found.reviewer, found.label, found.box, found.note, found.run_id) == (
        "ana",
        "nodule_mass",
        box,
        None,
        stored.run_id,
    )


def test_a_moved_box_shows_where_it_went_and_a_deleted_one_is_kept_as_deleted(store: Store) -> None:
    _draw(store, "case-ptx", "ana", ("nodule_mass", Box(x0=0.1, y0=0.1, x1=0.2, y1=0.2)))
    _draw(store, "case-ptx", "ana", ("pneumothorax", Box(x0=0.5, y0=0.5, x1=0.6, y1=0.6)))
    nodule, ptx = services.review_context(store, "case-ptx", "ana").drawn
    moved_to = Box(x0=0.15, y0=0.1, x1=0.3, y1=0.25)

    services.save_box_edits(
        store,
        "case-ptx",
        "ana",
        BoxEdits(moved=((nodule, moved_to),), deleted=(ptx,)),
        note=None,
        run_id=None,
    )

    context = services.review_context(store, "case-ptx", "ana")
    assert [(box.finding_id, box.box) for box in context.drawn] == [(nodule.finding_id, moved_to)]
    (gone,) = context.deleted
    assert (gone.finding.finding_id, gone.deleted_by) == (ptx.finding_id, "ana")
    kept = store.read(lambda cur: cur.execute("SELECT count(*) FROM reviewer_findings").fetchone())
    assert kept == (2,)  # nothing was removed from the database


def test_worklist_rows_use_display_names_mark_phantoms_and_count_flags_by_type(store: Store) -> None:
    services.ensure_audited(store, "case-phantom")

    page = worklist_page(store, WorklistQuery(search="phantom"))
    (row,) = services.worklist_rows(page)

    assert all("_" not in column for column in row)  # no snake_case reaches the table
    assert row["Image"].endswith("(synthetic phantom)")
    assert (row["Urgent"], row["Missing"], row["Status"], row["Decided"]) == (1, 0, "audited", "0 / 1")


def test_case_title_marks_a_phantom(store: Store) -> None:
    assert services.case_title(store.cases.get("case-phantom")).endswith("synthetic phantom")
    assert "phantom" not in services.case_title(store.cases.get("case-ptx"))


def test_first_case_and_neighbours_follow_the_worklist_order(store: Store) -> None:
    first = services.first_case(store)

    assert first == worklist_page(store).rows[0].case_id
    assert services.neighbour(store, first, -1) is None  # type: ignore[arg-type]
    assert services.neighbour(store, first, 1) == worklist_page(store).rows[1].case_id  # type: ignore[arg-type]


def test_next_with_work_skips_cases_this_reviewer_has_decided(store: Store) -> None:
    for case_id in ("case-ptx", "case-eff", "case-normal", "case-phantom"):
        services.ensure_audited(store, case_id)
    order = [row.case_id for row in worklist_page(store).rows]
    done = store.audits.latest(order[1])
    assert done is not None
    for flag_id in done.flag_ids:
        services.decide(store, flag_id, "ana", "accept")
    with_flags = [c for c in order if store.audits.latest(c).flag_ids and c != order[1]]  # type: ignore[union-attr]

    target, wrapped = services.next_with_work(store, order[0], "ana")

    assert target == next(c for c in order[1:] if c in with_flags)
    assert not wrapped
    assert (
        services.next_with_work(store, order[0], "bo")[0]
        == next(  # bo has decided nothing
            c
            for c in order[1:]
            if store.audits.latest(c).flag_ids  # type: ignore[union-attr]
        )
    )


def test_next_with_work_goes_round_to_the_top_and_says_so(store: Store) -> None:
    for case_id in ("case-ptx", "case-eff", "case-normal", "case-phantom"):
        services.ensure_audited(store, case_id)
    order = [row.case_id for row in worklist_page(store).rows]
    first_with_flags = next(c for c in order if store.audits.latest(c).flag_ids)  # type: ignore[union-attr]

    assert services.next_with_work(store, order[-1], "ana") == (first_with_flags, True)


def test_audit_not_audited_audits_only_new_cases_and_reports_progress(store: Store) -> None:
    services.ensure_audited(store, "case-ptx")
    seen: list[tuple[int, int, str]] = []

    made = services.audit_not_audited(
        store, ["case-ptx", "case-eff"], on_progress=lambda i, n, case_id: seen.append((i, n, case_id))
    )

    assert made == 1
    assert seen == [(1, 2, "case-ptx"), (2, 2, "case-eff")]
    assert len(store.audits.run_ids("case-ptx")) == 1


def test_every_audit_run_records_the_checkpoint_profile_and_model_it_used(store: Store) -> None:
    from bench.fake_endpoint import FakeEndpoint, Reply, serve
    from models.registry import get_grounder
    from models.settings import BackendSettings

    answer = '[{"label": "pneumothorax", "box_2d": [0.08, 0.55, 0.40, 0.90]}]'
    with serve(FakeEndpoint(default=lambda request: Reply(content=answer))) as running:
        grounder = get_grounder("openai", BackendSettings(endpoint_url=running.url))
        stored = services.audit_and_save(store, "case-ptx", grounder, services.Backends().parser("rules"))
    assert stored.grounder == "openai"
    assert stored.grounder_version == (
        f"profile medgemma-cxr-auditor-v2; alex-feeel/medgemma-cxr-auditor-v2 at {running.url}"
    )
    assert store.audits.get(stored.run_id).grounder_version == stored.grounder_version  # read back
