"""Settings an educator changes in the app and every session must see (stored, so they survive a restart).

Only one so far: ``blinded_reading`` hides other reviewers' decisions on a flag until a
reviewer has decided it (inter-reader studies).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from data.sql import Family

BLINDED_READING = "blinded_reading"


class AppSettings(Family):
    def get_flag(self, key: str, default: bool = False) -> bool:
        row = self.db.read(
            lambda cur: cur.execute("SELECT value FROM app_settings WHERE key = ?", [key]).fetchone()
        )
        return default if row is None else bool(json.loads(row[0]))

    def set_flag(self, key: str, value: bool, *, by: str | None) -> None:
        self.db.transaction(
            "change a setting",
            lambda cur: cur.execute(
                "INSERT OR REPLACE INTO app_settings VALUES (?, ?, ?, ?)",
                [key, json.dumps(bool(value)), by, datetime.now(UTC)],
            ),
        )
