"""Typed errors raised by ``data/``: each class's docstring is its message's gist.

Callers (the CLI, the app) turn them into one human line; the message always says what
happened and, where there is one, what to do next.
"""

from __future__ import annotations

import re
from pathlib import Path


class DataError(Exception):
    """A problem in the data layer (store, importers, images, export)."""


class StoreError(DataError):
    """The audit database could not do what was asked."""


class DatabaseLockedError(StoreError):
    """Another process holds the audit database file; DuckDB lets only one process open it."""

    def __init__(self, path: str | Path, pid: int | None, holder: str | None = None) -> None:
        self.path = str(path)
        self.pid = pid
        self.holder = holder
        who = f"process {pid}" if pid is not None else "another process"
        if holder:
            who += f" ({holder})"
        super().__init__(
            f"the audit database {self.path} is in use by {who}; DuckDB lets one process open a file "
            f"at a time. Close that process (the workstation app or another cxr-audit command) or wait "
            f"for it to finish, or point --db / CXR_AUDIT_DB at another file."
        )

    @classmethod
    def from_duckdb(cls, path: str | Path, message: str) -> DatabaseLockedError:
        """Build from DuckDB's "Conflicting lock is held in PROGRAM (PID n)" message."""
        match = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", message)
        if match is None:
            return cls(path, None)
        return cls(path, int(match.group(2)), match.group(1))


class SchemaTooNewError(StoreError):
    """The database was written by a newer version of CXR Draft Auditor; this version cannot read it."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.found, self.supported = found, supported
        super().__init__(
            f"the audit database {path} has schema version {found}, newer than this version of "
            f"CXR Draft Auditor understands ({supported}); upgrade the program or use another --db file"
        )


class SchemaHistoryError(StoreError):
    """The database's schema steps differ from this version's: another build migrated it."""

    def __init__(self, path: str, version: int, found: str, expected: str) -> None:
        self.version = version
        super().__init__(
            f"the audit database {path} recorded schema step {version} as {found!r}, but this version of "
            f"CXR Draft Auditor's step {version} is {expected!r} (a development build migrated it); "
            "nothing was changed: use another --db file, or the build that wrote it"
        )


class SchemaTooOldError(StoreError):
    """The database needs an upgrade, and it was opened read-only, so it cannot have one."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.found, self.supported = found, supported
        super().__init__(
            f"the audit database {path} has schema version {found}, older than this version of "
            f"CXR Draft Auditor reads ({supported}), and a command that only reads opens it read-only; "
            f"run a command that writes to it once (cxr-audit import or demo, or the app) to upgrade it"
        )


class NoDatabaseError(StoreError):
    """A command that only reads was pointed at a database that does not exist."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"there is no audit database at {path}; point --db / CXR_AUDIT_DB at one, "
            f"or create it with cxr-audit import or cxr-audit demo"
        )


class DatabaseReadOnlyError(StoreError):
    """The audit database file may be read but not written."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(
            f"the audit database {path} is read-only ({reason}); commands that only read it "
            f"(export, eval) still work; to write, use a file you may write (--db / CXR_AUDIT_DB)"
        )


class NoteTooLongError(StoreError, ValueError):
    """A note longer than a note may be is not saved."""

    def __init__(self, length: int, limit: int) -> None:
        self.length, self.limit = length, limit
        super().__init__(
            f"the note is {length:,} characters long; a note holds at most {limit:,} (nothing was saved)"
        )


class DraftRefusedError(StoreError, ValueError):
    """A draft the auditor cannot read (empty, too long, not text) is not stored."""

    def __init__(self, case_id: str, problem: str) -> None:
        self.case_id, self.problem = case_id, problem
        super().__init__(f"draft for case {case_id!r} not stored: {problem}")


class NotADatabaseError(StoreError):
    """The file is not a DuckDB database (or it is damaged)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot open {path} as an audit database: {reason}")


class UnknownCaseError(StoreError, KeyError):
    """No case with that id is in the database."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case {case_id!r} in the audit database")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownRecordError(StoreError, KeyError):
    """No record of that kind with that id is in the database."""

    def __init__(self, kind: str, record_id: object) -> None:
        self.kind, self.record_id = kind, record_id
        super().__init__(f"no {kind} {record_id!r} in the audit database")

    def __str__(self) -> str:
        return str(self.args[0])


class WriteConflictError(StoreError):
    """A write kept colliding with concurrent writes and was given up after bounded retries."""

    def __init__(self, what: str, attempts: int, last_error: str) -> None:
        super().__init__(
            f"could not {what} after {attempts} attempts (concurrent writes kept conflicting: {last_error}); "
            f"nothing was saved, try again"
        )


class ImageLoadError(DataError):
    """An image file could not be read; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot load image {self.path}: {reason}")


class UnsafePathError(DataError):
    """A path in an annotation file points outside the folder it must stay in."""

    def __init__(self, path: str, root: str | Path) -> None:
        self.path, self.root = path, str(root)
        super().__init__(
            f"path {path!r} resolves outside {self.root}; only files inside the images folder are read"
        )


class LinkLoopError(DataError):
    """A path in an import file goes round a loop of symbolic links: no file can be read there."""

    def __init__(self, path: str, root: str | Path) -> None:
        self.path, self.root = path, str(root)
        super().__init__(
            f"path {path!r} under {self.root} is a symbolic link loop; no file can be read there"
        )


class ImportFormatError(DataError):
    """An import file is not in the expected format (missing columns, unreadable rows)."""


class ExportError(DataError):
    """An export could not be written."""


class AccountError(DataError):
    """An account cannot be created or changed as asked."""


class AssignmentError(DataError):
    """An assignment cannot be created as asked."""
