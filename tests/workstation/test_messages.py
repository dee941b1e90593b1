"""The error catalogue: one table, looked up through the class hierarchy, read by the app and the CLI."""

from __future__ import annotations

import pytest

from audit.errors import AuditError, ConfigMismatchError, IntegrityError
from data.errors import (
    DatabaseLockedError,
    DatabaseReadOnlyError,
    DataError,
    DraftRefusedError,
    ImageLoadError,
    NoteTooLongError,
    UnknownCaseError,
    WriteConflictError,
)
from models.errors import (
    BackendUnavailableError,
    BenchmarkDataError,
    EndpointUnavailableError,
    FindingsFileError,
    ModelError,
    SettingsError,
    UnknownBackendError,
)
from workstation import messages


class ProbeUnavailableError(BackendUnavailableError):
    """Made up for this test: a subclass nobody entered in the catalogue."""


def test_a_subclass_nobody_listed_gets_its_family_s_message() -> None:
    message = messages.describe(ProbeUnavailableError("needs a probe"))

    assert message.headline == "That backend cannot run on this machine"
    assert message.detail == "needs a probe"


def test_the_most_specific_entry_wins_whatever_order_the_table_is_in() -> None:
    specific = messages.describe(FindingsFileError("findings path /x does not exist"))
    general = messages.describe(BackendUnavailableError("needs torch"))

    assert specific.headline == "The findings file cannot be used"
    assert general.headline == "That backend cannot run on this machine"
    assert messages.remedy_for(UnknownCaseError("c1")) == (
        UnknownCaseError,
        messages.CATALOGUE[UnknownCaseError],
    )


@pytest.mark.parametrize(
    ("error", "headline"),
    [
        (IntegrityError("2 samples have more than one record"), "The evaluation cannot go on"),
        (AuditError("x"), "The audit core could not do what was asked"),
        (ModelError("x"), "A model backend could not be chosen, configured or run"),
        (BenchmarkDataError("gold file not found"), "The gold-standard file is missing"),
    ],
    ids=["evaluation", "audit", "model", "benchmark"],
)
def test_an_entry_without_a_headline_takes_the_class_docstring(error: Exception, headline: str) -> None:
    assert messages.describe(error).headline.startswith(headline)


@pytest.mark.parametrize(
    "error",
    [
        DataError("x"),
        ImageLoadError("/a.png", "truncated"),
        SettingsError("x"),
        EndpointUnavailableError("x"),
        ConfigMismatchError("x"),
        ModuleNotFoundError("No module named 'torch'", name="torch"),
        PermissionError(13, "Permission denied", "/root/x"),
    ],
    ids=["data", "image", "settings", "endpoint", "config-mismatch", "import", "os"],
)
def test_every_family_of_the_lower_layers_is_handled_by_the_app_and_the_cli(error: Exception) -> None:
    assert isinstance(error, messages.HANDLED)
    assert messages.describe(error).next_step
    assert messages.cli_line(error) is not None


def test_a_bug_is_not_in_the_catalogue() -> None:
    assert not isinstance(TypeError("x"), messages.HANDLED)
    assert messages.cli_line(TypeError("x")) is None
    assert messages.describe(TypeError("x")).headline == "Something went wrong"


def test_the_cli_line_leads_with_notes_ends_with_the_cli_step_and_has_no_line_break() -> None:
    error = BenchmarkDataError("gold file not found:\n/data/gold.csv")
    error.add_note("while scoring the rules parser")

    assert messages.cli_line(error) == (
        "while scoring the rules parser: gold file not found: /data/gold.csv "
        "(pass --data with the shared data folder)"
    )


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
        (NoteTooLongError(1_000_000, 2_000), "The note is too long", "shorten the note"),
        (DraftRefusedError("c1", "the draft is empty"), "The draft was not stored", "submit it again"),
        (DatabaseReadOnlyError("/x/audit.duckdb", "Permission denied"), "is read-only", "write access"),
    ],
    ids=[
        "locked",
        "image",
        "write-conflict",
        "unknown-backend",
        "unavailable",
        "missing-package",
        "note-too-long",
        "draft-refused",
        "read-only-database",
    ],
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


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "cannot load image /srv/cxr/data/nih/case-ptx.png: truncated",
            "cannot load image …/case-ptx.png: truncated",
        ),
        (
            "database /home/erin/.local/share/cxr-audit/audit.duckdb is locked",
            "database …/audit.duckdb is locked",
        ),
        ("see http://evil.example/a/b", "see http://evil.example/a/b"),
        ("either/or, 1/2, a / b", "either/or, 1/2, a / b"),
    ],
    ids=["image", "database", "url", "not-paths"],
)
def test_a_shared_server_cuts_absolute_paths_to_their_last_part(text: str, kept: str) -> None:
    assert messages.without_paths(text) == kept


def test_on_a_shared_server_an_error_names_the_file_but_not_its_folders() -> None:
    message = messages.describe(ImageLoadError("/srv/cxr/data/case-ptx.png", "truncated"))
    assert "srv" in message.as_markdown() and "srv" not in message.as_markdown(hide_paths=True)
    assert "ptx" in message.as_markdown(hide_paths=True)
