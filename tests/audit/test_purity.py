"""The audit core stays pure: it imports without torch, transformers, streamlit or duckdb."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

AUDIT = Path(__file__).resolve().parents[2] / "audit"
HEAVY = ("torch", "transformers", "bitsandbytes", "streamlit", "duckdb", "PIL", "pydicom", "models", "data")
ALLOWED_THIRD_PARTY = {"numpy", "pydantic"}

# Importing the whole core with the heavy stacks made unimportable: a meta-path finder
# refuses them, as if they were not installed.
BLOCKED_IMPORT = f"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {HEAVY!r}:
            raise ModuleNotFoundError(f'blocked: {{name}}')
sys.meta_path.insert(0, Refuse())
import pkgutil, importlib, audit
for module in pkgutil.walk_packages(audit.__path__, 'audit.'):
    importlib.import_module(module.name)
print('ok')
"""


def test_every_audit_module_imports_with_heavy_stacks_absent() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_IMPORT], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


# Subpackages too (audit/recover/, audit/evaluate/): every file of the core is checked.
@pytest.mark.parametrize("path", sorted(AUDIT.rglob("*.py")), ids=lambda p: str(p.relative_to(AUDIT)))
def test_audit_modules_import_only_stdlib_numpy_and_pydantic(path: Path) -> None:
    third_party = {
        root for root in _imported_roots(path) if root not in sys.stdlib_module_names and root != "audit"
    }
    assert third_party <= ALLOWED_THIRD_PARTY


def test_importing_the_core_pulls_in_no_heavy_stack() -> None:
    code = (
        "import sys, audit.pipeline, audit.recover; print(sorted(m for m in {h} if m in sys.modules))".format(
            h=set(HEAVY) - {"models", "data"}
        )
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
