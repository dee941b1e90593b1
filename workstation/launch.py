"""How ``./run.sh`` starts the app: on loopback by default; on the network only when asked.

``python -m workstation.launch [--share] [STREAMLIT FLAGS…]`` execs ``streamlit run``:

- by default it binds 127.0.0.1 and accepts WebSocket connections only for the local
  names (``server.allowedHosts``), so a page on another site cannot reach the app
  through DNS rebinding;
- ``--share`` (or ``CXR_AUDIT_SHARE=1``) listens on every interface, and then requires
  shared mode: it sets ``CXR_AUDIT_MODE=shared``, refuses to start without an active
  educator account, accepts this machine's own names and addresses (and any listed in
  ``CXR_AUDIT_ALLOWED_HOSTS``), and prints what it exposes before starting.

Choosing the network through a Streamlit flag (``--server.address``) is refused: it
would skip these checks.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"
LOCAL_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
ENV_SHARE = "CXR_AUDIT_SHARE"
ENV_ALLOWED_HOSTS = "CXR_AUDIT_ALLOWED_HOSTS"
APP = "workstation/app.py"
DEFAULT_PORT = "8501"


class LaunchRefusedError(RuntimeError):
    """The app was not started, for the reason given."""


@dataclass(frozen=True)
class Plan:
    share: bool
    address: str
    hosts: tuple[str, ...]
    port: str
    argv: tuple[str, ...]  # the streamlit command line
    env: dict[str, str]  # environment additions


def machine_names() -> list[str]:
    """This machine's host name, full name and addresses: the names people on the network use."""
    names = {socket.gethostname(), socket.getfqdn()}
    for name in list(names):
        try:
            names.update(info[4][0] for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, suppress(OSError):
        # Connecting a UDP socket sends nothing; it picks the address of the outgoing interface,
        # which /etc/hosts often does not list under the host name.
        probe.connect(("192.0.2.1", 9))
        names.add(probe.getsockname()[0])
    return sorted(n for n in names if n and not n.startswith("127.") and n != "::1")


def _option(flags: Sequence[str], name: str) -> str | None:
    for index, flag in enumerate(flags):
        if flag == name and index + 1 < len(flags):
            return flags[index + 1]
        if flag.startswith(name + "="):
            return flag.split("=", 1)[1]
    return None


def plan(argv: Sequence[str], environ: Mapping[str, str], names: Sequence[str] = ()) -> Plan:
    """The streamlit command for these arguments (``--share`` and Streamlit flags)."""
    flags = [a for a in argv if a != "--share"]
    share = "--share" in argv or environ.get(ENV_SHARE, "") not in ("", "0")
    for forbidden in ("--server.address", "--server.allowedHosts"):
        if _option(flags, forbidden) is not None:
            raise LaunchRefusedError(
                f"{forbidden} is chosen by ./run.sh: it listens on 127.0.0.1 unless you pass --share "
                "(which needs shared mode: sign-in, roles, an audit trail)"
            )
    port = _option(flags, "--server.port") or DEFAULT_PORT
    extra = [h.strip() for h in environ.get(ENV_ALLOWED_HOSTS, "").split(",") if h.strip()]
    hosts = tuple(dict.fromkeys([*LOCAL_HOSTS, *(names if share else ()), *(extra if share else ())]))
    address = "0.0.0.0" if share else LOOPBACK
    command = [sys.executable, "-m", "streamlit", "run", APP, "--server.address", address]
    for host in hosts:
        command += ["--server.allowedHosts", host]
    return Plan(
        share=share,
        address=address,
        hosts=hosts,
        port=port,
        argv=(*command, *flags),
        env=_shared_env() if share else {},
    )


# The data layer (duckdb, pyarrow) is imported only when sharing: a plain ./run.sh execs streamlit
# without paying for it.
def _shared_env() -> dict[str, str]:
    from workstation.access import ENV_MODE

    return {ENV_MODE: "shared"}


def check_shared(db_path: str) -> str:
    """Refuse to share without an educator who can sign in; the accounts in one line."""
    from data.accounts import Accounts
    from data.store import Store

    with Store.open(db_path, idle_release_s=0, lock_timeout_s=10.0) as store:
        accounts = [a for a in Accounts(store).all() if not a.disabled]
    if not any(a.role == "educator" for a in accounts):
        raise LaunchRefusedError(
            "sharing needs an educator account first: cxr-audit users add NAME --role educator"
        )
    counts = {
        role: sum(1 for a in accounts if a.role == role) for role in ("educator", "reviewer", "student")
    }
    return ", ".join(f"{n} {role}(s)" for role, n in counts.items())


def exposure(chosen: Plan, accounts: str) -> str:
    """What sharing exposes, printed before the server starts."""
    lines = [
        f"run.sh --share: listening on every network interface, port {chosen.port}.",
        "  Anyone who can reach this machine can open the sign-in page; shared mode is on:",
        "  sign-in required, pages by role, students never see a case's answers before submitting,",
        "  every sign-in and role-relevant action in the audit trail.",
        f"  Accounts that can sign in: {accounts}.",
        f"  Host names accepted (server.allowedHosts): {', '.join(chosen.hosts)}.",
        f"  Open http://{socket.gethostname()}:{chosen.port}/ from another machine (plain HTTP: put it "
        "behind TLS before using it beyond a trusted network).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        share = "--share" in args or os.environ.get(ENV_SHARE, "") not in ("", "0")
        chosen = plan(args, os.environ, machine_names() if share else ())
        if chosen.share:
            from data.connection import resolve_db_path

            sys.stderr.write(exposure(chosen, check_shared(resolve_db_path())) + "\n")
    except LaunchRefusedError as error:
        sys.stderr.write(f"run.sh: {error}\n")
        return 2
    env = {**os.environ, **chosen.env}
    os.execvpe(chosen.argv[0], list(chosen.argv), env)
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
