"""The error catalogue: one table from typed errors to human messages and next steps.

Both boundaries read it: the app shows ``st.error`` with the headline, the lower layer's own
words and what to do next; the CLI prints one line on stderr. An error is looked up through
its class hierarchy, so the most specific entry wins and a new subclass inherits its
family's message without anyone ordering a ladder. A headline left out is the class
docstring's first line. Anything not in the table is a bug: the app leaves it to
Streamlit's error display, and the CLI prints one line asking for a bug report.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.errors import AuditError, EvaluationError
from data.errors import (
    AccountError,
    AssignmentError,
    DatabaseLockedError,
    DatabaseReadOnlyError,
    DataError,
    DraftRefusedError,
    ExportError,
    ImageLoadError,
    NoDatabaseError,
    NotADatabaseError,
    NoteTooLongError,
    SchemaHistoryError,
    SchemaTooNewError,
    SchemaTooOldError,
    UnknownCaseError,
    UnknownRecordError,
    WriteConflictError,
)
from models.errors import (
    BackendUnavailableError,
    BenchmarkDataError,
    EndpointResponseError,
    EndpointUnavailableError,
    FindingsFileError,
    ModelError,
    SettingsError,
    UnknownBackendError,
    UnknownProfileError,
)
from workstation.text import md

# A fixed text, or a function of the error for text that names what the error carries.
Text = str | Callable[[Any], str]
# An absolute POSIX path (not the "//host/…" of a URL, nor "either/or"): on a shared server the
# machine's folders are the operator's, so a message keeps only the path's last part.
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~])/(?:[\w.~+-]+/)*([\w.~+-]+)")


def without_paths(text: str) -> str:
    """``text`` with each absolute path cut to its last part (``…/audit.duckdb``)."""
    return _ABSOLUTE_PATH.sub(lambda found: "…/" + found.group(1), text)


@dataclass(frozen=True)
class UserMessage:
    """What the reviewer reads: a headline, the lower layer's own words, and the next step."""

    headline: str
    detail: str
    next_step: str

    def as_markdown(self, *, hide_paths: bool = False) -> str:
        """For ``st.error``: the headline and detail (which may carry a case id or a name) as text;
        ``hide_paths`` (a shared server) cuts absolute paths to their last part."""
        clean = without_paths if hide_paths else str
        detail, step = clean(self.detail), clean(self.next_step)
        return f"**{md(self.headline)}**\n\n{md(detail)}\n\n*What to do:* {step}"


@dataclass(frozen=True)
class Remedy:
    """One catalogue entry. ``cli_step`` is the next step on the command line, where the
    app's (which may name pages and reloads) does not fit and the error's own message does
    not already say it; None adds nothing to the CLI line."""

    next_step: Text
    headline: Text | None = None
    cli_step: Text | None = None


def _holder(error: DatabaseLockedError) -> str:
    return f"process {error.pid}" if error.pid is not None else "another process"


def _missing_package(error: ImportError) -> str:
    return error.name or "a package"


_GONE = Remedy(
    headline="That record is no longer in the database",
    next_step="go back to the Worklist and open a case from there.",
)

CATALOGUE: dict[type[BaseException], Remedy] = {
    DatabaseLockedError: Remedy(
        headline=lambda error: f"The audit database is in use by {_holder(error)}",
        next_step="close that process (or let the CLI command finish), then reload this page; "
        "or restart the app with CXR_AUDIT_DB pointing at another file.",
    ),
    SchemaTooNewError: Remedy(
        headline="The audit database is from a newer version",
        next_step="upgrade CXR Draft Auditor, or start the app with CXR_AUDIT_DB pointing at another file.",
    ),
    SchemaHistoryError: Remedy(
        headline="The audit database was migrated by another build",
        next_step="start the app with CXR_AUDIT_DB pointing at another file, or use the build that wrote it.",
    ),
    SchemaTooOldError: Remedy(
        headline="The audit database needs an upgrade",
        next_step="open it once with a command that writes to it (cxr-audit import or demo), then reload.",
    ),
    DatabaseReadOnlyError: Remedy(
        headline="The audit database is read-only",
        next_step="ask for write access to the file, or start the app with CXR_AUDIT_DB pointing at a "
        "file you may write; cxr-audit export still reads it.",
    ),
    NoDatabaseError: Remedy(
        headline="There is no audit database there",
        next_step="check CXR_AUDIT_DB, or create one with cxr-audit demo or cxr-audit import.",
    ),
    NoteTooLongError: Remedy(
        headline="The note is too long", next_step="shorten the note and press the button again."
    ),
    DraftRefusedError: Remedy(
        headline="The draft was not stored",
        next_step="write a draft the auditor can read and submit it again.",
    ),
    NotADatabaseError: Remedy(
        headline="The audit database file cannot be opened",
        next_step="check CXR_AUDIT_DB names a DuckDB file written by cxr-audit, or point it at a new file.",
    ),
    UnknownCaseError: _GONE,
    UnknownRecordError: _GONE,
    WriteConflictError: Remedy(headline="Nothing was saved", next_step="press the button again."),
    ImageLoadError: Remedy(
        headline="The image could not be read",
        next_step="check that the file exists and is a PNG, JPEG or DICOM image; "
        "the draft and flags still show.",
    ),
    AccountError: Remedy(next_step="check the name with `cxr-audit users list`."),
    AssignmentError: Remedy(next_step="fix what the message names and create the assignment again."),
    ExportError: Remedy(headline="The export could not be written", next_step="try another format or scope."),
    DataError: Remedy(
        headline="The audit database could not do that", next_step="reload the page and try again."
    ),
    UnknownBackendError: Remedy(
        headline=lambda error: f"No {error.kind} called {error.name!r}",
        next_step=lambda error: f"choose one of: {', '.join(error.valid)}.",
    ),
    FindingsFileError: Remedy(
        headline="The findings file cannot be used",
        next_step="set findings_path in the settings file or CXR_AUDIT_FINDINGS_PATH, then reload; "
        "or choose another grounder.",
    ),
    UnknownProfileError: Remedy(
        headline=lambda error: f"No checkpoint profile called {error.name!r}",
        next_step=lambda error: f"choose one of: {', '.join(error.valid)}.",
    ),
    EndpointUnavailableError: Remedy(
        headline="The model server cannot be reached",
        next_step="start it (the Models page lists the commands) or fix endpoint_url in the settings, then "
        "try again; or use the CPU defaults (reference + rules).",
    ),
    EndpointResponseError: Remedy(
        headline="The model server refused the request",
        next_step="check the served model name and the API key in the settings (the Models page shows "
        "what each backend uses).",
    ),
    BackendUnavailableError: Remedy(
        headline="That backend cannot run on this machine",
        next_step="see the Models page for what it needs, or use the CPU defaults (reference + rules).",
    ),
    SettingsError: Remedy(
        headline="The backend settings are invalid",
        next_step="fix the settings file or the CXR_AUDIT_* environment variables, then reload.",
        cli_step="fix the settings file or the CXR_AUDIT_* environment variables",
    ),
    BenchmarkDataError: Remedy(
        next_step="point the benchmark at the shared data folder.",
        cli_step="pass --data with the shared data folder",
    ),
    ModelError: Remedy(next_step="see the Models page, or use the CPU defaults (reference + rules)."),
    EvaluationError: Remedy(next_step="use another output folder, or the settings of the run already in it."),
    AuditError: Remedy(next_step="check the input and try again."),
    ImportError: Remedy(
        headline=lambda error: f"{_missing_package(error)} is not installed",
        next_step=lambda error: (
            f"install it (`pip install {_missing_package(error)}` or ./run.sh), "
            "or use the CPU defaults (no model stack)."
        ),
        cli_step=lambda error: f"install it with `pip install {_missing_package(error)}` or ./run.sh",
    ),
    OSError: Remedy(
        headline="A file could not be read or written",
        next_step="check that the path exists and that you may read and write it.",
    ),
}

# What the app and the CLI catch: every family in the catalogue.
HANDLED: tuple[type[BaseException], ...] = tuple(CATALOGUE)


def remedy_for(error: BaseException) -> tuple[type[BaseException], Remedy] | None:
    """The entry of the nearest class in ``error``'s hierarchy, with that class; None if none."""
    for cls in type(error).__mro__:
        remedy = CATALOGUE.get(cls)
        if remedy is not None:
            return cls, remedy
    return None


def _text(text: Text, error: BaseException) -> str:
    return text if isinstance(text, str) else text(error)


def _docstring_headline(cls: type[BaseException]) -> str:
    return (inspect.getdoc(cls) or cls.__name__).splitlines()[0].rstrip(".")


def describe(error: BaseException) -> UserMessage:
    """The message for an error; one outside the catalogue gets a generic one."""
    found = remedy_for(error)
    if found is None:
        return UserMessage("Something went wrong", str(error), "reload the page.")
    cls, remedy = found
    headline = _text(remedy.headline, error) if remedy.headline is not None else _docstring_headline(cls)
    return UserMessage(headline, str(error), _text(remedy.next_step, error))


def cli_line(error: BaseException) -> str | None:
    """The CLI's one line for a handled error (None for one outside the catalogue).

    Notes added on the way up (``error.add_note``) say where it happened and lead the line;
    the catalogue's CLI step, where there is one, ends it.
    """
    found = remedy_for(error)
    if found is None:
        return None
    _, remedy = found
    parts = [*getattr(error, "__notes__", ()), str(error)]
    line = ": ".join(part for part in parts if part)
    if remedy.cli_step is not None:
        line += f" ({_text(remedy.cli_step, error)})"
    return one_line(line)


def one_line(text: str) -> str:
    """``text`` with its line breaks folded into spaces: the CLI prints one line per error."""
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()
