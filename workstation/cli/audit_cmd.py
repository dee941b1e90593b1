"""``cxr-audit audit``: audit one draft against findings from a file or a grounder on an image."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from audit.pipeline import draft_problem, run_audit
from audit.protocols import AuditCase
from audit.report_json import audit_json
from models.findings_file import check_findings_json
from models.registry import get_grounder, get_parser
from workstation.cli.backends import (
    add_model_options,
    add_parser_model_options,
    add_policy_options,
    backend_notes,
    policy_from,
    settings_from,
)
from workstation.cli.errors import CliError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="audit one draft against image findings",
        description="Compare a draft with image findings (from --findings FILE, or a grounder run on "
        "--image PATH) and print one JSON object with the flags.",
    )
    parser.add_argument("--draft", required=True, help="the draft impression text")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--findings", type=Path, help="grounder output JSON: a list of {label, box_2d}")
    source.add_argument("--image", type=Path, help="a PNG, JPEG or DICOM image to ground")
    parser.add_argument("--grounder", help="grounder backend for --image (default: medgemma)")
    parser.add_argument("--parser", default="rules", help="draft parser backend (default: rules)")
    parser.add_argument(
        "--image-size",
        metavar="WxH",
        help="image size for --findings whose boxes are in pixels (e.g. 1024x1024)",
    )
    add_model_options(parser, concurrency=True)
    add_parser_model_options(parser)
    add_policy_options(parser)
    parser.set_defaults(func=run)


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise CliError(f"--image-size must look like 1024x1024, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise CliError(f"--image-size must be positive, got {text!r}")
    return width, height


def _findings_case(args: argparse.Namespace) -> tuple[AuditCase, str, list[str]]:
    path: Path = args.findings
    check_findings_json(path)
    if args.grounder not in (None, "findings-file"):
        raise CliError("--findings uses the findings-file grounder; drop --grounder or use --image")
    case = AuditCase(case_id=path.stem, draft=args.draft, image_size=_size(args.image_size))
    return case, "findings-file", []


def _image_case(args: argparse.Namespace) -> tuple[AuditCase, str, list[str]]:
    from data.images import load_image

    if args.grounder == "reference":
        # A bare image has no stored expert boxes: the audit would compare the draft with
        # nothing and look clean.
        raise CliError(
            "the reference grounder reads expert boxes stored with a worklist case, and a bare "
            "--image has none; use --findings FILE, or a model grounder (medgemma, openai)"
        )

    loaded = load_image(args.image)
    case = AuditCase(
        case_id=args.image.stem,
        draft=args.draft,
        image_size=loaded.info.size,
        load_image=lambda: loaded.pixels,
        image_path=str(args.image),
    )
    return case, args.grounder or "medgemma", [f"image: {note}" for note in loaded.info.notes]


def run(args: argparse.Namespace) -> int:
    problem = draft_problem(args.draft)
    if problem:
        raise CliError(problem)
    policy = policy_from(args)
    case, grounder_name, image_notes = _findings_case(args) if args.findings else _image_case(args)
    extra = {"findings_path": str(args.findings)} if args.findings else {}
    grounder = get_grounder(grounder_name, settings_from(args, "grounder", grounder_name, **extra))
    draft_parser = get_parser(args.parser, settings_from(args, "parser", args.parser, prefix="parser_"))
    report = run_audit(case, grounder, draft_parser, policy)
    if args.findings and report.image is not None and report.image.failed:
        # A file the user named that yields no findings structure is bad input: printing
        # a draft-only report with exit 0 would read as "no flags" to a script.
        raise CliError(
            f"findings file {args.findings} holds no usable findings: {report.image.outcome.error}"
        )
    result = audit_json(report)
    result["notes"].extend(image_notes)
    result["notes"].extend(backend_notes(grounder, draft_parser))
    print(json.dumps(result, ensure_ascii=False))
    return 0
