"""Evaluation (``workstation.evaluation``): acceptance per flag type and label, dismissal reasons,
reviewer agreement, backends and stored eval runs, counted from current decisions."""

from __future__ import annotations

import math

import pytest

from data.store import Store
from tests.workstation.conftest import add_unchecked_draft
from workstation import evaluation, services


@pytest.fixture
def store(store: Store) -> Store:
    """The seed cases, each audited once with the CPU defaults."""
    for case_id in ("case-ptx", "case-eff", "case-normal", "case-phantom"):
        services.ensure_audited(store, case_id)
    return store


def _flag(store: Store, case_id: str, position: int) -> int:
    stored = store.audits.latest(case_id)
    assert stored is not None
    return stored.flag_ids[position]


def test_acceptance_by_flag_type_counts_current_decisions_only(store: Store) -> None:
    urgent_ptx, missing_ptx = _flag(store, "case-ptx", 0), _flag(store, "case-ptx", 1)
    services.decide(store, urgent_ptx, "ana", "dismiss")
    services.decide(store, urgent_ptx, "ana", "accept")  # changed her mind: only this one counts
    services.decide(store, urgent_ptx, "bo", "accept")
    services.decide(store, missing_ptx, "ana", "dismiss", reason_code="draft_read_wrong")

    frame = evaluation.acceptance(store, "flag_type").set_index("flag_type")

    assert frame.loc["URGENT", ["latest_flags", "decisions", "accepted", "dismissed"]].tolist() == [
        2,
        2,
        2,
        0,
    ]
    assert frame.loc["URGENT", "acceptance_rate"] == 2 / 2  # both reviewers accept the ptx URGENT
    assert frame.loc["MISSING", "acceptance_rate"] == 0 / 1
    assert math.isnan(frame.loc["UNSUPPORTED", "acceptance_rate"])  # 1 flag, nothing decided: NaN, no error


def test_acceptance_by_label(store: Store) -> None:
    services.decide(store, _flag(store, "case-eff", 0), "ana", "dismiss")

    frame = evaluation.acceptance(store, "label").set_index("label")

    assert frame.loc["cardiomegaly", ["decisions", "dismissed", "acceptance_rate"]].tolist() == [1, 1, 0.0]
    assert frame.loc["pneumothorax", "latest_flags"] == 2


def test_acceptance_refuses_an_unknown_grouping(store: Store) -> None:
    with pytest.raises(ValueError, match="flag_type or label"):
        evaluation.acceptance(store, "reviewer")


def test_dismissal_reasons_count_a_missing_reason_too(store: Store) -> None:
    services.decide(store, _flag(store, "case-ptx", 0), "ana", "dismiss", reason_code="image_finding_wrong")
    services.decide(store, _flag(store, "case-ptx", 1), "ana", "dismiss")
    services.decide(store, _flag(store, "case-eff", 0), "ana", "dismiss", reason_code="image_finding_wrong")

    frame = evaluation.dismissal_reasons(store)

    assert frame.to_dict("records") == [
        {"reason": "image finding wrong", "dismissals": 2},
        {"reason": "no reason given", "dismissals": 1},
    ]


def test_agreement_between_two_reviewers(store: Store) -> None:
    flags = [_flag(store, "case-ptx", 0), _flag(store, "case-ptx", 1), _flag(store, "case-eff", 0)]
    for flag_id, (ana, bo) in zip(
        flags, [("accept", "accept"), ("dismiss", "dismiss"), ("accept", "dismiss")], strict=True
    ):
        services.decide(store, flag_id, "ana", ana)  # type: ignore[arg-type]
        services.decide(store, flag_id, "bo", bo)  # type: ignore[arg-type]
    services.decide(store, _flag(store, "case-phantom", 0), "ana", "accept")  # one reviewer only: not counted

    result = evaluation.agreement(store)

    assert (result.flags_with_several_reviewers, result.flags_all_agree) == (3, 2)
    assert result.rate == 2 / 3
    (pair,) = result.pairs.to_dict("records")
    assert (pair["reviewer_a"], pair["reviewer_b"], pair["shared_flags"], pair["agreed"]) == (
        "ana",
        "bo",
        3,
        2,
    )
    # ana accepts 2/3, bo 1/3: expected agreement 2/9 + 2/9 = 4/9; kappa = (2/3 - 4/9) / (1 - 4/9) = 0.4
    assert pair["kappa"] == pytest.approx(0.4)


def test_agreement_with_no_shared_flags_is_nan_not_an_error(store: Store) -> None:
    result = evaluation.agreement(store)

    assert result.flags_with_several_reviewers == 0
    assert math.isnan(result.rate)


def test_backends_count_runs_modes_and_failed_parses(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    add_unchecked_draft(store, monkeypatch, "case-normal", "", kind="human")  # the newest human draft: empty
    services.audit_and_save(
        store, "case-normal", services.Backends().grounder("reference"), services.Backends().parser("rules")
    )

    (row,) = evaluation.backends(store).to_dict("records")

    assert (row["grounder"], row["parser"], row["runs"], row["full_audits"]) == ("reference", "rules", 5, 4)
    assert (row["image_only"], row["failed_parses"], row["failed_groundings"]) == (1, 1, 0)
    assert row["flags"] == 4


def test_eval_runs_are_listed_with_scored_and_failed(store: Store) -> None:
    store.eval_runs.save(
        grounder="reference",
        parser="rules",
        seed=0,
        n_items=10,
        n_scored=9,
        n_failed=1,
        summary={"audit": {}},
    )

    (row,) = evaluation.eval_run_rows(store)

    assert (row["items"], row["scored"], row["failed"]) == (10, 9, 1)
