"""Sign-in (``workstation.auth``): argon2id hashes, one message for every wrong case, rate limits,
and a lock-out that a restart does not reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data.accounts import Accounts
from data.audit_trail import AuditTrail
from data.store import Store
from workstation import auth

PASSWORD = "correct horse battery"


@pytest.fixture
def db(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "audit.duckdb")
    Accounts(store).add("sam", "student", auth.hash_password(PASSWORD))
    yield store
    store.close()


def test_the_hash_is_argon2id_and_never_the_password(db: Store) -> None:
    stored = Accounts(db).get("sam").password_hash or ""
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(auth.PasswordRejectedError, match="at least 10"):
        auth.hash_password("short")


def test_the_right_password_signs_in_and_is_in_the_audit_trail(db: Store) -> None:
    result = auth.sign_in(db, "sam", PASSWORD, client="10.1.1.1")
    assert result.ok and result.account is not None and result.account.role == "student"
    (event,) = AuditTrail(db).recent()
    assert (event.action, event.actor, event.role) == ("sign_in", "sam", "student")


@pytest.mark.parametrize(
    ("name", "password"),
    [("sam", "wrong password!"), ("nobody", PASSWORD), ("", "")],
    ids=["wrong", "unknown", "empty"],
)
def test_every_wrong_sign_in_gets_the_same_message(db: Store, name: str, password: str) -> None:
    result = auth.sign_in(db, name, password)
    assert not result.ok and result.message == auth.WRONG


def test_a_disabled_account_cannot_sign_in(db: Store) -> None:
    Accounts(db).set_disabled("sam")
    assert auth.sign_in(db, "sam", PASSWORD).message == auth.WRONG


def test_five_failures_lock_the_name_even_for_the_right_password_and_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "audit.duckdb"
    with Store.open(path) as store:
        Accounts(store).add("sam", "student", auth.hash_password(PASSWORD))
        for _ in range(5):
            assert not auth.sign_in(store, "sam", "guess guess guess").ok
    with Store.open(path) as store:  # the app restarted
        locked = auth.sign_in(store, "sam", PASSWORD)
        assert not locked.ok and "locked after 5 failed sign-ins" in locked.message
        later = datetime.now(UTC) + timedelta(minutes=16)
        assert auth.sign_in(store, "sam", PASSWORD, now=later).ok  # the lock-out ends
        assert AuditTrail(store).recent()[1].action == "sign_in_refused"


def test_a_new_password_from_an_educator_lifts_the_lock(db: Store) -> None:
    for _ in range(5):
        auth.sign_in(db, "sam", "guess guess guess")
    Accounts(db).set_password_hash("sam", auth.hash_password("a brand new password"))
    assert auth.sign_in(db, "sam", "a brand new password").ok


def test_one_address_is_rate_limited_before_any_password_is_checked(db: Store) -> None:
    policy = auth.Policy(per_client_per_minute=3, max_failures=100)
    for _ in range(3):
        auth.sign_in(db, "nobody", "x" * 12, client="10.9.9.9", policy=policy)
    refused = auth.sign_in(db, "sam", PASSWORD, client="10.9.9.9", policy=policy)
    assert not refused.ok and "from this address" in refused.message
    assert auth.sign_in(db, "sam", PASSWORD, client="10.0.0.2", policy=policy).ok
