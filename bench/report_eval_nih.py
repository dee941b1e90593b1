"""Report generators on real cases: ``python -m bench.report_eval_nih`` writes ``bench/report_eval_nih.md``.

Everything goes through the commands a researcher runs, on a fresh database in a temporary
folder:

1. ``cxr-audit import nih`` of the shared images and boxes;
2. the cases NIH readers boxed, leaving out the 72 images ChestX-Det also read (so the
   reference is one reader's), listed in a cases file;
3. generators written from each case's NIH boxes with :mod:`audit.synth`: ``faithful``
   (every boxed finding, its side and size), ``drops`` (one present finding left out),
   ``flips`` (one one-sided finding on the wrong side), ``adds`` (one absent finding
   asserted), ``flaky`` (faithful, but every 25th report empty), and ``silent`` ("No acute
   cardiopulmonary abnormality." everywhere); each imported with ``cxr-audit import reports``
   (CSV or JSONL), then imported again, which must change nothing;
4. ``cxr-audit generate --generator openai`` against a fake OpenAI-compatible server on
   127.0.0.1 (:mod:`bench.fake_endpoint`) that answers a normal report, nothing for one
   image in 20 and HTTP 400 for one in 50 (chosen by the image, so retries agree);
5. ``cxr-audit eval-reports`` over the cases file, NIH boxes as the reference.

The data is read from ``../shared/data`` and never copied into the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.eval_nih import NIH, SHARED_DATA, chestx_det_images
from bench.eval_nih import OUTPUT as _EVAL_OUTPUT

OUTPUT = _EVAL_OUTPUT.with_name("report_eval_nih.md")
SILENT = "No acute cardiopulmonary abnormality."
NORMAL_REPORT = (
    "FINDINGS: The lungs are clear. No pleural effusion or pneumothorax. Heart size is normal.\n"
    "IMPRESSION: No acute cardiopulmonary abnormality."
)
SYNTHETIC = {"faithful": "none", "drops": "drop", "flips": "flip_side", "adds": "add"}
FLAKY_EVERY = 25
EMPTY_EVERY, REFUSED_EVERY = 20, 50


def cli(*argv: str) -> tuple[int, str]:
    """Run ``cxr-audit`` in this process; its exit code and what it printed."""
    from workstation.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def boxed_by_nih_alone(data: Path) -> list[str]:
    with (data / "boxes.csv").open(newline="", encoding="utf-8") as handle:
        nih = {Path(row["image"]).stem for row in csv.DictReader(handle) if row["source"].startswith("NIH")}
    return sorted(nih - chestx_det_images(data))


def write_reports(folder: Path, db: Path, case_ids: list[str]) -> dict[str, Path]:
    """One reports file per synthetic generator (CSV and JSONL alternate), from the NIH boxes."""
    from audit.synth import synthesize
    from data.store import Store

    with Store.open(db) as store:
        cases = [store.cases.audit_case(case_id) for case_id in case_ids]
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in (*SYNTHETIC, "flaky", "silent")}
    for index, case in enumerate(cases):
        reference = [f for f in case.reference if f.source == NIH]
        for name, corruption in SYNTHETIC.items():
            text = synthesize(case.case_id, reference, corruption).text  # type: ignore[arg-type]
            rows[name].append({"case_id": case.case_id, "generator": name, "text": text})
        faithful = rows["faithful"][-1]["text"]
        rows["flaky"].append(
            {
                "image": f"{case.case_id}.png",
                "generator": "flaky",
                "text": "" if index % FLAKY_EVERY == 0 else faithful,
            }
        )
        rows["silent"].append({"case_id": case.case_id, "generator": "silent", "text": SILENT})
    files: dict[str, Path] = {}
    for position, (name, items) in enumerate(rows.items()):
        if position % 2:
            path = folder / f"{name}.jsonl"
            path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
        else:
            path = folder / f"{name}.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(items[0]))
                writer.writeheader()
                writer.writerows(items)
        files[name] = path
    return files


def with_nih_findings(db: Path, case_ids: list[str]) -> int:
    """Cases among ``case_ids`` with a NIH box of one of the labels (not every NIH label is one:
    an atelectasis-only image has none, and a silent report is rightly not MISSING there)."""
    from data.store import Store

    with Store.open(db, read_only=True) as store:
        return sum(
            any(f.source == NIH for f in store.cases.reference_findings(case_id)) for case_id in case_ids
        )


def fake_generator(request: dict[str, Any]) -> Any:
    from bench.fake_endpoint import Reply

    image = request["messages"][-1]["content"][0]["image_url"]["url"]
    bucket = int(hashlib.sha256(image.encode()).hexdigest(), 16)
    if bucket % REFUSED_EVERY == 1:
        return Reply(status=400, message="the image could not be decoded")
    if bucket % EMPTY_EVERY == 0:
        return Reply(content="")
    return Reply(content=NORMAL_REPORT)


def store_counts(db: Path) -> dict[str, Any]:
    from data.store import Store

    with Store.open(db) as store:
        frame = store.query_df(
            "SELECT g.generator, count(*) AS generations, count(DISTINCT g.case_id) AS cases, "
            "count(g.draft_id) AS drafts, count(*) FILTER (WHERE g.outcome = 'failed') AS failed "
            "FROM generations g GROUP BY 1 ORDER BY 1"
        )
    return {row["generator"]: row for row in frame.to_dict("records")}


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render(
    document: dict[str, Any], counts: dict[str, Any], checks: list[str], timings: dict[str, float]
) -> str:
    names = list(document["generators"])
    lines = [
        "# Report generators on the NIH boxed cases",
        "",
        "> Research and education only: these figures describe report generators against expert boxes, "
        "not patients.",
        "",
        f"`python -m bench report_eval_nih`: {document['cases']:,} cases (NIH ChestX-ray14 images boxed "
        "by NIH readers, the 72 also read by ChestX-Det left out), reference = the NIH boxes; reports read "
        "by the "
        f"`{document['parser']}` parser and judged by the comparator; failed reports "
        f"{'scored as silence' if document['failed_as'] == 'silence' else 'left out'}; intervals from "
        f"{document['bootstrap_reps']:,} bootstrap replicates (seed {document['seed']}). Full tables: "
        "`report_eval.md` of the run.",
        "",
        "| generator | cases | failed | macro-F1 [95% CI] | macro recall | MISSING | UNSUPPORTED "
        "| LATERALITY | urgent omitted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        g = document["generators"][name]
        low, high = g["macro"]["f1"]["ci"]
        ci = f" [{_f(low)}, {_f(high)}]" if low is not None else ""
        rates = g["flag_counts"]
        cells = [
            f"{_f(rates[t]['rate'])} ({rates[t]['cases']}/{rates[t]['of']})"
            for t in ("MISSING", "UNSUPPORTED", "LATERALITY", "URGENT")
        ]
        lines.append(
            f"| {name} | {g['cases']:,} | {g['failed']:,} | {_f(g['macro_f1'])}{ci} | "
            f"{_f(g['macro']['recall']['value'])} | " + " | ".join(cells) + " |"
        )
    lines += ["", "Per label (F1, with reference positives):", "", "| label | " + " | ".join(names) + " |"]
    lines.append("|---" * (len(names) + 1) + "|")
    for label in document["generators"][names[0]]["pathology"]:
        cells = [
            f"{_f(document['generators'][n]['pathology'][label]['f1'])} "
            f"(n+ {document['generators'][n]['pathology'][label]['n_positive']})"
            for n in names
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Stored generations (one row per generator):", ""]
    lines += ["| generator | generations | cases | drafts | failed |", "|---|---|---|---|---|"]
    for name, row in counts.items():
        lines.append(
            f"| {name} | {row['generations']:,} | {row['cases']:,} | {row['drafts']:,} | {row['failed']:,} |"
        )
    lines += ["", "Checks:", "", *(f"- {check}" for check in checks)]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    lines += [
        "",
        "Seconds (shared 2-core machine, load average at the end "
        f"{load}): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_eval_nih", description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="the Markdown file to write")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates")
    args = parser.parse_args(argv)
    if not (args.data / "boxes.csv").is_file():
        print(f"bench.report_eval_nih: no shared data at {args.data}", file=sys.stderr)
        return 2
    from bench.fake_endpoint import FakeEndpoint, serve
    from models.registry import MEDGEMMA_BASE_ID

    timings: dict[str, float] = {}
    checks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="report-eval-") as tmp:
        folder = Path(tmp)
        db = folder / "audit.duckdb"

        def step(name: str, *argv: str) -> str:
            started = time.perf_counter()
            code, printed = cli(*argv, "--db", str(db))
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
            if code != 0:
                raise SystemExit(f"cxr-audit {argv[0]} failed ({code}):\n{printed}")
            return printed

        step(
            "import nih",
            "import",
            "nih",
            "--images",
            str(args.data / "images"),
            "--boxes",
            str(args.data / "boxes.csv"),
            "--labels",
            str(args.data / "labels.csv"),
            "--no-verify",
        )
        case_ids = boxed_by_nih_alone(args.data)
        cases_file = folder / "cases.txt"
        cases_file.write_text("\n".join(case_ids) + "\n", encoding="utf-8")
        files = write_reports(folder, db, case_ids)
        for path in files.values():
            step("import reports", "import", "reports", "--reports", str(path))
        again = [
            step("import reports again", "import", "reports", "--reports", str(p)) for p in files.values()
        ]
        unchanged = all("0 stored (0 new" in text for text in again)
        checks.append(f"importing every reports file a second time stored nothing: {unchanged}")
        with serve(FakeEndpoint(served=(MEDGEMMA_BASE_ID,), default=fake_generator)) as endpoint:
            printed = step(
                "generate (openai, fake endpoint)",
                "generate",
                "--generator",
                "openai",
                "--endpoint",
                endpoint.url,
                "--cases",
                str(cases_file),
                "--name",
                "fake-endpoint",
                "--concurrency",
                "8",
                "--no-progress",
            )
            checks.append(f"generate printed: `{printed.splitlines()[0]}`")
            checks.append(
                f"requests sent: {len(endpoint.requests):,}; most in flight at once: {endpoint.max_in_flight}"
            )
        out = folder / "eval"
        step(
            "eval-reports",
            "eval-reports",
            "--cases",
            str(cases_file),
            "--out",
            str(out),
            "--reference-source",
            "NIH",
            "--bootstrap",
            str(args.bootstrap),
            "--no-progress",
        )
        document = json.loads((out / "report_eval.json").read_text(encoding="utf-8"))
        counts = store_counts(db)
        with_findings = with_nih_findings(db, case_ids)
    g = document["generators"]
    faithful = g["faithful"]["flag_counts"]
    checks.append(
        f"faithful: macro-F1 {_f(g['faithful']['macro_f1'])} (target ≥ 0.99), cases with MISSING "
        f"{faithful['MISSING']['cases']}, with UNSUPPORTED {faithful['UNSUPPORTED']['cases']}"
    )
    checks.append(
        "silent: recall "
        + ", ".join(f"{label} {_f(row['recall'])}" for label, row in g["silent"]["pathology"].items())
        + f"; MISSING on {g['silent']['flag_counts']['MISSING']['cases']} of {g['silent']['cases']} cases "
        f"(the cases with a NIH box of one of the labels: {with_findings:,})"
    )
    fake = counts["fake-endpoint"]
    counted = g["fake-endpoint"]["failed"]
    checks.append(
        f"fake endpoint: {fake['generations']:,} generations for {fake['cases']:,} of {len(case_ids):,} "
        f"cases, {fake['drafts']:,} drafts, {fake['failed']:,} failed (counted in eval-reports: {counted:,})"
    )
    args.out.write_text(render(document, counts, checks, timings), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
