"""Run one case through an injected grounder and parser, then the comparator.

A backend that raises is recorded as a failed reading (with the error), never hidden:
a failed draft parse gives a visible image-only audit (URGENT flags only, since silence
cannot be judged), a failed grounding a visible draft-only report (no flags).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import TypeVar

from audit.compare import compare
from audit.protocols import MAX_DRAFT_CHARS, AuditCase, DraftParser, Grounder
from audit.schema import AuditMode, AuditReport, ComparePolicy, DraftReading, ImageReading, ParseOutcome

log = logging.getLogger(__name__)
T = TypeVar("T")

# Lone surrogates are not text: Python decodes invalid UTF-8 in argv (and, under some
# locales, stdin) to U+DC80–U+DCFF, one per undecodable byte; they cannot be stored or printed.
_SURROGATE = re.compile("[\ud800-\udfff]")


def draft_problem(text: str) -> str | None:
    """Why a draft cannot be parsed at all, or None when it can."""
    if not text.strip():
        return "the draft is empty"
    if len(text) > MAX_DRAFT_CHARS:
        return f"the draft is {len(text):,} characters long; the auditor reads at most {MAX_DRAFT_CHARS:,}"
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        code = ord(surrogate.group())
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"a lone surrogate U+{code:04X}"
        return f"the draft is not valid UTF-8 text ({what} at character {surrogate.start() + 1})"
    return None


def _timed(stage: str, timings: dict[str, float], call: Callable[[], T]) -> T:
    started = time.perf_counter()
    try:
        return call()
    finally:
        timings[f"{stage}_s"] = round(time.perf_counter() - started, 6)


def ground(case: AuditCase, grounder: Grounder, timings: dict[str, float]) -> ImageReading:
    try:
        return _timed("ground", timings, lambda: grounder.ground(case))
    except Exception as error:  # a backend failure becomes a visible failed reading
        # The reason travels with the failed reading; the traceback only for a debugging run.
        log.warning(
            "grounder %s failed on case %s: %s",
            grounder.name,
            case.case_id,
            error,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        return ImageReading(
            backend=grounder.name,
            outcome=ParseOutcome.failed(f"{type(error).__name__}: {error}"),
        )


def parse(text: str, parser: DraftParser, timings: dict[str, float]) -> DraftReading:
    problem = draft_problem(text)
    if problem:
        timings["parse_s"] = 0.0
        return DraftReading(backend=parser.name, text=text, outcome=ParseOutcome.failed(problem))
    try:
        return _timed("parse", timings, lambda: parser.parse(text))
    except Exception as error:  # a backend failure becomes a visible failed reading
        log.warning("parser %s failed: %s", parser.name, error, exc_info=log.isEnabledFor(logging.DEBUG))
        return DraftReading(
            backend=parser.name, text=text, outcome=ParseOutcome.failed(f"{type(error).__name__}: {error}")
        )


def assemble(
    image: ImageReading, draft: DraftReading, policy: ComparePolicy, timings: dict[str, float]
) -> AuditReport:
    """Compare two readings (either may have failed) into a report with its mode and warnings."""
    mode: AuditMode
    warnings: list[str] = []
    if image.failed and draft.failed:
        mode = "none"
        warnings.append(f"grounding failed ({image.outcome.error}) and the draft could not be parsed")
    elif image.failed:
        mode = "draft_only"
        warnings.append(f"grounding failed ({image.outcome.error}): draft-only report, no flags raised")
    elif draft.failed:
        mode = "image_only"
        warnings.append(
            f"the draft could not be parsed ({draft.outcome.error}): image-only audit, "
            "only URGENT flags are raised"
        )
    else:
        mode = "full"
    comparison = _timed(
        "compare",
        timings,
        lambda: compare(None if image.failed else image, None if draft.failed else draft, policy),
    )
    warnings.extend(comparison.warnings)
    return AuditReport(
        mode=mode,
        flags=comparison.flags,
        image=image,
        draft=draft,
        policy=policy,
        warnings=tuple(warnings),
        timings=dict(timings),
    )


def run_audit(
    case: AuditCase,
    grounder: Grounder,
    parser: DraftParser,
    policy: ComparePolicy | None = None,
) -> AuditReport:
    """Ground the image, parse the draft, compare them; timings per stage in seconds."""
    timings: dict[str, float] = {}
    image = ground(case, grounder, timings)
    draft = parse(case.draft, parser, timings)
    return assemble(image, draft, policy or ComparePolicy(), timings)
