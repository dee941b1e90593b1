"""./run.sh's launcher: loopback and the local host names by default; the network only with --share,
which needs shared mode and an educator account. A real ``streamlit run``, started the way
run.sh starts it, listens on 127.0.0.1 only and refuses a WebSocket whose Host is foreign.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from data.accounts import Accounts
from data.store import Store
from tests.workstation.served import streamlit_server
from workstation import launch


def test_by_default_it_binds_loopback_and_accepts_only_the_local_names() -> None:
    chosen = launch.plan(["--server.port", "8600"], {})
    assert not chosen.share and chosen.address == "127.0.0.1"
    assert chosen.hosts == ("localhost", "127.0.0.1", "::1")
    argv = list(chosen.argv)
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--server.allowedHosts"] == list(chosen.hosts)
    assert argv[-2:] == ["--server.port", "8600"] and chosen.env == {}


def test_share_listens_on_the_network_in_shared_mode_with_this_machines_names() -> None:
    chosen = launch.plan(["--share"], {launch.ENV_ALLOWED_HOSTS: "cxr.example.org"}, ["ws-7", "10.0.0.7"])
    assert chosen.share and chosen.address == "0.0.0.0"
    assert chosen.env == {"CXR_AUDIT_MODE": "shared"}
    assert chosen.hosts == ("localhost", "127.0.0.1", "::1", "ws-7", "10.0.0.7", "cxr.example.org")
    assert "--share" not in chosen.argv
    assert launch.plan([], {launch.ENV_SHARE: "1"}).share  # the setting, instead of the flag


@pytest.mark.parametrize(
    "flags",
    [["--server.address", "0.0.0.0"], ["--server.address=0.0.0.0"], ["--server.allowedHosts", "*"]],
    ids=["address", "address=", "allowed-hosts"],
)
def test_the_network_cannot_be_chosen_through_a_streamlit_flag(flags: list[str]) -> None:
    with pytest.raises(launch.LaunchRefusedError, match="--share"):
        launch.plan(flags, {})


def test_sharing_is_refused_without_an_educator_and_says_what_it_exposes(tmp_path: Path) -> None:
    db = str(tmp_path / "audit.duckdb")
    with Store.open(db) as store:
        Accounts(store).add("sam", "student", "x")
    with pytest.raises(launch.LaunchRefusedError, match="users add NAME --role educator"):
        launch.check_shared(db)
    with Store.open(db) as store:
        Accounts(store).add("erin", "educator", "x")
    counts = launch.check_shared(db)
    assert counts == "1 educator(s), 0 reviewer(s), 1 student(s)"
    text = launch.exposure(launch.plan(["--share"], {}, ["ws-7"]), counts)
    assert "every network interface" in text and "ws-7" in text and "sign-in required" in text


def test_a_plain_launch_does_not_import_the_data_layer_before_exec() -> None:
    probe = (
        "import sys, workstation.launch as launch; launch.plan([], {}); "
        "print(sorted({'duckdb', 'pyarrow'} & set(sys.modules)))"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_main_refuses_a_network_flag_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert launch.main(["--server.address", "0.0.0.0"]) == 2
    assert capsys.readouterr().err.startswith("run.sh: --server.address is chosen by ./run.sh")


def _listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on ``port``, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(address)
    return found


@pytest.fixture
def run_sh_server(seeded_db: Path, tmp_path: Path) -> Iterator[int]:
    """``streamlit run`` started with the command line ./run.sh builds, on a free port."""
    with streamlit_server(seeded_db, tmp_path / "streamlit.log") as url:
        yield int(urlsplit(url).port or 0)


def _handshake(port: int, host: str) -> str:
    """A raw WebSocket upgrade to /_stcore/stream with the given Host header; the status line."""
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(1024)
            if not chunk:
                break
            reply += chunk
    return reply.split(b"\r\n", 1)[0].decode(errors="replace")


@pytest.mark.slow
def test_the_run_sh_server_listens_on_loopback_only_and_refuses_a_foreign_host(run_sh_server: int) -> None:
    assert _listening_addresses(run_sh_server) == {"0100007F"}  # 127.0.0.1, and no other interface
    assert " 101 " in _handshake(run_sh_server, f"localhost:{run_sh_server}")  # the control: local works
    refused = _handshake(run_sh_server, "evil.example")
    assert " 101 " not in refused and refused.startswith("HTTP/1.1 4"), refused
    assert " 101 " not in _handshake(run_sh_server, f"evil.example:{run_sh_server}")
