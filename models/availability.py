"""What each backend needs to run here, and whether it has it: for the Models page and the CLI.

Nothing here downloads or loads a model. torch is imported only when it is installed and
:func:`backend_status` (or :func:`gpu_status`) is called; weights are looked for in a
local folder or the Hugging Face cache, without the network.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from models.registry import REGISTRY, BackendSpec
from models.settings import BackendSettings, load_settings

log = logging.getLogger(__name__)

GIB = 1024**3


class GpuStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    torch_installed: bool
    cuda_available: bool = False
    name: str | None = None
    free_bytes: int | None = None
    total_bytes: int | None = None
    torch_version: str | None = None

    def describe(self) -> str:
        if not self.torch_installed:
            return "torch is not installed"
        if not self.cuda_available:
            return f"no CUDA GPU (torch {self.torch_version})"
        free = f"{(self.free_bytes or 0) / GIB:.1f} of {(self.total_bytes or 0) / GIB:.1f} GiB free"
        return f"{self.name}, {free}"


class BackendStatus(BaseModel):
    """One backend's readiness, with what it still needs in words."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    description: str
    runs_on: str
    packages: dict[str, bool]
    model_id: str | None = None
    profile: str | None = None  # the checkpoint profile it calls the model with
    endpoint: str | None = None  # the openai backend's URL
    weights_found: bool | None = None  # None: the backend has no weights
    weights_where: str | None = None
    gpu: GpuStatus | None = None
    needs: tuple[str, ...] = ()  # what is missing before it can run
    notes: tuple[str, ...] = ()  # what to know when it runs (e.g. slow on CPU)

    @property
    def ready(self) -> bool:
        return not self.needs


def gpu_status() -> GpuStatus:
    """CUDA and the first GPU's name and free memory, importing torch only if it is installed."""
    if find_spec("torch") is None:
        return GpuStatus(torch_installed=False)
    import torch

    if not torch.cuda.is_available():
        return GpuStatus(torch_installed=True, torch_version=torch.__version__)
    free, total = torch.cuda.mem_get_info(0)
    return GpuStatus(
        torch_installed=True,
        cuda_available=True,
        name=torch.cuda.get_device_name(0),
        free_bytes=int(free),
        total_bytes=int(total),
        torch_version=torch.__version__,
    )


def find_weights(model_id: str, revision: str | None = None) -> str | None:
    """Where a model's files are on this machine (a folder, or the HF cache), or None. No network."""
    folder = Path(model_id).expanduser()
    if folder.is_dir():
        return str(folder) if (folder / "config.json").is_file() else None
    if model_id.count("/") != 1 or find_spec("huggingface_hub") is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(model_id, "config.json", revision=revision)
    except ValueError as error:  # a malformed repo id
        log.info("cannot look up %s in the cache: %s", model_id, error)
        return None
    return str(Path(found).parent) if isinstance(found, str) else None


def status_of(spec: BackendSpec, settings: BackendSettings, gpu: GpuStatus | None) -> BackendStatus:
    packages = {name: find_spec(name) is not None for name in spec.needed_packages(settings)}
    needs: list[str] = []
    notes: list[str] = []
    missing = [name for name, present in packages.items() if not present]
    if missing:
        needs.append(f"install {', '.join(missing)}: `{spec.install_hint(settings)}`")
    model_id = spec.model_id(settings)
    weights_found: bool | None = None
    where: str | None = None
    local_model = spec.model_class is not None
    if local_model and model_id:
        where = find_weights(model_id, settings.revision)
        weights_found = where is not None
        if not weights_found:
            needs.append(
                f"weights for {model_id}: a local folder (--model PATH) or a hub login with access "
                "(they are downloaded on first load)"
            )
    if local_model and gpu is not None and gpu.torch_installed and not gpu.cuda_available:
        if settings.allow_cpu:
            notes.append(f"no CUDA GPU: runs on CPU in {settings.cpu_quantization}, slowly")
        else:
            needs.append("a CUDA GPU, or allow_cpu = true to run slowly on CPU")
    profile: str | None = None
    if spec.default_profile is not None:
        try:
            chosen, assumed = spec.profile(settings)
        except KeyError as error:  # an unknown profile named in the settings
            needs.append(str(error))
        else:
            profile = chosen.name
            if assumed:
                notes.append(assumed)
    if spec.name == "openai" and not settings.endpoint_url:
        flag = "--endpoint" if spec.kind == "grounder" else "--parser-endpoint"
        needs.append(f"an endpoint URL ({flag}, or endpoint_url in [backends.openai-{spec.kind}])")
    if spec.name == "findings-file" and not settings.findings_path:
        needs.append("a findings file or folder (--findings)")
    return BackendStatus(
        kind=spec.kind,
        name=spec.name,
        description=spec.description,
        runs_on=spec.runs_on,
        packages=packages,
        model_id=model_id if local_model or spec.name == "openai" else None,
        profile=profile,
        endpoint=settings.endpoint_url if spec.name == "openai" else None,
        weights_found=weights_found,
        weights_where=where,
        gpu=gpu if local_model else None,
        needs=tuple(needs),
        notes=tuple(notes),
    )


def backend_status(settings: Mapping[str, BackendSettings] | None = None) -> list[BackendStatus]:
    """Every registered backend's status.

    ``settings`` maps a backend's last settings section (``medgemma``, ``openai-parser``) to
    its settings; a backend not in it gets :func:`load_settings` for its sections.
    """
    chosen = settings or {}
    gpu = gpu_status()
    return [
        status_of(
            spec,
            chosen.get(spec.settings_sections[-1]) or load_settings(backend=spec.settings_sections),
            gpu,
        )
        for spec in REGISTRY.values()
    ]
