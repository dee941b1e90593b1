"""Named perception backends. Each entry says what it is, what it needs, and how to build it.

Factories are ``"module:callable"`` strings imported only when that backend is chosen, so
naming a backend never imports a heavy stack.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Literal

from audit.protocols import DraftParser, Grounder
from models.checkpoints import (
    DEFAULT_GROUNDING_PROFILE,
    DEFAULT_PARSING_PROFILE,
    DEFAULT_REPORT_PROFILE,
    AnyProfile,
    ProfileTask,
    choose_profile,
)
from models.errors import BackendUnavailableError, UnknownBackendError
from models.settings import BackendSettings, Quantization, load_settings

if TYPE_CHECKING:  # the generators import this module
    from models.report_generator import ReportGenerator

Kind = Literal["grounder", "parser", "generator"]
_PROFILE_TASKS: dict[Kind, ProfileTask] = {
    "grounder": "grounding",
    "parser": "parsing",
    "generator": "report",
}

MEDGEMMA_MODEL_ID = "alex-feeel/medgemma-cxr-auditor-v2"
MEDGEMMA_BASE_ID = "google/medgemma-1.5-4b-it"  # the fine-tunes' base; google/medgemma-4b-it also works
NEMOTRON_MODEL_ID = "nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16"

QUANTIZED: tuple[Quantization, ...] = ("nf4", "int8")  # bitsandbytes weights

# Import names whose pip package is named differently.
PIP_NAMES: dict[str, str] = {"PIL": "pillow"}


@dataclass(frozen=True)
class BackendSpec:
    name: str
    kind: Kind
    description: str
    factory: str  # "package.module:callable" taking BackendSettings
    requires: tuple[str, ...] = ()  # import names that must be installed
    runs_on: str = "CPU"
    quantized_requires: tuple[str, ...] = ()  # needed only for nf4/int8 weights
    # Model-backed backends: the model used when the settings name none (a hub id or a
    # local folder), the base it was fine-tuned from, and the transformers classes that
    # load it (chosen here, never guessed from an error).
    default_model_id: str | None = None
    base_model_id: str | None = None
    model_class: str | None = None  # e.g. "AutoModelForImageTextToText"
    preprocessor_class: str | None = None  # "AutoProcessor" or "AutoTokenizer"
    # For the memory estimate when the model's own config is not at hand: a
    # "module:callable" returning the published architecture's config, else a rough count.
    published_config: str | None = None
    approx_params: float | None = None
    # Model-backed backends: the checkpoint profile (models.checkpoints) used when neither
    # the settings nor the model id name one.
    default_profile: str | None = None

    @property
    def settings_sections(self) -> tuple[str, ...]:
        """The ``[backends.<section>]`` tables (and variables) this backend reads, later wins.

        The openai grounder and parser share ``openai`` and each has its own, so that the two
        can talk to different endpoints. A report generator reads only ``<name>-generator``:
        MedGemma the grounder and MedGemma the report writer load different models.
        """
        if self.kind == "generator":
            return (f"{self.name}-generator",)
        return (self.name, f"{self.name}-{self.kind}") if self.name == "openai" else (self.name,)

    def profile(self, settings: BackendSettings) -> tuple[AnyProfile, str | None]:
        """The checkpoint profile under ``settings``, and a note when it was assumed."""
        if self.default_profile is None:
            raise ValueError(f"the {self.name!r} {self.kind} calls no checkpoint")
        return choose_profile(
            _PROFILE_TASKS[self.kind],
            self.model_id(settings) or "",
            settings.profile,
            self.default_profile,
        )

    def model_id(self, settings: BackendSettings) -> str | None:
        """The model this backend loads under ``settings``: the settings' id, else the default."""
        return settings.model_id or self.default_model_id

    def install_hint(self, settings: BackendSettings | None = None) -> str | None:
        """What to install for this backend to run here, or None when nothing is missing."""
        missing = self.missing_packages(settings)
        if not missing:
            return None
        return f"pip install {' '.join(PIP_NAMES.get(name, name) for name in missing)}"

    def needed_packages(self, settings: BackendSettings | None = None) -> tuple[str, ...]:
        """Import names this backend needs; 4- and 8-bit weights add ``quantized_requires``."""
        if settings is not None and settings.quantization in QUANTIZED:
            return self.requires + self.quantized_requires
        return self.requires

    def missing_packages(self, settings: BackendSettings | None = None) -> list[str]:
        return [package for package in self.needed_packages(settings) if find_spec(package) is None]

    def build(self, settings: BackendSettings) -> Any:
        # bitsandbytes is checked when loading, once the device (and so the precision) is known.
        missing = self.missing_packages()
        if missing:
            raise BackendUnavailableError(
                f"the {self.name!r} {self.kind} needs {', '.join(missing)}: "
                f"install with `{self.install_hint()}` (or ./run.sh)"
            )
        module_name, _, attr = self.factory.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):  # "Class.classmethod" factories
            target = getattr(target, part)
        factory: Callable[[BackendSettings], Any] = target
        return factory(settings)


_SPECS: tuple[BackendSpec, ...] = (
    BackendSpec(
        name="reference",
        kind="grounder",
        description="Expert boxes stored with the case (teaching worklists, evaluation).",
        factory="models.reference:ReferenceGrounder.from_settings",
    ),
    BackendSpec(
        name="findings-file",
        kind="grounder",
        description="Findings JSON made elsewhere (a batch GPU job, another model).",
        factory="models.findings_file:FindingsFileGrounder.from_settings",
    ),
    BackendSpec(
        name="rules",
        kind="parser",
        description="Deterministic lexicon with negation, uncertainty and laterality rules.",
        factory="models.rules.parser:RulesParser.from_settings",
    ),
    BackendSpec(
        name="medgemma",
        kind="grounder",
        description="Fine-tuned MedGemma 4B: boxes for the six labels, 4-bit on a consumer GPU.",
        factory="models.medgemma:MedGemmaGrounder.from_settings",
        requires=("torch", "transformers", "accelerate", "PIL"),
        quantized_requires=("bitsandbytes",),
        runs_on="GPU (CPU possible, slow)",
        default_model_id=MEDGEMMA_MODEL_ID,
        base_model_id=MEDGEMMA_BASE_ID,
        model_class="AutoModelForImageTextToText",
        preprocessor_class="AutoProcessor",
        published_config="models.published_configs:medgemma_4b_config",
        approx_params=4.3e9,
        default_profile=DEFAULT_GROUNDING_PROFILE,
    ),
    BackendSpec(
        name="nemotron",
        kind="parser",
        description="Nemotron-3 Nano 4B: labels with status and verbatim spans, checked against the draft.",
        factory="models.nemotron:NemotronParser.from_settings",
        requires=("torch", "transformers", "accelerate"),
        quantized_requires=("bitsandbytes",),
        runs_on="GPU (CPU possible, slow)",
        default_model_id=NEMOTRON_MODEL_ID,
        model_class="AutoModelForCausalLM",
        preprocessor_class="AutoTokenizer",
        published_config="models.published_configs:nemotron_4b_config",
        approx_params=3.97e9,
        default_profile=DEFAULT_PARSING_PROFILE,
    ),
    BackendSpec(
        name="openai",
        kind="grounder",
        description="The grounder's chat over an OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama).",
        factory="models.openai_backend:OpenAIGrounder.from_settings",
        requires=("PIL",),
        runs_on="remote",
        default_model_id=MEDGEMMA_MODEL_ID,
        default_profile=DEFAULT_GROUNDING_PROFILE,
    ),
    BackendSpec(
        name="openai",
        kind="parser",
        description="The parser's chat over an OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama).",
        factory="models.openai_backend:OpenAIParser.from_settings",
        runs_on="remote",
        default_model_id=NEMOTRON_MODEL_ID,
        default_profile=DEFAULT_PARSING_PROFILE,
    ),
    BackendSpec(
        name="medgemma",
        kind="generator",
        description="Base MedGemma 4B writing a report with this project's prompt (cxr-audit generate).",
        factory="models.report_generator:MedGemmaReportGenerator.from_settings",
        requires=("torch", "transformers", "accelerate", "PIL"),
        quantized_requires=("bitsandbytes",),
        runs_on="GPU (CPU possible, slow)",
        default_model_id=MEDGEMMA_BASE_ID,
        model_class="AutoModelForImageTextToText",
        preprocessor_class="AutoProcessor",
        published_config="models.published_configs:medgemma_4b_config",
        approx_params=4.3e9,
        default_profile=DEFAULT_REPORT_PROFILE,
    ),
    BackendSpec(
        name="openai",
        kind="generator",
        description="A report generator behind an OpenAI-compatible endpoint (vLLM, TGI).",
        factory="models.report_generator:OpenAIReportGenerator.from_settings",
        requires=("PIL",),
        runs_on="remote",
        default_model_id=MEDGEMMA_BASE_ID,
        default_profile=DEFAULT_REPORT_PROFILE,
    ),
)

REGISTRY: dict[tuple[Kind, str], BackendSpec] = {(spec.kind, spec.name): spec for spec in _SPECS}


def register(spec: BackendSpec) -> None:
    """Add a backend (used by tests and plug-ins); a name is registered once per kind."""
    key = (spec.kind, spec.name)
    if key in REGISTRY:
        raise ValueError(f"{spec.kind} {spec.name!r} is already registered")
    REGISTRY[key] = spec


def names(kind: Kind) -> list[str]:
    return [name for (k, name) in REGISTRY if k == kind]


def spec_for(kind: Kind, name: str) -> BackendSpec:
    try:
        return REGISTRY[(kind, name)]
    except KeyError:
        raise UnknownBackendError(kind, name, names(kind)) from None


def get_grounder(name: str, settings: BackendSettings | None = None) -> Grounder:
    """Build a grounder; without ``settings``, they are read from the file and environment."""
    spec = spec_for("grounder", name)
    chosen = settings if settings is not None else load_settings(backend=spec.settings_sections)
    grounder: Grounder = spec.build(chosen)
    return grounder


def get_generator(name: str, settings: BackendSettings | None = None) -> ReportGenerator:
    """Build a report generator; without ``settings``, they are read from its settings table."""
    spec = spec_for("generator", name)
    chosen = settings if settings is not None else load_settings(backend=spec.settings_sections)
    generator: ReportGenerator = spec.build(chosen)
    return generator


def get_parser(name: str, settings: BackendSettings | None = None) -> DraftParser:
    """Build a draft parser; without ``settings``, they are read from the file and environment."""
    spec = spec_for("parser", name)
    chosen = settings if settings is not None else load_settings(backend=spec.settings_sections)
    parser: DraftParser = spec.build(chosen)
    return parser
