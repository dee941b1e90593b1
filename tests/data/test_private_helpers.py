"""Nothing outside ``data/`` touches the private helpers of the database, the store or the record
families: they use ``read()``, ``transaction()`` and the families' methods."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from data.sql import Family
from data.store import Store

ROOT = Path(__file__).resolve().parents[2]


@cache
def private_store_names() -> frozenset[str]:
    """The underscore names of the database, the store and the record families (attributes too)."""
    with Store.open(":memory:") as store:
        objects: list[object] = [store, *(v for v in vars(store).values() if isinstance(v, Family))]
        names = {name for obj in objects for name in (*dir(obj), *vars(obj))}
    return frozenset(name for name in names if name.startswith("_") and not name.startswith("__"))


def outside_data() -> list[Path]:
    return sorted(
        path for path in ROOT.rglob("*.py") if path.relative_to(ROOT).parts[0] not in {"data", ".venv"}
    )


def test_the_store_has_private_helpers_to_protect() -> None:
    assert {"_cursor", "_connect", "_release_if_idle"} <= private_store_names()


@pytest.mark.parametrize("path", outside_data(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_outside_data_touches_the_stores_private_helpers(path: Path) -> None:
    private = private_store_names()
    touched = sorted(
        {
            f"line {node.lineno}: .{node.attr}"
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
            if isinstance(node, ast.Attribute) and node.attr in private
        }
    )
    assert touched == []
