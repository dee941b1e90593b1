"""Shared mode's sign-in: argon2id password hashes, rate limits and a lock-out that survives a restart.

- Passwords are hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106's low-memory
  profile); a hash made with older parameters is upgraded at the next good sign-in.
- Every attempt is stored (``data.accounts``). Five failures for one name within 15
  minutes lock that name for 15 minutes after the last of them; one client address may
  try 10 times a minute and the whole server 60 times a minute. Refused attempts never
  reach the password check.
- An unknown name, a disabled account and a wrong password get the same message (and
  cost the same hash), so sign-in does not tell which names exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from data.accounts import Account, Accounts
from data.audit_trail import AuditTrail
from data.connection import Database

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    per_client_per_minute: int = 10
    per_server_per_minute: int = 60


POLICY = Policy()
WRONG = "Name or password is wrong."

_hasher = PasswordHasher()
# Verified against when the name is unknown, so that case costs what a wrong password does.
_DUMMY_HASH = _hasher.hash("not a password: keeps an unknown name as slow as a wrong password")


class PasswordRejectedError(ValueError):
    """The password cannot be used (too short or too long); nothing was changed."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordRejectedError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordRejectedError(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    return _hasher.hash(password)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class SignInResult:
    account: Account | None
    message: str  # what the person reads: a welcome, or why not

    @property
    def ok(self) -> bool:
        return self.account is not None


def _refusal(accounts: Accounts, name: str, client: str | None, now: datetime, policy: Policy) -> str | None:
    minute = now - timedelta(minutes=1)
    if client is not None and accounts.attempts_since(minute, client) >= policy.per_client_per_minute:
        return "Too many sign-in attempts from this address; wait a minute and try again."
    if accounts.attempts_since(minute) >= policy.per_server_per_minute:
        return "Too many sign-in attempts on this server just now; wait a minute and try again."
    failures = accounts.failures_since(name, now - policy.window)
    if failures.failures >= policy.max_failures and failures.last_failure is not None:
        until = failures.last_failure + policy.lockout
        if until > now:
            minutes = max(1, int((until - now).total_seconds() // 60) + 1)
            return (
                f"This account is locked after {failures.failures} failed sign-ins; "
                f"try again in {minutes} minute(s), or ask an educator to reset the password."
            )
    return None


def sign_in(
    db: Database,
    name: str,
    password: str,
    *,
    client: str | None = None,
    now: datetime | None = None,
    policy: Policy = POLICY,
) -> SignInResult:
    """Check a name and password under the rate limits and lock-out; every attempt is recorded."""
    accounts, trail = Accounts(db), AuditTrail(db)
    name = " ".join(str(name).split())[:256]
    now = now or datetime.now(UTC)
    refused = _refusal(accounts, name, client, now, policy)
    if refused is not None:
        trail.record("sign_in_refused", actor=name or None, detail=refused)
        return SignInResult(None, refused)
    account = accounts.find(name) if name else None
    usable = account is not None and not account.disabled and account.password_hash is not None
    good = _matches(account.password_hash if usable and account else _DUMMY_HASH, password) and usable
    accounts.record_attempt(name, good, client)
    if not good or account is None:
        trail.record("sign_in_failed", actor=name or None, detail=f"client {client or 'unknown'}")
        return SignInResult(None, WRONG)
    if account.password_hash is not None and _hasher.check_needs_rehash(account.password_hash):
        accounts.set_password_hash(account.name, _hasher.hash(password))
    trail.record("sign_in", actor=account.name, role=account.role, detail=f"client {client or 'unknown'}")
    return SignInResult(account, f"Signed in as {account.name} ({account.role}).")


def sign_in_with_identity_provider(db: Database, email: str | None) -> SignInResult:
    """After ``st.login``: the identity provider vouched for ``email``; it must be an active account."""
    accounts, trail = Accounts(db), AuditTrail(db)
    account = accounts.find(email) if email else None
    if account is None or account.disabled:
        trail.record("sign_in_failed", actor=email, detail="identity provider: no active account")
        return SignInResult(
            None, f"No active account for {email or 'that identity'}; ask an educator to add one."
        )
    trail.record("sign_in", actor=account.name, role=account.role, detail="identity provider")
    return SignInResult(account, f"Signed in as {account.name} ({account.role}).")
