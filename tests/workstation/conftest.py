"""Fixtures for the workstation: a small seeded audit database with real image files.

Four cases, each built to raise known flags with the CPU defaults (``reference`` grounder,
``rules`` parser):

- ``case-ptx``: a right pneumothorax the draft denies → URGENT and MISSING;
- ``case-eff``: a left effusion, the draft adds cardiomegaly → UNSUPPORTED;
- ``case-normal``: nothing found, nothing said → no flags;
- ``case-phantom``: a synthetic phantom with a nodule the draft reports → URGENT.
"""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from audit.schema import Box
from data.connection import ENV_DB
from data.records import CaseImport, CaseRecord, ReferenceFinding
from data.store import Store
from workstation import ui

IMAGE_SIZE = (320, 288)  # width, height


@dataclass(frozen=True)
class SeedCase:
    case_id: str
    draft: str
    findings: tuple[tuple[str, Box], ...]
    is_phantom: bool = False


SEED_CASES: tuple[SeedCase, ...] = (
    SeedCase(
        "case-ptx",
        "No pneumothorax. Heart size is normal.",
        (("pneumothorax", Box(x0=0.08, y0=0.10, x1=0.42, y1=0.50)),),
    ),
    SeedCase(
        "case-eff",
        "Small left pleural effusion. Mild cardiomegaly.",
        (("pleural_effusion", Box(x0=0.58, y0=0.62, x1=0.92, y1=0.90)),),
    ),
    SeedCase("case-normal", "No acute cardiopulmonary process.", ()),
    SeedCase(
        "case-phantom",
        "Right upper lobe nodule.",
        (("nodule_mass", Box(x0=0.22, y0=0.20, x1=0.32, y1=0.30)),),
        is_phantom=True,
    ),
)


def write_image(path: Path, seed: int) -> None:
    """A smooth grayscale frame with two darker 'lungs' (enough to see the boxes land)."""
    width, height = IMAGE_SIZE
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = 150 + 40 * np.sin(yy / height * np.pi)
    for cx in (0.3, 0.7):
        lung = ((xx / width - cx) / 0.16) ** 2 + ((yy / height - 0.5) / 0.32) ** 2 < 1
        base = np.where(lung, base - 90, base)
    pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, mode="L").save(path)


def seed_store(store: Store, image_dir: Path) -> None:
    image_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for index, seed in enumerate(SEED_CASES):
        path = image_dir / f"{seed.case_id}.png"
        write_image(path, index)
        items.append(
            CaseImport(
                case=CaseRecord(
                    case_id=seed.case_id,
                    image_id=path.name,
                    image_path=str(path),
                    width=IMAGE_SIZE[0],
                    height=IMAGE_SIZE[1],
                    source="demo" if seed.is_phantom else "test",
                    view="PA",
                    is_phantom=seed.is_phantom,
                ),
                findings=tuple(
                    ReferenceFinding(label=label, box=box, source="reference:test")  # type: ignore[arg-type]
                    for label, box in seed.findings
                ),
            )
        )
    store.cases.upsert_many(items)
    for seed in SEED_CASES:
        store.drafts.add(seed.case_id, seed.draft, kind="human", author="resident")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An open database holding the four seed cases (none audited yet)."""
    with Store.open(tmp_path / "audit.duckdb") as opened:
        seed_store(opened, tmp_path / "images")
        yield opened


@pytest.fixture
def seeded_db(tmp_path: Path) -> Path:
    """A closed database file holding the four seed cases (none audited yet)."""
    path = tmp_path / "audit.duckdb"
    with Store.open(path) as store:
        seed_store(store, tmp_path / "images")
    return path


@pytest.fixture
def app_db(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The seeded database as the app sees it (``CXR_AUDIT_DB``), through the process-wide store."""
    monkeypatch.setenv(ENV_DB, str(seeded_db))
    store = Store.shared(seeded_db)
    yield store
    ui.auditor().drain()  # the pages queue audits and prefetches on the store about to close
    store.close()


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Path]:
    """Where screenshots go; copied to <repo>/screenshots/ (git-ignored) after the test."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    target = REPO_ROOT / "screenshots"
    target.mkdir(exist_ok=True)
    for shot in folder.glob("*.png"):
        shutil.copy2(shot, target / shot.name)


APP_SCRIPT = Path(__file__).resolve().parents[2] / "workstation" / "app.py"
PAGES = ("worklist", "review", "teaching", "evaluation", "export", "models")


@pytest.fixture
def app(app_db: Store) -> Callable[..., AppTest]:
    """Build an AppTest of the workstation on the seeded database, opened at ``page`` for ``reviewer``."""

    def build(page: str = "worklist", reviewer: str | None = "ana", case: str | None = None) -> AppTest:
        at = AppTest.from_file(str(APP_SCRIPT), default_timeout=60)
        if reviewer is not None:
            at.query_params["reviewer"] = reviewer
        if case is not None:
            at.query_params["case"] = case
        at.run()
        if page != "worklist":
            at.switch_page(f"app_pages/{page}.py").run()
        return at

    return build


def add_unchecked_draft(
    store: Store, monkeypatch: pytest.MonkeyPatch, case_id: str, text: str, **fields: Any
) -> int:
    """Store a draft the store now refuses (blank, over the length limit), as a database
    written before it checked drafts may hold one; the check stays off for the test."""
    monkeypatch.setattr("data.drafts.checked_draft", lambda case_id, text: text)
    return store.drafts.add(case_id, text, **fields)


def no_exceptions(at: AppTest) -> None:
    """Fail with the app's own messages when a run raised."""
    assert not at.exception, [item.value for item in at.exception]


def shown(markdown: str) -> str:
    """The text a person reads from a Markdown source the app escaped (``workstation.text.md``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


PASSWORD = "teaching server password"
ACCOUNTS = (
    ("erin", "educator"),
    ("rita", "reviewer"),
    ("rob", "reviewer"),
    ("sam", "student"),
    ("kim", "student"),
)


@functools.cache
def _password_hash() -> str:
    from workstation.auth import hash_password

    return hash_password(PASSWORD)


@pytest.fixture
def shared_db(app_db: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The seeded database in shared mode: five accounts (one password) and two assignments.

    "Pneumothorax week" gives sam case-ptx and case-eff; "Board review 1" gives everyone case-normal.
    """
    from data.accounts import Accounts
    from data.assignments import Assignments

    monkeypatch.setenv("CXR_AUDIT_MODE", "shared")
    accounts = Accounts(app_db)
    for name, role in ACCOUNTS:
        accounts.add(name, role, _password_hash())  # type: ignore[arg-type]
    assignments = Assignments(app_db)
    assignments.create("Board review 1", ["case-normal"], created_by="erin", everyone=True)
    assignments.create("Pneumothorax week", ["case-ptx", "case-eff"], created_by="erin", students=["sam"])
    return app_db


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="si_name").input(name)
    at.text_input(key="si_password").input(password)
    return at.button(key="si_submit").click().run()


@pytest.fixture
def shared_app(shared_db: Store) -> Callable[..., AppTest]:
    """An AppTest of the shared server, signed in as ``name`` (None: not signed in), at ``page``."""

    def build(name: str | None, page: str | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(str(APP_SCRIPT), default_timeout=60)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        if name is not None:
            sign_in(at, name)
        if page is not None:
            at.switch_page(f"app_pages/{page}.py").run()
        return at

    return build


# AppTest's element lists whose values Streamlit reads as Markdown.
MARKDOWN_KINDS = (
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "info",
    "warning",
    "error",
    "success",
)


def page_text(at: AppTest) -> str:
    """Everything a page shows as text (Markdown unescaped, tables as their cells), lower-cased."""
    parts: list[str] = []
    for kind in (*MARKDOWN_KINDS, "text"):
        parts.extend(shown(str(item.value)) for item in getattr(at, kind))
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    for expander in at.expander:
        parts.append(shown(expander.label))
    for box in at.selectbox:
        parts.extend(str(option) for option in box.options)
    return "\n".join(parts).lower()
