"""A real ``streamlit run`` of the app for the browser and launch tests: started with the command
line ./run.sh builds (``workstation.launch``) on a free loopback port, stopped afterwards, and its
log checked for tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from data.connection import ENV_DB
from workstation import launch

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 45


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout_s} s")


@contextmanager
def streamlit_server(db: Path, log_path: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """The app over ``db`` at ``http://127.0.0.1:PORT`` (the URL is yielded); ``env`` adds settings."""
    port = free_port()
    chosen = launch.plan(["--server.port", str(port), "--server.fileWatcherType", "none"], {})
    full_env = {**os.environ, ENV_DB: str(db), "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            list(chosen.argv), cwd=REPO_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(url, server, SERVER_START_TIMEOUT_S)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    server_log = log_path.read_text(errors="replace")
    assert "Traceback" not in server_log, server_log
