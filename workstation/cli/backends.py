"""Shared CLI options for choosing backends, and building them with clear errors."""

from __future__ import annotations

import argparse
from typing import Any, get_args

from audit.labels import FINDING_LABELS
from audit.schema import ComparePolicy
from models.settings import BackendSettings, Quantization, compare_policy, load_settings
from workstation.cli.errors import CliError


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model backends")
    group.add_argument(
        "--model", help="model id or local folder (the grounder's, in audit; the parser's, in parse)"
    )
    group.add_argument("--revision", help="model revision (branch, tag or commit)")
    group.add_argument(
        "--quantization", choices=get_args(Quantization), help="weights precision (default nf4)"
    )
    group.add_argument("--device", help="auto, cuda, cuda:N or cpu (default auto)")
    group.add_argument("--endpoint", help="OpenAI-compatible endpoint URL for the openai backend")


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
    args: argparse.Namespace, backend: str, *, model_flag: str = "model", **extra: Any
) -> BackendSettings:
    """One backend's settings: defaults ← config file ← CXR_AUDIT_* environment ← these flags.

    ``model_flag`` names the flag holding this backend's model id, so that a grounder and a
    parser in one command each get their own (``--model`` and ``--parser-model``).
    """
    overrides: dict[str, Any] = {
        "model_id": getattr(args, model_flag, None),
        "revision": getattr(args, "revision", None),
        "quantization": getattr(args, "quantization", None),
        "device": getattr(args, "device", None),
        "endpoint_url": getattr(args, "endpoint", None),
        **extra,
    }
    return load_settings(overrides, backend=backend)


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
