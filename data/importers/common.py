"""What every importer shares: reading CSVs, scanning images, safe paths, summaries, batched writes.

Slow work (decoding images to check them) happens without the database; cases are written
in batches, each batch one transaction, so another process can use the file in between.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from audit.boxes import BoxResult
from audit.schema import Box
from data.errors import ImageLoadError, ImportFormatError, LinkLoopError, UnsafePathError
from data.images import IMAGE_SUFFIXES, ImageInfo, load_image, read_header
from data.records import CaseImport, CaseRecord, ReferenceFinding
from data.store import Store

log = logging.getLogger(__name__)

BATCH_SIZE = 256
MAX_EXAMPLES = 5


class ImportSummary(BaseModel):
    """What an import did: imported, updated, skipped (and why), findings, dropped labels."""

    model_config = ConfigDict(extra="forbid")

    source: str
    images_found: int = 0
    imported: int = 0  # new cases
    updated: int = 0  # cases already present, refreshed with the same data
    skipped: dict[str, int] = Field(default_factory=dict)  # reason -> count
    skipped_examples: dict[str, list[str]] = Field(default_factory=dict)
    findings: int = 0
    findings_by_source: dict[str, int] = Field(default_factory=dict)
    dropped_labels: dict[str, int] = Field(default_factory=dict)  # source label -> count
    boxes_rejected: int = 0
    boxes_clipped: int = 0
    drafts_added: int = 0
    notes: list[str] = Field(default_factory=list)  # what the reader should know (where boxes came from)
    seconds: float = 0.0

    def skip(self, reason: str, example: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        examples = self.skipped_examples.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(example)

    def drop_label(self, name: str) -> None:
        self.dropped_labels[name] = self.dropped_labels.get(name, 0) + 1

    def count_box(self, result: BoxResult) -> None:
        if result.box is None:
            self.boxes_rejected += 1
        elif result.repairs:
            self.boxes_clipped += 1

    def keep_box(self, result: BoxResult, example: str) -> Box | None:
        """The converted box, counted; None (and the finding skipped, with why) when it was rejected."""
        self.count_box(result)
        if result.box is None:
            self.skip(f"box rejected ({result.error})", example)
        return result.box

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def lines(self) -> list[str]:
        """The human summary printed by the CLI."""
        out = [
            f"{self.source}: {self.images_found:,} images found; {self.imported:,} imported, "
            f"{self.updated:,} already present (updated), {self.skipped_total:,} item(s) skipped "
            f"in {self.seconds:.1f} s",
        ]
        out.extend(f"  note: {note}" for note in self.notes)
        for reason, count in sorted(self.skipped.items(), key=lambda item: -item[1]):
            examples = ", ".join(self.skipped_examples.get(reason, []))
            out.append(f"  skipped {count:,}: {reason} (e.g. {examples})")
        by_source = ", ".join(f"{n:,} {s}" for s, n in sorted(self.findings_by_source.items()))
        out.append(f"  reference findings: {self.findings:,}" + (f" ({by_source})" if by_source else ""))
        if self.boxes_rejected or self.boxes_clipped:
            out.append(
                f"  boxes rejected: {self.boxes_rejected:,}; "
                f"boxes clipped to the image: {self.boxes_clipped:,}"
            )
        dropped = sum(self.dropped_labels.values())
        if dropped:
            names = ", ".join(
                f"{name} {n:,}" for name, n in sorted(self.dropped_labels.items(), key=lambda i: -i[1])
            )
            out.append(f"  labels dropped (no canonical counterpart): {dropped:,} ({names})")
        if self.drafts_added:
            out.append(f"  drafts added: {self.drafts_added:,}")
        return out


def open_text(path: Path) -> IO[str]:
    """Open a CSV (plain or .gz) as text, with a typed error when it cannot be read."""
    try:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ImportFormatError(f"cannot read {path}: {error.strerror or error}") from error


def read_csv(path: Path, required: Sequence[str] = ()) -> tuple[list[str], list[list[str]]]:
    """A CSV's header and raw rows; raises ImportFormatError naming any missing required column."""
    with open_text(path) as handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ImportFormatError(f"{path} is empty")
            header = [h.strip() for h in header]
            missing = [c for c in required if c not in header]
            if missing:
                raise ImportFormatError(
                    f"{path} lacks the column(s) {', '.join(missing)}; "
                    f"it has: {', '.join(h for h in header if h)}"
                )
            rows = [row for row in reader if any(cell.strip() for cell in row)]
        except (csv.Error, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as error:
            raise ImportFormatError(f"{path} is not a readable CSV: {error}") from error
    return header, rows


def as_dicts(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[dict[str, str]]:
    return [dict(zip(header, row, strict=False)) for row in rows]


def parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if not text or text.lower() == "nan":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def scan_images(root: Path) -> list[Path]:
    """Every image file under ``root`` (recursively), sorted, symlinks that leave ``root`` excluded."""
    if not root.is_dir():
        raise ImportFormatError(f"images folder {root} does not exist or is not a folder")
    resolved_root = root.resolve()
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            if path.is_symlink():
                # A link that loops or leads nowhere is kept, so that loading reports it as
                # an unreadable image instead of it vanishing from the count.
                found.append(path)
            continue
        if not target.is_relative_to(resolved_root):
            log.warning("skipping %s: it links outside %s", path, root)
            continue
        if target.is_file():
            found.append(path)
    return found


def resolve_inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing absolute paths and anything that resolves outside ``root``."""
    candidate = relative.strip().replace("\\", "/")
    if not candidate:
        raise UnsafePathError(relative, root)
    if Path(candidate).is_absolute() or candidate.startswith("~"):
        raise UnsafePathError(relative, root)
    resolved_root = root.resolve()
    try:
        resolved = (resolved_root / candidate).resolve()
    except RuntimeError:  # Python 3.11 and 3.12 raise it for a loop; later versions OSError
        raise LinkLoopError(relative, root) from None
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise LinkLoopError(relative, root) from None
    if not resolved.is_relative_to(resolved_root):
        raise UnsafePathError(relative, root)
    return resolved


def check_image(path: Path, *, verify: bool) -> ImageInfo:
    """The image's header, after decoding it fully when ``verify`` (raises ImageLoadError)."""
    if verify:
        return load_image(path).info
    return read_header(path)


def readable_image(path: Path, summary: ImportSummary, *, verify: bool, example: str) -> ImageInfo | None:
    """The image's header (see :func:`check_image`), or None with the skip recorded when it is unreadable."""
    try:
        return check_image(path, verify=verify)
    except ImageLoadError as error:
        summary.skip(f"unreadable image ({error.reason})", example)
        return None


def image_case(
    path: Path,
    info: ImageInfo,
    *,
    case_id: str,
    source: str,
    view: str | None,
    metadata: dict[str, Any],  # checked by CaseRecord (JSON values, no patient identifiers)
) -> CaseRecord:
    """The case for an image file found on disk: every importer records its name, path and size alike."""
    return CaseRecord(
        case_id=case_id,
        image_id=path.name,
        image_path=str(path.resolve()),
        width=info.width,
        height=info.height,
        source=source,
        view=view,
        metadata=metadata,
    )


def progress(items: Iterable[Path], *, desc: str, total: int, show: bool) -> Iterator[Path]:
    """A tqdm progress bar on stderr (when ``show`` and stderr is a terminal)."""
    yield from tqdm(
        items, desc=desc, total=total, unit="img", file=sys.stderr, disable=None if show else True
    )


class BatchWriter:
    """Collects cases and writes them in batches; counts new and updated cases."""

    def __init__(self, store: Store, summary: ImportSummary, batch_size: int = BATCH_SIZE) -> None:
        self.store, self.summary, self.batch_size = store, summary, batch_size
        self.pending: list[CaseImport] = []
        self.foreign: Counter[str] = Counter()

    def add(self, item: CaseImport) -> None:
        self.pending.append(item)
        for finding in item.findings:
            self.summary.findings += 1
            self.summary.findings_by_source[finding.source] = (
                self.summary.findings_by_source.get(finding.source, 0) + 1
            )
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        existing = self.store.cases.sources_of([i.case.case_id for i in batch])
        keep: list[CaseImport] = []
        for item in batch:
            previous = existing.get(item.case.case_id)
            if previous is not None and previous != item.case.source:
                self.summary.skip(f"case id already used by a {previous!r} case", item.case.case_id)
                self._uncount(item.findings)
                continue
            keep.append(item)
            if previous is None:
                self.summary.imported += 1
            else:
                self.summary.updated += 1
        self.store.cases.upsert_many(keep)

    def _uncount(self, findings: Sequence[ReferenceFinding]) -> None:
        for finding in findings:
            self.summary.findings -= 1
            self.summary.findings_by_source[finding.source] -= 1


def finish(summary: ImportSummary, started: float) -> ImportSummary:
    summary.seconds = time.perf_counter() - started
    summary.findings_by_source = {k: v for k, v in summary.findings_by_source.items() if v}
    for line in summary.lines():
        log.info(line)
    return summary
