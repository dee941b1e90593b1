"""Fixtures for the model backend tests: tiny random-weight models built once per session.

The root conftest refuses connections and name lookups beyond loopback and sets the
hub offline, so a backend that tried to reach a hub id or an endpoint fails at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest

from models import loading

HAS_TORCH = find_spec("torch") is not None and find_spec("transformers") is not None


@pytest.fixture(scope="session")
def tiny_medgemma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Gemma3ForConditionalGeneration with processor and chat template, saved once."""
    if not HAS_TORCH:
        pytest.skip("torch and transformers are not installed")
    from models.synthetic import build_tiny_medgemma

    return build_tiny_medgemma(tmp_path_factory.mktemp("tiny-medgemma"))


@pytest.fixture(scope="session")
def tiny_nemotron_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny NemotronHForCausalLM with tokenizer and a thinking chat template, saved once."""
    if not HAS_TORCH:
        pytest.skip("torch and transformers are not installed")
    from models.synthetic import build_tiny_nemotron

    return build_tiny_nemotron(tmp_path_factory.mktemp("tiny-nemotron"))


@pytest.fixture
def fresh_model_cache() -> Iterator[None]:
    """Start and end a test with no loaded models cached (for tests of the cache itself)."""
    loading.clear_cache()
    yield
    loading.clear_cache()
