"""``cxr-audit users add|list|disable|passwd``: the accounts of shared mode.

The password is read from standard input when it is not a terminal (the first line), or
asked for twice at a prompt (``getpass``, never echoed); it is stored only as an argon2id
hash. Every change is written to the audit trail, with the operating-system user as actor.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from data.accounts import ROLES
from workstation.cli.data_cmds import _run
from workstation.cli.db_options import add_db_options
from workstation.cli.errors import CliError

ADMIN = "cli"  # the audit trail's actor prefix for changes made on the command line


def _actor() -> str:
    try:
        return f"{ADMIN}:{getpass.getuser()}"
    except (KeyError, OSError):
        return ADMIN


def read_password(name: str) -> str:
    """The new password: stdin's first line, or a prompt asked twice."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input (write it as the first line)")
        return password
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != first:
        raise CliError("the two passwords differ; nothing was changed")
    return first


def _hash(name: str) -> str:
    from workstation.auth import PasswordRejectedError, hash_password

    try:
        return hash_password(read_password(name))
    except PasswordRejectedError as error:
        raise CliError(f"{error}; nothing was changed") from error


def _add(args: argparse.Namespace) -> int:
    from data.accounts import Accounts
    from data.audit_trail import AuditTrail

    password_hash = None if args.no_password else _hash(args.name)

    def body(store: Any) -> int:
        account = Accounts(store).add(args.name, args.role, password_hash)
        AuditTrail(store).record(
            "account_added", actor=_actor(), target=account.name, detail=f"role {account.role}"
        )
        how = "identity-provider sign-in only" if password_hash is None else "password set"
        print(f"added {account.name} ({account.role}; {how})")
        return 0

    return _run(args, body)


def _list(args: argparse.Namespace) -> int:
    from data.accounts import Accounts

    def body(store: Any) -> int:
        accounts = Accounts(store).all()
        if not accounts:
            print("no accounts yet: add one with `cxr-audit users add NAME --role educator`")
            return 0
        width = max(len(account.name) for account in accounts)
        for account in accounts:
            state = "disabled" if account.disabled else "active"
            login = "password" if account.password_hash else "identity provider"
            print(
                f"{account.name:<{width}}  {account.role:<8}  {state:<8}  {login:<17}  "
                f"added {account.created_at:%Y-%m-%d %H:%M} UTC"
            )
        return 0

    return _run(args, body)


def _disable(args: argparse.Namespace) -> int:
    from data.accounts import Accounts
    from data.audit_trail import AuditTrail

    def body(store: Any) -> int:
        account = Accounts(store).set_disabled(args.name, not args.enable)
        action = "account_enabled" if args.enable else "account_disabled"
        AuditTrail(store).record(action, actor=_actor(), target=account.name)
        print(f"{'enabled' if args.enable else 'disabled'} {account.name}")
        return 0

    return _run(args, body)


def _passwd(args: argparse.Namespace) -> int:
    from data.accounts import Accounts
    from data.audit_trail import AuditTrail

    def body(store: Any) -> int:
        accounts = Accounts(store)
        accounts.get(args.name)  # an unknown name fails before the password is asked for
        account = accounts.set_password_hash(args.name, _hash(args.name))
        AuditTrail(store).record("password_changed", actor=_actor(), target=account.name)
        print(f"changed the password of {account.name} (a lock-out on it is lifted)")
        return 0

    return _run(args, body)


def register(subparsers: Any) -> None:
    users = subparsers.add_parser(
        "users",
        help="manage shared mode's accounts (educator, reviewer, student)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add an account; the password comes from stdin or a prompt")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--no-password",
        action="store_true",
        help="no password: the account signs in through the identity provider (OIDC) only",
    )
    add_db_options(add)
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="list the accounts (never their hashes)")
    add_db_options(listing)
    listing.set_defaults(func=_list)

    disable = actions.add_parser("disable", help="stop an account signing in (its work is kept)")
    disable.add_argument("name", metavar="NAME")
    disable.add_argument("--enable", action="store_true", help="let a disabled account sign in again")
    add_db_options(disable)
    disable.set_defaults(func=_disable)

    passwd = actions.add_parser("passwd", help="set a new password (from stdin or a prompt)")
    passwd.add_argument("name", metavar="NAME")
    add_db_options(passwd)
    passwd.set_defaults(func=_passwd)
