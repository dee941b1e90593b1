"""Backend settings: model ids, profiles, quantization, device, token limits, endpoints, paths.

Settings come from code defaults, then a TOML file, then ``CXR_AUDIT_*`` environment
variables, then explicit overrides such as CLI flags (later wins). They are data, not code
edits. :func:`load_settings` applies the layers; ``BackendSettings(...)`` alone is the code
defaults plus whatever is passed.

The TOML file is ``$CXR_AUDIT_CONFIG`` when set (it must then exist), else
``$XDG_CONFIG_HOME/cxr-audit/config.toml`` (``~/.config/cxr-audit/config.toml``) when it
exists. Top-level keys apply to every backend; a ``[backends.<section>]`` table applies to
one. A backend's section is its name, except the ``openai`` backend, whose grounder and
parser read ``[backends.openai]`` and then their own ``[backends.openai-grounder]`` /
``[backends.openai-parser]``, so that each can have its own endpoint::

    quantization = "nf4"
    urgent_labels = ["pneumothorax", "nodule_mass"]

    [backends.medgemma]
    model_id = "/models/medgemma-cxr-auditor-v2"
    profile = "medgemma-cxr-auditor-v2"

    [backends.nemotron]
    enable_thinking = false   # the profile's default is to think

    [backends.openai-grounder]
    endpoint_url = "http://gpu-1:8000/v1"
    concurrency = 8

    [backends.openai-parser]
    endpoint_url = "http://gpu-2:8000/v1"

Environment variables name a field in upper case: ``CXR_AUDIT_QUANTIZATION=int8`` for every
backend, ``CXR_AUDIT_MEDGEMMA_MODEL_ID=/models/mg`` for one section (``-`` in a section name
becomes ``_``: ``CXR_AUDIT_OPENAI_PARSER_ENDPOINT_URL``). List fields take comma-separated
values.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from audit.labels import DEFAULT_URGENT, Label
from audit.schema import ComparePolicy
from models.errors import SettingsError

Quantization = Literal["nf4", "int8", "bf16", "fp32"]
PaddingSide = Literal["left", "right"]

ENV_PREFIX = "CXR_AUDIT_"
CONFIG_ENV = "CXR_AUDIT_CONFIG"
# The smallest token budget that leaves room for a reasoning trace and the answer after it.
MIN_THINKING_TOKENS = 512


# Kept in 16 bits under nf4/int8 (inference and QLoRA alike): the vision tower and projector
# (box precision) and the output head. A skip list replaces bitsandbytes' own defaults, so
# lm_head is listed.
DEFAULT_SKIP_MODULES: tuple[str, ...] = ("vision_tower", "multi_modal_projector", "lm_head")


class BackendSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Model-backed backends. None means the registry entry's default model id.
    model_id: str | None = None
    revision: str | None = None
    quantization: Quantization = "nf4"
    # What a model-backed backend loads on CPU (no CUDA, or device "cpu") when no quantization
    # was given on purpose. bf16 halves memory; nf4 also works on CPU with bitsandbytes.
    cpu_quantization: Quantization = "bf16"
    device: str = "auto"  # "auto", "cuda", "cuda:1", "cpu"
    allow_cpu: bool = True  # on a machine without CUDA: run slowly on CPU (True) or refuse (False)
    # The checkpoint profile (models.checkpoints): None means the profile of the model id,
    # else the backend's default profile.
    profile: str | None = None
    max_new_tokens: int | None = Field(default=None, gt=0)
    # None means the profile's default (Nemotron thinks unless told otherwise).
    enable_thinking: bool | None = None
    batch_size: int = Field(default=4, gt=0)
    padding_side: PaddingSide = "left"  # decoder-only generation pads on the left
    # Retry ladder on a failed parse: 0 = one attempt; 1 = + greedy with a corrective
    # suffix; 2 = + low-temperature sampling.
    max_retries: int = Field(default=2, ge=0, le=2)
    retry_temperature: float = Field(default=0.3, gt=0.0, le=1.0)
    seed: int = 0
    # Modules kept in 16 bits when loading nf4/int8 weights; a name matches a module of that
    # name anywhere in the model.
    skip_modules: tuple[str, ...] = DEFAULT_SKIP_MODULES
    # Refuse to load when free memory is below the estimate times this margin.
    memory_margin: float = Field(default=1.1, ge=1.0)
    urgent_labels: tuple[Label, ...] = DEFAULT_URGENT
    # openai backend: an OpenAI-compatible endpoint serving the same models.
    endpoint_url: str | None = None
    api_key_env: str = "CXR_AUDIT_API_KEY"
    timeout_s: float = Field(default=120.0, gt=0)
    http_retries: int = Field(default=2, ge=0, le=10)
    # Requests the openai backend keeps in flight at once (the server batches them).
    concurrency: int = Field(default=4, ge=1, le=64)
    # findings-file grounder: a JSON file, or a folder of <case_id>.json files.
    findings_path: str | None = None

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        device = value.strip().lower()
        if device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit()):
            return device
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {value!r}")

    @field_validator("urgent_labels")
    @classmethod
    def _no_urgent_no_finding(cls, value: tuple[Label, ...]) -> tuple[Label, ...]:
        if "no_finding" in value:
            raise ValueError("no_finding cannot be urgent")
        return value


FIELDS: tuple[str, ...] = tuple(BackendSettings.model_fields)


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the user's settings file lives when ``CXR_AUDIT_CONFIG`` is not set."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cxr-audit" / "config.toml"


def config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The settings file to read, or None. ``CXR_AUDIT_CONFIG`` must name an existing file."""
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise SettingsError(f"{CONFIG_ENV} names {path}, which is not a file")
        return path
    default = user_config_path(env)
    return default if default.is_file() else None


def writable_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The settings file a change is saved to: ``$CXR_AUDIT_CONFIG`` when set, else the user's."""
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_ENV)
    return Path(named).expanduser() if named else user_config_path(env)


def update_config_file(path: Path, section: str, changes: Mapping[str, Any]) -> None:
    """Set (or, for None, remove) keys of ``[backends.<section>]`` in the TOML file at ``path``.

    The result is checked as settings before anything is written. The file is rewritten, so
    comments in it are not kept; the previous file is kept beside it as ``<name>.bak``.
    """
    _check_keys(changes, "the change")
    document: dict[str, Any] = {}
    if path.is_file():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(f"cannot read settings file {path}: {error}") from None
    tables = document.setdefault("backends", {})
    table = tables.setdefault(section, {})
    for key, value in changes.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = list(value) if isinstance(value, tuple) else value
    if not table:
        del tables[section]
    top = {key: value for key, value in document.items() if key != "backends"}
    try:
        BackendSettings(**{**top, **table})
    except ValidationError as error:
        raise SettingsError(
            f"invalid settings for [backends.{section}]: {error.errors()[0]['msg']}"
        ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        path.with_name(f"{path.name}.bak").write_bytes(path.read_bytes())
    path.write_text(to_toml(document), encoding="utf-8")


def to_toml(document: Mapping[str, Any]) -> str:
    """A settings document as TOML: top-level keys, then one ``[backends.<section>]`` table each."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in document.items() if key != "backends"]
    for section, table in (document.get("backends") or {}).items():
        lines.extend(["", f"[backends.{section}]"])
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items())
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise SettingsError(f"a setting cannot hold {value!r}")


def _check_keys(values: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)} in {where}; known: {', '.join(FIELDS)}")


def read_config_file(path: Path, backend: str | Sequence[str] | None = None) -> dict[str, Any]:
    """The settings a TOML file gives: its top-level keys, then each ``[backends.<section>]``."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"cannot read settings file {path}: {error}") from None
    tables = document.pop("backends", {})
    if not isinstance(tables, dict):
        raise SettingsError(f"'backends' in {path} must be a table of per-backend tables")
    _check_keys(document, str(path))
    values = dict(document)
    for section in sections(backend):
        table = tables.get(section)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise SettingsError(f"[backends.{section}] in {path} must be a table")
        _check_keys(table, f"[backends.{section}] of {path}")
        values.update(table)
    return values


def sections(backend: str | Sequence[str] | None) -> tuple[str, ...]:
    if backend is None:
        return ()
    return (backend,) if isinstance(backend, str) else tuple(backend)


def _is_sequence_field(name: str) -> bool:
    annotation = BackendSettings.model_fields[name].annotation
    return get_origin(annotation) is tuple


def _env_value(name: str, raw: str) -> Any:
    if _is_sequence_field(name):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if raw.strip().lower() in ("", "none", "null") and type(None) in get_args(
        BackendSettings.model_fields[name].annotation
    ):
        return None
    return raw


def read_environment(
    environ: Mapping[str, str], backend: str | Sequence[str] | None = None
) -> dict[str, Any]:
    """The settings ``CXR_AUDIT_<FIELD>`` (then ``CXR_AUDIT_<SECTION>_<FIELD>``) variables give."""
    values: dict[str, Any] = {}
    prefixes = [ENV_PREFIX]
    prefixes.extend(f"{ENV_PREFIX}{section.upper().replace('-', '_')}_" for section in sections(backend))
    for prefix in prefixes:
        for name in FIELDS:
            key = f"{prefix}{name.upper()}"
            if key in environ:
                values[name] = _env_value(name, environ[key])
    return values


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    backend: str | Sequence[str] | None = None,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> BackendSettings:
    """Settings from code defaults ← TOML file ← environment ← ``overrides`` (later wins).

    ``backend`` names the section (or sections, later wins) whose ``[backends.<section>]``
    tables and variables apply; :func:`models.registry.settings_sections` gives a backend's.
    Overrides whose value is None (a CLI flag not given) are ignored.
    """
    env = os.environ if environ is None else environ
    path = config_file if config_file is not None else config_path(env)
    values: dict[str, Any] = {}
    if path is not None:
        values.update(read_config_file(path, backend))
    values.update(read_environment(env, backend))
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    _check_keys(given, "the overrides")
    values.update(given)
    try:
        return BackendSettings(**values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None


def compare_policy(settings: BackendSettings | None = None) -> ComparePolicy:
    """The comparator policy the settings ask for (today: the urgent list).

    Without ``settings`` the layered settings (file, then environment) are read.
    """
    chosen = settings if settings is not None else load_settings()
    return ComparePolicy(urgent_labels=chosen.urgent_labels)
