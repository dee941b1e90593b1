"""Nothing outside ``data/`` touches the private helpers of the database, the store or the record
families: they use ``read()``, ``transaction()`` and the families' methods.

A private name that a class outside ``data/`` defines for itself too (``_lock`` is common) is
left out: ``something._lock`` there may well be that class's own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from data.sql import Family
from data.store import Store

ROOT = Path(__file__).resolve().parents[2]
# The helpers the issue found used from outside, whatever else the store defines.
FORMERLY_REACHED = frozenset({"_read", "_write", "_release_if_idle"})


def outside_data() -> list[Path]:
    return sorted(
        path for path in ROOT.rglob("*.py") if path.relative_to(ROOT).parts[0] not in {"data", ".venv"}
    )


def _class_attributes(tree: ast.AST) -> Iterator[str]:
    """The names the classes of a module define: methods, class attributes, ``self.x = ...``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in ast.walk(node):
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item in node.body:
                yield item.name
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                yield item.target.id
            elif isinstance(item, ast.Assign):
                for target in item.targets:
                    if isinstance(target, ast.Name) and item in node.body:
                        yield target.id
                    elif (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                    ):
                        yield target.attr


@cache
def private_store_names() -> frozenset[str]:
    """The underscore names of the database, the store and the record families (attributes too),
    less those a class outside ``data/`` also defines."""
    with Store.open(":memory:") as store:
        objects: list[object] = [store, *(v for v in vars(store).values() if isinstance(v, Family))]
        names = {name for obj in objects for name in (*dir(obj), *vars(obj))}
    private = {name for name in names if name.startswith("_") and not name.startswith("__")}
    elsewhere = {name for path in outside_data() for name in _class_attributes(ast.parse(path.read_text()))}
    return frozenset((private - elsewhere) | FORMERLY_REACHED)


def test_the_store_has_private_helpers_to_protect() -> None:
    assert {"_cursor", "_connect", "_migrate", "_release_if_idle", "_read", "_write"} <= private_store_names()


def test_a_name_a_class_elsewhere_defines_for_itself_is_not_counted() -> None:
    assert "_lock" not in private_store_names()  # bench.fake_endpoint's lock, and the store's


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
