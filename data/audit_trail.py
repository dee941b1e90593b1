"""The audit trail: who signed in (or failed to), and every role-relevant action, append-only.

Actions are short fixed words (``ACTIONS``); ``target`` names what was acted on (an
account, a case, an assignment) and ``detail`` adds a few words. Decisions on flags are
not repeated here: the ``decisions`` table already keeps each one with its reviewer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from audit.schema import Frozen
from data.sql import Family

ACTIONS: frozenset[str] = frozenset(
    {
        "sign_in",
        "sign_in_failed",
        "sign_in_refused",  # locked out or rate-limited: the password was not even checked
        "sign_out",
        "account_added",
        "account_disabled",
        "account_enabled",
        "password_changed",
        "page_refused",  # a role opened a page or case it may not see
        "impression_submitted",
        "assignment_created",
        "feedback_given",
        "blinding_changed",
        "export",
    }
)


class TrailEvent(Frozen):
    event_id: int
    recorded_at: datetime
    actor: str | None
    role: str | None
    action: str
    target: str | None
    detail: str | None


_COLUMNS = "event_id, recorded_at, actor, role, action, target, detail"


class AuditTrail(Family):
    """``AuditTrail(db)``: append an event; read the newest events."""

    def record(
        self,
        action: str,
        *,
        actor: str | None,
        role: str | None = None,
        target: str | None = None,
        detail: str | None = None,
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit-trail action {action!r}")
        self.db.transaction(
            "record an audit-trail event",
            lambda cur: cur.execute(
                "INSERT INTO audit_trail (recorded_at, actor, role, action, target, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [datetime.now(UTC), actor, role, action, target, (detail or "")[:500] or None],
            ),
        )

    def recent(self, limit: int = 200, *, actor: str | None = None) -> list[TrailEvent]:
        """The newest events first (one actor's only, when given)."""
        sql = f"SELECT {_COLUMNS} FROM audit_trail"
        params: list[object] = []
        if actor is not None:
            sql += " WHERE actor = ?"
            params.append(actor)
        rows = self.db.read(
            lambda cur: cur.execute(sql + " ORDER BY event_id DESC LIMIT ?", [*params, limit]).fetchall()
        )
        return [TrailEvent.model_validate(dict(zip(_COLUMNS.split(", "), row, strict=True))) for row in rows]
