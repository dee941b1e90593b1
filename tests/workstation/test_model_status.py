"""The Models page's facts (``workstation.model_status``): every backend listed, the CPU defaults
ready, and the smoke test of a parser and a grounder."""

from __future__ import annotations

from data.store import Store
from workstation import model_status, services


def test_models_page_lists_every_backend_and_the_cpu_defaults_are_ready() -> None:
    found = model_status.statuses()

    ready = {(item.kind, item.name) for item in found if item.ready}
    assert {("grounder", "reference"), ("parser", "rules")} <= ready
    rows = model_status.status_rows(found)
    assert {row["backend"] for row in rows} >= {"reference", "rules", "medgemma", "nemotron", "openai"}
    assert all(line.startswith("**") for line in model_status.needs_lines(found))


def test_the_smoke_test_runs_a_parser() -> None:
    result = model_status.smoke_parser(services.Backends().parser("rules"))

    assert result.ok
    assert "pleural_effusion present" in result.summary and "pneumothorax absent" in result.summary


def test_the_smoke_test_runs_a_grounder(store: Store) -> None:
    result = model_status.smoke_grounder(
        services.Backends().grounder("reference"), store.audit_case("case-ptx")
    )

    assert result.ok and "pneumothorax" in result.summary
