"""The ``--db`` and ``--wait`` options every command that opens the audit database takes."""

from __future__ import annotations

import argparse

# A command holds the database only while it reads or writes; the app may hold it in between,
# so wait a while for it rather than fail at once.
DEFAULT_WAIT_S = 10.0


def add_db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="audit database file (default: $CXR_AUDIT_DB, else ~/.local/share/cxr-audit/audit.duckdb)",
    )
    parser.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_WAIT_S,
        help=f"how long to wait for another process to release the database (default {DEFAULT_WAIT_S:g})",
    )
