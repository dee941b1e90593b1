"""Fixtures and guards shared by the whole suite.

- No test reaches the network: sockets may connect to loopback only, host names other
  than localhost do not resolve, and the model hub is switched to offline mode, so a
  stray download fails at once, visibly, instead of hanging.
- Capability markers skip with a reason: ``requires_torch``, ``requires_gpu``.
- ``read_only``: makes a file read-only for the test, even when the suite runs as root.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


class NetworkAccessError(RuntimeError):
    """A test tried to reach a host other than this machine's loopback."""


class NameLookupBlockedError(OSError):
    """A test tried to resolve a host name other than localhost."""


def _is_local_host(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX socket path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise NetworkAccessError(f"tests may not reach the network (tried {address!r})")
        return original_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise NetworkAccessError(f"tests may not reach the network (tried {address!r})")
        return original_connect_ex(self, address)

    original_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local_host(host):
            raise NameLookupBlockedError(f"tests may not resolve {host!r}")
        return original_getaddrinfo(host, *args, **kwargs)

    saved = {key: os.environ.get(key) for key in OFFLINE_ENV}
    os.environ.update(OFFLINE_ENV)
    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = original_getaddrinfo
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _has_cuda() -> bool:
    if find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_torch = find_spec("torch") is not None and find_spec("transformers") is not None
    for item in items:
        if "requires_torch" in item.keywords and not has_torch:
            item.add_marker(pytest.mark.skip(reason="torch and transformers are not installed"))
        if "requires_gpu" in item.keywords and not _has_cuda():
            item.add_marker(pytest.mark.skip(reason="no CUDA GPU on this machine"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real NIH / IU data beside the repository; tests that need it skip without it."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (see README: ../shared/data)")
    return SHARED_DATA


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], Path]]:
    """Make files read-only for this test (undone afterwards): ``read_only(path)``.

    Permission bits do not stop root, so as root the file is made immutable (``chattr +i``);
    where that is not allowed the test is skipped, since the case cannot be staged.
    """
    undo: list[Callable[[], object]] = []

    def make(path: Path) -> Path:
        if os.geteuid() != 0:
            mode = path.stat().st_mode
            path.chmod(0o444)
            undo.append(lambda: path.chmod(mode))
            return path
        if shutil.which("chattr") is None:
            pytest.skip(f"running as root without chattr: cannot make {path.name} read-only")
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"running as root and cannot make {path.name} immutable: {done.stderr!r}")
        undo.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))
        return path

    try:
        yield make
    finally:
        for step in reversed(undo):
            step()
