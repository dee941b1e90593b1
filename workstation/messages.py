"""The app's one boundary for errors: typed errors from the layers below become human messages.

Pages never show a traceback for these: they show the message's headline, the detail the
lower layer wrote (which already says what happened) and what the reviewer can do next.
Anything not listed here is a bug and is left to Streamlit's own error display.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.errors import (
    DatabaseLockedError,
    DataError,
    ExportError,
    ImageLoadError,
    NotADatabaseError,
    SchemaTooNewError,
    StoreError,
    UnknownCaseError,
    UnknownRecordError,
    WriteConflictError,
)
from models.findings_file import FindingsFileError
from models.registry import BackendUnavailableError, UnknownBackendError
from models.settings import SettingsError


@dataclass(frozen=True)
class UserMessage:
    """What the reviewer reads: a headline, the lower layer's own words, and the next step."""

    headline: str
    detail: str
    next_step: str

    def as_markdown(self) -> str:
        return f"**{self.headline}**\n\n{self.detail}\n\n*What to do:* {self.next_step}"


# Errors the app turns into a message, most specific first.
HANDLED: tuple[type[BaseException], ...] = (
    DatabaseLockedError,
    SchemaTooNewError,
    NotADatabaseError,
    UnknownCaseError,
    UnknownRecordError,
    WriteConflictError,
    ImageLoadError,
    ExportError,
    StoreError,
    DataError,
    UnknownBackendError,
    BackendUnavailableError,
    SettingsError,
    FindingsFileError,
    ImportError,
)


def describe(error: BaseException) -> UserMessage:
    """The message for a handled error (see ``HANDLED``)."""
    detail = str(error)
    if isinstance(error, DatabaseLockedError):
        holder = f"process {error.pid}" if error.pid is not None else "another process"
        return UserMessage(
            f"The audit database is in use by {holder}",
            detail,
            "close that process (or let the CLI command finish), then reload this page; "
            "or restart the app with CXR_AUDIT_DB pointing at another file.",
        )
    if isinstance(error, SchemaTooNewError):
        return UserMessage(
            "The audit database is from a newer version",
            detail,
            "upgrade CXR Draft Auditor, or start the app with CXR_AUDIT_DB pointing at another file.",
        )
    if isinstance(error, NotADatabaseError):
        return UserMessage(
            "The audit database file cannot be opened",
            detail,
            "check CXR_AUDIT_DB names a DuckDB file written by cxr-audit, or point it at a new file.",
        )
    if isinstance(error, UnknownCaseError | UnknownRecordError):
        return UserMessage(
            "That record is no longer in the database",
            detail,
            "go back to the Worklist and open a case from there.",
        )
    if isinstance(error, WriteConflictError):
        return UserMessage("Nothing was saved", detail, "press the button again.")
    if isinstance(error, ImageLoadError):
        return UserMessage(
            "The image could not be read",
            detail,
            "check that the file exists and is a PNG, JPEG or DICOM image; the draft and flags still show.",
        )
    if isinstance(error, ExportError):
        return UserMessage("The export could not be written", detail, "try another format or scope.")
    if isinstance(error, DataError):
        return UserMessage("The audit database could not do that", detail, "reload the page and try again.")
    if isinstance(error, UnknownBackendError):
        return UserMessage(
            f"No {error.kind} called {error.name!r}",
            detail,
            f"choose one of: {', '.join(error.valid)}.",
        )
    # Before BackendUnavailableError, which it specializes.
    if isinstance(error, FindingsFileError):
        return UserMessage(
            "The findings file cannot be used",
            detail,
            "set findings_path in the settings file or CXR_AUDIT_FINDINGS_PATH, then reload; "
            "or choose another grounder.",
        )
    if isinstance(error, BackendUnavailableError):
        return UserMessage(
            "That backend cannot run on this machine",
            detail,
            "see the Models page for what it needs, or use the CPU defaults (reference + rules).",
        )
    if isinstance(error, SettingsError):
        return UserMessage(
            "The backend settings are invalid",
            detail,
            "fix the settings file or the CXR_AUDIT_* environment variables, then reload.",
        )
    if isinstance(error, ImportError):
        missing = getattr(error, "name", None) or "a package"
        return UserMessage(
            f"{missing} is not installed",
            detail,
            f"install it (`pip install {missing}` or ./run.sh), or use the CPU defaults (no model stack).",
        )
    return UserMessage("Something went wrong", detail, "reload the page.")
