"""The Models page's facts and the error messages, without Streamlit."""

from __future__ import annotations

import pytest

from data.errors import DatabaseLockedError, ImageLoadError, WriteConflictError
from data.store import Store
from models.errors import BackendUnavailableError, UnknownBackendError
from workstation import messages, model_status, services


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


@pytest.mark.parametrize(
    ("error", "headline", "next_step"),
    [
        (DatabaseLockedError("/x.duckdb", 4242, "python3"), "in use by process 4242", "close that process"),
        (ImageLoadError("/img.png", "file not found"), "image could not be read", "PNG, JPEG or DICOM"),
        (
            WriteConflictError("record a decision", 8, "conflict"),
            "Nothing was saved",
            "press the button again",
        ),
        (UnknownBackendError("grounder", "gpt", ["reference"]), "No grounder called 'gpt'", "reference"),
        (BackendUnavailableError("needs torch"), "cannot run on this machine", "Models page"),
        (
            ModuleNotFoundError("No module named 'torch'", name="torch"),
            "torch is not installed",
            "pip install",
        ),
    ],
    ids=["locked", "image", "write-conflict", "unknown-backend", "unavailable", "missing-package"],
)
def test_every_handled_error_becomes_a_message_with_a_next_step(
    error: BaseException, headline: str, next_step: str
) -> None:
    assert isinstance(error, messages.HANDLED)

    message = messages.describe(error)

    assert headline in message.headline
    assert next_step in message.next_step
    assert str(error) == message.detail
    assert "What to do" in message.as_markdown()
