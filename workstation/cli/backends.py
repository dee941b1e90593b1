"""Shared CLI options for choosing backends, and building them with clear errors."""

from __future__ import annotations

import argparse
from typing import Any, get_args

from audit.labels import FINDING_LABELS
from audit.schema import ComparePolicy
from models.checkpoints import names as checkpoint_names
from models.registry import Kind, spec_for
from models.settings import BackendSettings, Quantization, compare_policy, load_settings
from workstation.cli.errors import CliError


def add_model_options(parser: argparse.ArgumentParser, *, concurrency: bool = False) -> None:
    """The model flags of the command's main backend (the grounder in audit/eval, the parser in parse)."""
    group = parser.add_argument_group("model backends")
    group.add_argument(
        "--model",
        help="model id, local folder, or served model name (the grounder's in audit and eval; the parser's "
        "in parse)",
    )
    group.add_argument(
        "--profile",
        help="checkpoint profile to call the model with (grounding: "
        f"{', '.join(checkpoint_names('grounding'))}; parsing: {', '.join(checkpoint_names('parsing'))}; "
        f"reports: {', '.join(checkpoint_names('report'))}; default: the model id's, else the backend's)",
    )
    group.add_argument("--revision", help="model revision (branch, tag or commit)")
    group.add_argument(
        "--quantization", choices=get_args(Quantization), help="weights precision (default nf4)"
    )
    group.add_argument("--device", help="auto, cuda, cuda:N or cpu (default auto)")
    group.add_argument("--endpoint", help="OpenAI-compatible endpoint URL for the openai backend")
    if concurrency:
        group.add_argument(
            "--concurrency",
            type=int,
            help="requests the openai backends keep in flight at once (default: the settings' "
            "concurrency, 4)",
        )


def add_parser_model_options(parser: argparse.ArgumentParser) -> None:
    """The draft parser's own model flags, for commands that also run a grounder."""
    group = parser.add_argument_group("draft parser model")
    group.add_argument(
        "--parser-model", help="model id, local folder or served name for a model-backed parser"
    )
    group.add_argument("--parser-profile", help="checkpoint profile for the parser's model")
    group.add_argument(
        "--parser-endpoint", help="OpenAI-compatible endpoint URL for the openai parser (default: settings)"
    )


def add_policy_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("comparator policy")
    group.add_argument(
        "--urgent",
        default=None,
        help="comma-separated urgent labels ('' for none; default: the settings' urgent_labels, "
        "pneumothorax,nodule_mass unless configured)",
    )
    group.add_argument(
        "--uncertain",
        choices=("mention", "ignore"),
        default="mention",
        help="an uncertain draft mention counts as a mention (default) or is ignored",
    )


def settings_from(
    args: argparse.Namespace, kind: Kind, backend: str, *, prefix: str = "", **extra: Any
) -> BackendSettings:
    """One backend's settings: defaults ← config file ← CXR_AUDIT_* environment ← these flags.

    ``prefix`` names the flags holding this backend's model, profile and endpoint, so that
    a grounder and a parser in one command each get their own (``--model`` and
    ``--parser-model``, ``--endpoint`` and ``--parser-endpoint``).
    """
    sections = spec_for(kind, backend).settings_sections
    concurrency = getattr(args, "concurrency", None)
    if concurrency is not None and concurrency < 1:
        raise CliError(f"--concurrency must be at least 1, got {concurrency}")
    overrides: dict[str, Any] = {
        "model_id": getattr(args, f"{prefix}model", None),
        "profile": getattr(args, f"{prefix}profile", None),
        "endpoint_url": getattr(args, f"{prefix}endpoint", None),
        "revision": getattr(args, "revision", None),
        "quantization": getattr(args, "quantization", None),
        "device": getattr(args, "device", None),
        "concurrency": concurrency,
        **extra,
    }
    return load_settings(overrides, backend=sections)


def policy_from(args: argparse.Namespace) -> ComparePolicy:
    """The comparator policy: ``--urgent`` when given, else the settings' urgent list."""
    if args.urgent is None:
        return compare_policy().model_copy(update={"uncertain_is_mention": args.uncertain == "mention"})
    names = [name.strip() for name in args.urgent.split(",") if name.strip()]
    unknown = [name for name in names if name not in FINDING_LABELS]
    if unknown:
        raise CliError(
            f"unknown urgent label(s) {', '.join(unknown)}; choose from {', '.join(FINDING_LABELS)}"
        )
    return ComparePolicy(urgent_labels=tuple(names), uncertain_is_mention=args.uncertain == "mention")  # type: ignore[arg-type]


def backend_notes(*backends: object) -> list[str]:
    """What the backends say about themselves for the output's notes: the profile and model
    each called (``version``) and anything assumed (a profile for a local folder)."""
    notes: list[str] = []
    for backend in backends:
        version = getattr(backend, "version", None)
        if version:
            notes.append(f"{getattr(backend, 'name', 'backend')}: {version}")
        notes.extend(str(note) for note in getattr(backend, "notes", ()))
    return notes
