"""Who is looking, and what their role lets them see: the one place the app asks.

Two modes (``CXR_AUDIT_MODE``):

- ``local`` (the default): one person on their own machine, who types a name; they see
  everything (the database and the machine are theirs).
- ``shared``: a teaching server. People sign in (``workstation.auth``); the name stored
  with every decision, box and impression is the account's, never a text box's or the
  URL's. Roles decide what each page shows:

  - a **student** sees only their assignments' cases, and never a case's reference
    boxes, labels, flags, other students' impressions or reviewers' decisions before they
    have submitted an impression of that case;
  - a **reviewer** does the audit work (Worklist, Review, Evaluation, Export, Models);
  - an **educator** sees everything, builds assignments and reads the class.

Functions take the session state as a mapping so tests drive them with plain dicts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from data.accounts import Accounts, Role
from data.assignments import Assignments
from data.connection import Database
from models.errors import SettingsError

Mode = Literal["local", "shared"]
MODES: tuple[Mode, ...] = get_args(Mode)
ENV_MODE = "CXR_AUDIT_MODE"

SIGNED_IN = "signed_in_account"  # session key: the signed-in account's name (shared mode)

Page = Literal[
    "worklist",
    "review",
    "teaching",
    "evaluation",
    "export",
    "models",
    "assignments",
    "class",
    "my_assignments",
    "my_work",
]
EVERYONE: frozenset[Role] = frozenset({"educator", "reviewer", "student"})
STAFF: frozenset[Role] = frozenset({"educator", "reviewer"})
PAGE_ROLES: dict[Page, frozenset[Role]] = {
    "worklist": STAFF,  # its labels, flag counts and reviewers are a teaching case's answers
    "review": STAFF,  # the default grounder is the expert boxes: its flags are the answers
    "teaching": EVERYONE,
    "evaluation": STAFF,
    "export": STAFF,
    "models": STAFF,  # its test grounds a case with the expert boxes
    "assignments": frozenset({"educator"}),
    "class": frozenset({"educator"}),
    "my_assignments": frozenset({"student"}),  # a student's worklist
    "my_work": frozenset({"student"}),  # a student's export: their own impressions only
}


def current_mode(environ: Mapping[str, str] | None = None) -> Mode:
    """The app's mode from ``CXR_AUDIT_MODE`` (``local`` when unset)."""
    value = (environ if environ is not None else os.environ).get(ENV_MODE, "").strip().lower() or "local"
    if value not in MODES:
        raise SettingsError(f"{ENV_MODE}={value!r} is not a mode; choose one of: {', '.join(MODES)}")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Viewer:
    """The person a session acts for: their name (None until known), role and the app's mode."""

    name: str | None
    role: Role
    mode: Mode

    @property
    def is_student(self) -> bool:
        return self.role == "student"

    @property
    def is_educator(self) -> bool:
        return self.role == "educator"

    @property
    def shared(self) -> bool:
        return self.mode == "shared"

    def may_open(self, page: Page) -> bool:
        if self.shared and self.name is None:
            return False
        return self.role in PAGE_ROLES[page]


def viewer(state: Mapping[str, Any], db: Database, mode: Mode, typed_name: str | None) -> Viewer | None:
    """The session's viewer; None in shared mode until someone has signed in.

    Shared mode re-reads the account on every run, so disabling an account or changing
    its role takes effect at the account's next click.
    """
    if mode == "local":
        return Viewer(name=typed_name, role="educator", mode="local")
    name = state.get(SIGNED_IN)
    if not isinstance(name, str):
        return None
    account = Accounts(db).find(name)
    if account is None or account.disabled:
        return None
    return Viewer(name=account.name, role=account.role, mode="shared")


def sign_out(state: MutableMapping[str, Any]) -> None:
    """Forget the account and everything the session held (a half-written impression included),
    so the next person at this browser starts clean."""
    state.clear()


def case_ids_for(db: Database, who: Viewer) -> set[str] | None:
    """The cases ``who`` may open: a student's assignments' cases; None (every case) for staff."""
    if not who.is_student:
        return None
    return Assignments(db).student_case_ids(who.name or "")


def may_see_answers(db: Database, who: Viewer, case_id: str) -> bool:
    """Whether ``who`` may see the case's reference, labels, flags and others' readings now.

    Staff always; a student only after submitting an impression of it.
    """
    if not who.is_student:
        return True
    return case_id in Assignments(db).submitted_case_ids(who.name or "", [case_id])


def blinded(db: Database, who: Viewer) -> bool:
    """Whether ``who`` reads blinded: the study setting is on and they are not a shared-mode educator."""
    from data.app_settings import BLINDED_READING, AppSettings

    if who.shared and who.is_educator:
        return False
    return AppSettings(db).get_flag(BLINDED_READING)
