"""One DuckDB file shared by threads and processes: opening, migrating, cursors, transactions.

Concurrency design (numbers measured with DuckDB 2.0, see issue 4):

- DuckDB lets one *process* open a file; a second process cannot open it at all, not even
  read-only. Within a process, one connection shared between threads raises "connection
  is busy", while a ``cursor()`` per thread works (a cursor costs ~10 µs).
- Opening, writing and closing costs ~28 ms; a write on an open connection ~1.4 ms.
  A decision must be recorded in ≤ 20 ms (p95), so the app keeps **one process-wide
  connection** (:meth:`Database.shared`) and every operation takes its own short-lived cursor:
  Streamlit sessions (threads) never share a cursor.
- Every write is one explicit transaction. Two transactions updating one row give
  "Conflict on update!": writes are retried a bounded number of times with a short
  backoff, then :class:`WriteConflictError` (nothing half-written).
- So that a CLI import can run while the app is open, a store may **release the file when
  idle** (``idle_release_s``): the app releases it after a few idle seconds, and CLI
  commands release it after every operation (``idle_release_s=0``) and do their slow work
  (decoding images) without holding it. Opening waits up to ``lock_timeout_s`` for the
  other process to let go, then raises :class:`DatabaseLockedError`, naming the PID that
  holds the file (from DuckDB's message) and what to do.

The record families (``data.cases``, ``data.decisions``, ...) run their SQL through
:meth:`Database.read` and :meth:`Database.transaction`; every value crossing this boundary is
a pydantic record (``data.records``); SQL is parameterized throughout.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import duckdb

from data.errors import (
    DatabaseLockedError,
    DatabaseReadOnlyError,
    NoDatabaseError,
    NotADatabaseError,
    SchemaHistoryError,
    SchemaTooNewError,
    SchemaTooOldError,
    StoreError,
    WriteConflictError,
)
from data.migrations import LATEST_VERSION, MIGRATIONS

log = logging.getLogger(__name__)

T = TypeVar("T")
D = TypeVar("D", bound="Database")

ENV_DB = "CXR_AUDIT_DB"
MEMORY = ":memory:"
DEFAULT_WRITE_ATTEMPTS = 8
_RETRYABLE = ("conflict on", "connection is busy", "write-write conflict", "catalog write-write")


def user_data_dir() -> Path:
    """The per-user data folder: ``$XDG_DATA_HOME/cxr-audit`` or ``~/.local/share/cxr-audit``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cxr-audit"


def resolve_db_path(path: str | Path | None = None) -> str:
    """The database to open: ``path`` if given, else ``$CXR_AUDIT_DB``, else the user data folder."""
    if path is not None and str(path) != "":
        chosen = str(path)
    else:
        chosen = os.environ.get(ENV_DB) or str(user_data_dir() / "audit.duckdb")
    if chosen == MEMORY:
        return MEMORY
    return str(Path(chosen).expanduser().resolve())


_DUCKDB_MAGIC = b"DUCK"  # bytes 8–12 of every DuckDB database file


def _check_database_file(path: Path) -> None:
    """Refuse an existing file that is not a DuckDB database before DuckDB sees it.

    DuckDB 2.0 opens some other files (a CSV, for one) as a read-only view instead of
    failing, which would make ``--db notes.csv`` seem to work while saving nothing.
    """
    if path.is_dir():
        raise NotADatabaseError(str(path), "it is a folder")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as error:
        raise NotADatabaseError(str(path), error.strerror or str(error)) from error
    if header[8:12] != _DUCKDB_MAGIC:
        raise NotADatabaseError(str(path), "the file is not a DuckDB database")


def _make_parent(path: Path) -> None:
    """Create the folder a new database file goes in, naming a regular file in the way."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker is not None else (error.strerror or str(error))
        raise StoreError(f"cannot create the audit database {path}: {why}") from error


def _applied_version(conn: duckdb.DuckDBPyConnection) -> int:
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _check_history(path: str, conn: duckdb.DuckDBPyConnection) -> None:
    """Each step the file records is this version's step of that number, by name.

    Two branches may each add "the next" migration; a file one of them migrated must not
    have the other's step of the same number skipped as if applied.
    """
    expected = {migration.version: migration.name for migration in MIGRATIONS}
    recorded = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    for version, name in recorded:
        if version in expected and name != expected[version]:
            raise SchemaHistoryError(path, int(version), str(name), expected[version])


_NOT_WRITABLE = ("permission denied", "operation not permitted", "read-only file system")


def _now() -> datetime:
    return datetime.now(UTC)


def _is_retryable(error: Exception) -> bool:
    text = str(error).lower()
    return any(marker in text for marker in _RETRYABLE)


def _reaper(store_ref: weakref.ReferenceType[Database], interval: float) -> None:
    """Background loop that closes an idle store's connection; ends when the store is gone."""
    while True:
        time.sleep(interval)
        store = store_ref()
        if store is None or store._closed:
            return
        store._release_if_idle()
        del store


class Database:
    """The audit database. Open with :meth:`open` (CLI, tests) or :meth:`shared` (the app).

    ``path`` is a file path or ``":memory:"``. ``idle_release_s``: close the file after this
    many idle seconds so other processes can use it (None: hold it until :meth:`close`;
    0: release after every operation). ``lock_timeout_s``: how long to wait for another
    process to release the file before :class:`DatabaseLockedError`. ``read_only``: for
    commands that only read: the file must exist and be at the latest schema, and is
    opened read-only, so a file the user may only read can still be exported.
    """

    _shared: ClassVar[dict[str, Database]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        idle_release_s: float | None = None,
        lock_timeout_s: float = 0.0,
        write_attempts: int = DEFAULT_WRITE_ATTEMPTS,
        read_only: bool = False,
    ) -> None:
        self.path = resolve_db_path(path)
        self.read_only = read_only and self.path != MEMORY
        self.idle_release_s = idle_release_s if self.path != MEMORY else None
        self.lock_timeout_s = lock_timeout_s
        self.write_attempts = max(1, write_attempts)
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()
        self._active = 0
        self._last_used = time.monotonic()
        self._closed = False
        with self._cursor():
            pass  # open, migrate, fail early on a locked or foreign file
        if self.idle_release_s is not None and self.idle_release_s > 0:
            interval = max(0.05, self.idle_release_s / 4)
            threading.Thread(
                target=_reaper, args=(weakref.ref(self), interval), name="cxr-audit-store-reaper", daemon=True
            ).start()

    # -- opening and closing -------------------------------------------------------------

    @classmethod
    def open(
        cls: type[D],
        path: str | Path | None = None,
        *,
        idle_release_s: float | None = None,
        lock_timeout_s: float = 0.0,
        read_only: bool = False,
    ) -> D:
        """Open (creating and migrating, unless ``read_only``) a database; close it with
        :meth:`close` or ``with``."""
        return cls(path, idle_release_s=idle_release_s, lock_timeout_s=lock_timeout_s, read_only=read_only)

    @classmethod
    def shared(
        cls: type[D],
        path: str | Path | None = None,
        *,
        idle_release_s: float | None = 5.0,
        lock_timeout_s: float = 10.0,
    ) -> D:
        """The process-wide store for ``path`` (the app's): one per file, safe to use from any thread."""
        key = resolve_db_path(path)
        with cls._shared_lock:
            found = cls._shared.get(key)
            if isinstance(found, cls) and not found._closed:
                return found
            store = cls(key, idle_release_s=idle_release_s, lock_timeout_s=lock_timeout_s)
            cls._shared[key] = store
            return store

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        with Database._shared_lock:
            if Database._shared.get(self.path) is self:
                del Database._shared[self.path]

    def release(self) -> None:
        """Close the file now if no operation is running; the next operation reopens it."""
        with self._lock:
            if self._conn is not None and self._active == 0 and self.path != MEMORY:
                self._conn.close()
                self._conn = None
                log.debug("released %s", self.path)

    @contextmanager
    def hold(self: D) -> Iterator[D]:
        """Keep the file open for a block of operations (a store that releases when idle waits)."""
        with self._cursor():
            yield self

    @property
    def is_held(self) -> bool:
        """True while this store holds the database file open."""
        return self._conn is not None

    def __enter__(self: D) -> D:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    def _release_if_idle(self) -> None:
        if self.idle_release_s is None:
            return
        with self._lock:
            idle = time.monotonic() - self._last_used
            if self._conn is not None and self._active == 0 and idle >= self.idle_release_s:
                self.release()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.path != MEMORY:
            _check_database_file(Path(self.path))
            if not self.read_only:
                _make_parent(Path(self.path))
            elif not Path(self.path).is_file():
                raise NoDatabaseError(self.path)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.02
        while True:
            try:
                conn = duckdb.connect(self.path, read_only=self.read_only)
                break
            except duckdb.IOException as error:
                message = str(error)
                if "lock" not in message.lower():
                    if any(marker in message.lower() for marker in _NOT_WRITABLE) and not self.read_only:
                        raise DatabaseReadOnlyError(self.path, message.split(": ")[-1]) from error
                    raise NotADatabaseError(self.path, message) from error
                if time.monotonic() >= deadline:
                    raise DatabaseLockedError.from_duckdb(self.path, message) from error
                time.sleep(delay + random.uniform(0, delay))
                delay = min(delay * 2, 0.25)
            except duckdb.Error as error:
                raise NotADatabaseError(self.path, str(error)) from error
        try:
            if self.read_only:
                self._check_version(conn)
            else:
                self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_version(self, conn: duckdb.DuckDBPyConnection) -> None:
        """A read-only connection cannot migrate: the file must already be at the latest schema."""
        try:
            current = _applied_version(conn)
        except duckdb.CatalogException as error:
            raise NotADatabaseError(self.path, "it holds no audit database tables") from error
        if current > LATEST_VERSION:
            raise SchemaTooNewError(self.path, current, LATEST_VERSION)
        _check_history(self.path, conn)
        if current < LATEST_VERSION:
            raise SchemaTooOldError(self.path, current, LATEST_VERSION)

    def _migrate(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        current = _applied_version(conn)
        if current > LATEST_VERSION:
            raise SchemaTooNewError(self.path, current, LATEST_VERSION)
        _check_history(self.path, conn)
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            conn.begin()
            try:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    [migration.version, migration.name, _now()],
                )
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            log.info("migrated %s to schema %d (%s)", self.path, migration.version, migration.name)

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"the store {self.path} is closed")
            if self._conn is None:
                self._conn = self._connect()
            self._active += 1
            cursor = self._conn.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                self._active -= 1
                self._last_used = time.monotonic()
                if self.idle_release_s == 0:
                    self.release()

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` with a cursor of its own (no transaction: each statement sees what is committed)."""
        with self._cursor() as cur:
            try:
                return fn(cur)
            except duckdb.Error as error:
                raise StoreError(f"could not read the audit database: {error}") from error

    def transaction(self, what: str, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` in one transaction, retrying it a bounded number of times on write conflicts.

        ``fn`` may run more than once, so it must not have effects outside the database; ``what``
        names the operation in errors ("could not record a decision: ...").
        """
        last = ""
        for attempt in range(1, self.write_attempts + 1):
            with self._cursor() as cur:
                cur.begin()
                try:
                    result = fn(cur)
                    cur.commit()
                    return result
                except (duckdb.TransactionException, duckdb.InvalidInputException) as error:
                    with suppress(duckdb.Error):
                        cur.rollback()
                    if not _is_retryable(error):
                        raise StoreError(f"could not {what}: {error}") from error
                    last = str(error)
                except duckdb.Error as error:  # constraint, I/O (disk full), ...: nothing was written
                    with suppress(duckdb.Error):
                        cur.rollback()
                    raise StoreError(f"could not {what}: {error}") from error
                except BaseException:
                    with suppress(duckdb.Error):
                        cur.rollback()
                    raise
            log.debug("retrying %s after conflict (attempt %d): %s", what, attempt, last)
            time.sleep(min(0.2, 0.002 * 2**attempt) * random.uniform(0.5, 1.5))
        raise WriteConflictError(what, self.write_attempts, last)

    def schema_version(self) -> int:
        return self.read(_applied_version)

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a read-only query and return a pandas DataFrame (for eval and the Evaluation page)."""
        return self.read(lambda cur: cur.execute(sql, list(params or [])).df())
