"""``cxr-audit import``, ``demo`` and ``export``: fill the audit database and get feedback out of it.

Each command opens the database for a short while (``idle_release_s=0``: the file is
released after every write), so it can run beside the workstation app; when another
process holds the file for longer than ``--wait`` seconds, it stops with a message naming
that process.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workstation.cli.db_options import add_db_options
from workstation.cli.errors import CliError


def _run(args: argparse.Namespace, body: Callable[[Any], int], *, read_only: bool = False) -> int:
    """Open the store for the command (``read_only`` for one that only reads) and run ``body``."""
    from data.store import Store

    wait = max(0.0, args.wait)
    with Store.open(args.db, idle_release_s=0, lock_timeout_s=wait, read_only=read_only) as store:
        return body(store)


def _existing_dir(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is not a folder")
    return path


def _existing_file(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value} is not a file")
    return path


def _print_summary(lines: list[str]) -> None:
    for line in lines:
        print(line)


def _import_nih(args: argparse.Namespace) -> int:
    from data.importers.nih import import_nih

    def body(store: Any) -> int:
        summary = import_nih(
            store, args.images, args.boxes, args.labels, verify=not args.no_verify, show_progress=True
        )
        _print_summary(summary.lines())
        return 0

    return _run(args, body)


def _import_reports(args: argparse.Namespace) -> int:
    from data.importers.reports import import_reports

    def body(store: Any) -> int:
        _print_summary(import_reports(store, args.reports).lines())
        return 0

    return _run(args, body)


def _import_vindr(args: argparse.Namespace) -> int:
    from data.importers.vindr import import_vindr

    def body(store: Any) -> int:
        summary = import_vindr(store, args.images, args.boxes, verify=not args.no_verify, show_progress=True)
        _print_summary(summary.lines())
        return 0

    return _run(args, body)


def _import_folder(args: argparse.Namespace) -> int:
    from audit.labels import SOURCE_TABLES
    from data.importers.folder import import_folder

    if args.label_source is not None and args.label_source not in SOURCE_TABLES:
        raise CliError(
            f"unknown --label-source {args.label_source!r}; choose one of: {', '.join(SOURCE_TABLES)}"
        )

    def body(store: Any) -> int:
        summary = import_folder(
            store,
            args.images,
            args.annotations,
            args.drafts,
            label_source=args.label_source,
            verify=not args.no_verify,
            show_progress=True,
        )
        _print_summary(summary.lines())
        return 0

    return _run(args, body)


def _demo(args: argparse.Namespace) -> int:
    from data.demo import DEMO_SOURCES, MAX_CASES, MIN_CASES, seed_demo

    if not MIN_CASES <= args.cases <= MAX_CASES:
        raise CliError(f"--cases must be between {MIN_CASES} and {MAX_CASES}, got {args.cases}")

    def body(store: Any) -> int:
        summary = seed_demo(
            store, image_dir=args.image_dir, n_cases=args.cases, seed=args.seed, if_empty=args.if_empty
        )
        if summary.created:
            print(
                f"demo: {summary.radiographs} NIH radiographs and {summary.cases - summary.radiographs} "
                f"synthetic phantoms ({summary.drafts_added} new drafts) in {store.path}; "
                f"images in {summary.image_dir} ({summary.seconds:.1f} s)"
            )
            if not args.no_audit:
                # A reviewer opening the demo should see flags on the worklist at once, so the
                # demo's cases are audited now with the CPU defaults (reference grounder, rules parser).
                from workstation.services import audit_not_audited

                demo_cases = [
                    case.case_id for source in DEMO_SOURCES for case in store.cases.where(source=source)
                ]
                audited = audit_not_audited(store, demo_cases)
                print(f"demo: audited {audited} case(s) with the reference grounder and the rules parser")
        else:
            redrawn = (
                f"; {summary.images_written} missing phantom images redrawn" if summary.images_written else ""
            )
            print(f"demo: {store.path} already has {summary.cases} cases; left as it is{redrawn}")
        return 0

    return _run(args, body)


def _export(args: argparse.Namespace) -> int:
    from data.export import write_export

    def body(store: Any) -> int:
        summary = write_export(store, args.format, args.out, reviewer=args.reviewer, source=args.source)
        print(
            f"export: {summary.rows:,} rows ({summary.decisions:,} decisions, "
            f"{summary.reviewer_findings:,} reviewer boxes) written to {summary.path}"
        )
        return 0

    return _run(args, body, read_only=True)


def register(subparsers: Any) -> None:
    """Add ``import`` (nih, vindr, folder), ``demo`` and ``export``."""
    importer = subparsers.add_parser(
        "import", help="import images and expert boxes into the audit database", description=__doc__
    )
    kinds = importer.add_subparsers(dest="dataset", required=True, metavar="DATASET")

    nih = kinds.add_parser("nih", help="NIH ChestX-ray14 images with BBox_List_2017.csv boxes")
    nih.add_argument(
        "--images", required=True, type=_existing_dir, metavar="DIR", help="folder of NIH images"
    )
    nih.add_argument(
        "--boxes",
        type=_existing_file,
        metavar="CSV",
        help="BBox_List_2017.csv(.gz) or a boxes.csv with image,label,x,y,w,h,orig_width,orig_height "
        "(default: the copy shipped with torchxrayvision, when installed)",
    )
    nih.add_argument(
        "--labels",
        type=_existing_file,
        metavar="CSV",
        help="Data_Entry_2017*.csv(.gz) or labels.csv (view, labels)",
    )
    nih.add_argument("--no-verify", action="store_true", help="read image headers only (skip full decoding)")
    add_db_options(nih)
    nih.set_defaults(func=_import_nih)

    reports = kinds.add_parser(
        "reports",
        help="a report generator's reports as generated drafts (CSV or JSONL: case_id or image, "
        "generator, text)",
        description="Store each row's text as a report by its generator for the case it names: a "
        "'generated' draft whose author is the generator (an empty or unreadable text is stored as a "
        "failed generation, counted and listed). Importing a file again stores nothing twice; rejected "
        "rows are listed with their row number and reason.",
    )
    reports.add_argument(
        "--reports",
        required=True,
        type=_existing_file,
        metavar="FILE",
        help=".csv or .jsonl (optionally .gz) with generator, text and case_id or image",
    )
    add_db_options(reports)
    reports.set_defaults(func=_import_reports)

    vindr = kinds.add_parser("vindr", help="VinDr-CXR images with train.csv boxes (one finding per reader)")
    vindr.add_argument("--images", required=True, type=_existing_dir, metavar="DIR")
    vindr.add_argument(
        "--boxes", required=True, type=_existing_file, metavar="CSV", help="VinDr-CXR train.csv"
    )
    vindr.add_argument(
        "--no-verify", action="store_true", help="read image headers only (skip full decoding)"
    )
    add_db_options(vindr)
    vindr.set_defaults(func=_import_vindr)

    folder = kinds.add_parser("folder", help="any folder of PNG/JPEG/DICOM images, optional boxes and drafts")
    folder.add_argument("--images", required=True, type=_existing_dir, metavar="DIR")
    folder.add_argument(
        "--annotations",
        type=_existing_file,
        metavar="CSV|JSON",
        help="boxes: image,label and x0,y0,x1,y1 or x,y,w,h",
    )
    folder.add_argument(
        "--drafts", type=_existing_file, metavar="CSV", help="draft impressions: image,text[,author]"
    )
    folder.add_argument(
        "--label-source",
        metavar="DATASET",
        help="map labels with this dataset's table (nih, vindr, chestx_det, ...)",
    )
    folder.add_argument(
        "--no-verify", action="store_true", help="read image headers only (skip full decoding)"
    )
    add_db_options(folder)
    folder.set_defaults(func=_import_folder)

    demo = subparsers.add_parser(
        "demo", help="seed a demo worklist of NIH radiographs and synthetic phantoms"
    )
    demo.add_argument(
        "--if-empty", action="store_true", help="do nothing when the database already has cases"
    )
    demo.add_argument("--cases", type=int, default=30, help="how many phantom cases (20–40, default 30)")
    demo.add_argument("--seed", type=int, default=20_241_125, help="random seed (same seed, same worklist)")
    demo.add_argument("--image-dir", type=Path, default=None, metavar="DIR", help="where phantom PNGs go")
    demo.add_argument(
        "--no-audit", action="store_true", help="seed only; leave the cases not audited (default: audit them)"
    )
    add_db_options(demo)
    demo.set_defaults(func=_demo)

    export = subparsers.add_parser("export", help="export reviewer decisions and reviewer-drawn boxes")
    export.add_argument("--format", required=True, choices=("csv", "parquet", "jsonl"))
    export.add_argument("--out", required=True, type=Path, metavar="PATH")
    export.add_argument("--reviewer", default=None, help="only this reviewer's decisions")
    export.add_argument("--source", default=None, help="only cases of this source (nih, demo, ...)")
    add_db_options(export)
    export.set_defaults(func=_export)
