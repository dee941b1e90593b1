"""``cxr-audit users add|list|disable|passwd``: the password from stdin, stored as argon2id only;
one-line errors; every change in the audit trail."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from data.accounts import Accounts
from data.audit_trail import AuditTrail
from data.store import Store
from workstation import auth
from workstation.cli.main import main


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_add_list_disable_and_passwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "audit.duckdb")
    assert (
        _run(monkeypatch, ["users", "add", "erin", "--role", "educator", "--db", db], "first password 1\n")
        == 0
    )
    assert capsys.readouterr().out == "added erin (educator; password set)\n"
    assert (
        _run(monkeypatch, ["users", "add", "sam", "--role", "student", "--db", db], "student password\n") == 0
    )
    assert _run(monkeypatch, ["users", "disable", "sam", "--db", db]) == 0
    capsys.readouterr()
    assert _run(monkeypatch, ["users", "list", "--db", db]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in listing] == [
        ["erin", "educator", "active"],
        ["sam", "student", "disabled"],
    ]
    assert "argon2" not in "".join(listing)  # never the hash
    assert _run(monkeypatch, ["users", "passwd", "erin", "--db", db], "second password 2\n") == 0
    with Store.open(db) as store:
        stored = Accounts(store).get("erin").password_hash or ""
        assert stored.startswith("$argon2id$") and "second password" not in stored
        assert auth.sign_in(store, "erin", "second password 2").ok
        assert not auth.sign_in(store, "sam", "student password").ok  # disabled
        actions = [e.action for e in reversed(AuditTrail(store).recent())]
    assert actions[:4] == ["account_added", "account_added", "account_disabled", "password_changed"]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["users", "add", "x", "--role", "student"], "short\n", "at least 10 characters"),
        (["users", "add", "x", "--role", "student"], "", "no password on standard input"),
        (["users", "passwd", "nobody"], "a long password\n", "no account called 'nobody'"),
        (["users", "disable", "nobody"], "", "no account called 'nobody'"),
    ],
    ids=["short", "no-stdin", "passwd-unknown", "disable-unknown"],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    assert _run(monkeypatch, [*argv, "--db", str(tmp_path / "audit.duckdb")], stdin) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_role_outside_the_three_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["users", "add", "x", "--role", "admin", "--db", str(tmp_path / "a.duckdb")])
    assert "invalid choice: 'admin'" in capsys.readouterr().err
