"""Concurrency: threads sharing one store, a second process, and a process killed mid-write.

DuckDB lets one process open a file. Within the process every operation takes its own
cursor, so threads never share one; conflicting writes are retried. Another process gets a
typed error naming the PID that holds the file, or gets in once the holder releases it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from data.errors import DatabaseLockedError
from data.store import Store
from data.worklist import worklist_page
from tests.data.conftest import add_case, ptx_report

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )


def test_two_threads_deciding_flags_of_one_case_at_once_lose_nothing(db_path: Path) -> None:
    with Store.open(db_path) as store:
        add_case(store, "ptx")
        urgent, missing = store.audits.save("ptx", ptx_report()).flag_ids
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def decide(flag_id: int, reviewer: str) -> None:
            try:
                start.wait()
                for _ in range(15):
                    store.decisions.record(flag_id, reviewer, "accept")
            except BaseException as error:  # collected and asserted on below
                errors.append(error)

        threads = [
            threading.Thread(target=decide, args=(urgent, "amy")),
            threading.Thread(target=decide, args=(missing, "bob")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert len(store.decisions.history(urgent)) == 15
        assert len(store.decisions.history(missing)) == 15
        row = worklist_page(store).rows[0]
        assert (row.status, row.n_decided, row.reviewers) == ("reviewed", 2, ("amy", "bob"))


def test_a_second_process_is_told_which_process_holds_the_file(db_path: Path) -> None:
    with Store.open(db_path):
        result = run_python(
            """
            import json, sys
            from data.errors import DatabaseLockedError
            from data.store import Store
            try:
                Store.open(sys.argv[1])
            except DatabaseLockedError as error:
                print(json.dumps({"pid": error.pid, "message": str(error)}))
            """,
            str(db_path),
        )
    assert result.returncode == 0, result.stderr
    reported = json.loads(result.stdout)
    assert reported["pid"] == os.getpid()
    assert f"process {os.getpid()}" in reported["message"]
    assert "Close that process" in reported["message"]


def test_the_cli_reports_a_locked_database_in_one_line(db_path: Path) -> None:
    with Store.open(db_path):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "workstation.cli.main",
                "export",
                "--format",
                "csv",
                "--out",
                str(db_path.parent / "x.csv"),
                "--db",
                str(db_path),
                "--wait",
                "0.2",
            ],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"in use by process {os.getpid()}" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_store_that_releases_when_idle_lets_another_process_in(db_path: Path) -> None:
    with Store.open(db_path, idle_release_s=0.1) as store:
        add_case(store, "mine")
        result = run_python(
            """
            import sys
            from data.store import Store
            from data.records import CaseRecord
            with Store.open(sys.argv[1], idle_release_s=0, lock_timeout_s=20) as other:
                other.cases.upsert(CaseRecord(case_id="theirs", image_id="t.png", source="folder"))
            print("written")
            """,
            str(db_path),
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "written"
        assert sorted(c.case_id for c in store.cases.where()) == ["mine", "theirs"]


def test_waiting_for_a_locked_file_gives_up_with_the_typed_error(db_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from data.store import Store; s = Store.open(sys.argv[1]); "
            "print('held', flush=True); time.sleep(60)",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError) as caught:
            Store.open(db_path, lock_timeout_s=0.3)
        assert time.monotonic() - started >= 0.3
        assert caught.value.pid == holder.pid
    finally:
        holder.kill()
        holder.wait()


WRITER = """
import sys
from data.store import Store
from tests.data.conftest import add_case, ptx_report

store = Store.open(sys.argv[1])
add_case(store, "ptx")
print("ready", flush=True)
for i in range(100000):
    saved = store.audits.save("ptx", ptx_report())
    print("run", saved.run_id, flush=True)
    for flag_id in saved.flag_ids:
        decision = store.decisions.record(flag_id, "amy", "accept", note=f"note {i}")
        print("decision", decision.decision_id, flush=True)
"""


@pytest.mark.slow
def test_a_process_killed_mid_batch_keeps_every_committed_write_and_no_partial_one(db_path: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path)], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    assert writer.stdout is not None
    committed: dict[str, set[int]] = {"run": set(), "decision": set()}
    assert writer.stdout.readline().strip() == "ready"
    while len(committed["decision"]) < 25:
        kind, number = writer.stdout.readline().split()
        committed[kind].add(int(number))
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()

    con = duckdb.connect(str(db_path))
    runs = dict(
        con.execute("SELECT run_id, json_array_length(report -> '$.flags') FROM audit_runs").fetchall()
    )
    flags = dict(con.execute("SELECT run_id, count(*) FROM flags GROUP BY run_id").fetchall())
    decisions = {r[0] for r in con.execute("SELECT decision_id FROM decisions").fetchall()}
    incomplete = con.execute(
        "SELECT count(*) FROM decisions WHERE reviewer IS NULL OR decision IS NULL OR note IS NULL"
    ).fetchone()
    con.close()

    assert committed["run"] <= set(runs)  # no committed run lost
    assert committed["decision"] <= decisions  # no committed decision lost
    assert all(flags.get(run_id, 0) == n for run_id, n in runs.items())  # no run without all its flags
    assert len(decisions - committed["decision"]) <= 1  # at most the one committed as the kill landed
    assert incomplete == (0,)
    with Store.open(db_path) as store:  # the file opens cleanly afterwards
        assert store.cases.count() == 1
