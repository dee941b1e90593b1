"""A real ``streamlit run`` of the app for the browser and launch tests: started with the command
line ./run.sh builds (``workstation.launch``) on a free loopback port, stopped afterwards, and its
log checked for tracebacks."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bench.server import free_port, stop, wait_for_health
from data.connection import ENV_DB
from workstation import launch

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 45


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
            stop(server)
    server_log = log_path.read_text(errors="replace")
    assert "Traceback" not in server_log, server_log
