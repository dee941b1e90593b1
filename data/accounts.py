"""Shared mode's accounts and every sign-in attempt, over the audit database.

An account has a name, a role and an argon2 hash (hashing and checking live in
``workstation.auth``; this module only stores). Attempts are kept so that a lock-out
survives a restart of the app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

import duckdb

from audit.schema import Frozen
from data.errors import AccountError
from data.records import MAX_NAME_CHARS
from data.sql import Family

Role = Literal["educator", "reviewer", "student"]
ROLES: tuple[Role, ...] = get_args(Role)


class Account(Frozen):
    name: str
    role: Role
    password_hash: str | None  # None: signs in through the identity provider only
    disabled: bool
    created_at: datetime
    updated_at: datetime


class AttemptCounts(Frozen):
    """Failed sign-ins since a moment, and when the latest of them happened."""

    failures: int
    last_failure: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


def account_name(name: str) -> str:
    """A name as stored: stripped, inner whitespace collapsed; refused when empty or too long."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise AccountError("an account needs a name")
    if len(cleaned) > MAX_NAME_CHARS:
        raise AccountError(f"an account name has at most {MAX_NAME_CHARS} characters, not {len(cleaned)}")
    return cleaned


_COLUMNS = "name, role, password_hash, disabled, created_at, updated_at"


def _account(row: tuple[object, ...]) -> Account:
    return Account.model_validate(dict(zip(_COLUMNS.split(", "), row, strict=True)))


class Accounts(Family):
    """``Accounts(db)``: add, read and change accounts; record and count sign-in attempts."""

    def add(self, name: str, role: Role, password_hash: str | None) -> Account:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
        name = account_name(name)
        now = _now()

        def write(cur: duckdb.DuckDBPyConnection) -> None:
            if cur.execute("SELECT 1 FROM accounts WHERE name = ?", [name]).fetchone() is not None:
                raise AccountError(f"an account called {name!r} already exists")
            cur.execute(
                f"INSERT INTO accounts ({_COLUMNS}) VALUES (?, ?, ?, false, ?, ?)",
                [name, role, password_hash, now, now],
            )

        self.db.transaction("add an account", write)
        return self.get(name)

    def get(self, name: str) -> Account:
        found = self.find(name)
        if found is None:
            raise AccountError(f"no account called {name!r}")
        return found

    def find(self, name: str) -> Account | None:
        row = self.db.read(
            lambda cur: cur.execute(f"SELECT {_COLUMNS} FROM accounts WHERE name = ?", [name]).fetchone()
        )
        return None if row is None else _account(row)

    def all(self) -> list[Account]:
        rows = self.db.read(
            lambda cur: cur.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY name").fetchall()
        )
        return [_account(row) for row in rows]

    def names(self, role: Role | None = None, *, active_only: bool = True) -> list[str]:
        return [
            account.name
            for account in self.all()
            if (role is None or account.role == role) and not (active_only and account.disabled)
        ]

    def _update(self, name: str, what: str, assignments: str, params: list[object]) -> Account:
        self.get(name)
        self.db.transaction(
            what,
            lambda cur: cur.execute(
                f"UPDATE accounts SET {assignments}, updated_at = ? WHERE name = ?", [*params, _now(), name]
            ),
        )
        return self.get(name)

    def set_disabled(self, name: str, disabled: bool = True) -> Account:
        return self._update(name, "disable an account", "disabled = ?", [disabled])

    def set_password_hash(self, name: str, password_hash: str) -> Account:
        return self._update(name, "change a password", "password_hash = ?", [password_hash])

    def record_attempt(self, name: str, ok: bool, client: str | None = None) -> None:
        self.db.transaction(
            "record a sign-in attempt",
            lambda cur: cur.execute(
                "INSERT INTO sign_in_attempts VALUES (?, ?, ?, ?)", [name[:256], client, ok, _now()]
            ),
        )

    def failures_since(self, name: str, since: datetime) -> AttemptCounts:
        """Failed attempts for ``name`` after ``since``, not cleared by a later good sign-in or by a
        change to the account (a new password from an educator unlocks it)."""
        row = self.db.read(
            lambda cur: cur.execute(
                """
                SELECT count(*), max(attempted_at) FROM sign_in_attempts
                WHERE name = $name AND NOT ok AND attempted_at > greatest(
                    $since,
                    coalesce((SELECT max(attempted_at) FROM sign_in_attempts
                              WHERE name = $name AND ok), $since),
                    coalesce((SELECT updated_at FROM accounts WHERE name = $name), $since))
                """,
                {"name": name, "since": since},
            ).fetchone()
        )
        return AttemptCounts(failures=int(row[0]) if row else 0, last_failure=row[1] if row else None)

    def attempts_since(self, since: datetime, client: str | None = None) -> int:
        """Every attempt after ``since`` (from one client address, when given): the rate limit's count."""
        sql = "SELECT count(*) FROM sign_in_attempts WHERE attempted_at > ?"
        params: list[object] = [since]
        if client is not None:
            sql += " AND client = ?"
            params.append(client)
        row = self.db.read(lambda cur: cur.execute(sql, params).fetchone())
        return int(row[0]) if row else 0
