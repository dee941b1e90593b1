"""The evaluation: synthetic drafts through injected backends, measured, nothing unaccounted for.

- :mod:`audit.evaluate.records`: the per-sample record and the run's configuration;
- :mod:`audit.evaluate.runner`: :func:`evaluate` and :func:`run_samples` (the batch adapters
  they use are :mod:`audit.batching`, beside the pipeline);
- :mod:`audit.evaluate.summary`: the figures, from the records alone, so a resumed run and
  a fresh one agree;
- :mod:`audit.evaluate.markdown`: the summary as Markdown tables;
- :mod:`audit.evaluate.files`: the files, resume, the config check and the integrity check.

Integrity, each checked and tested:
- scored + failed == input count, and every input sample id has exactly one record;
- a failed grounding or parse is listed with its reason; it is excluded from the figures
  or counted as silence (whatever the degraded report raised) as ``failed_as`` says, and
  the summary says which;
- same inputs and seed → byte-identical JSONL, summary JSON and Markdown (no clocks, no
  unordered containers in the output);
- resumable: sample ids already in the JSONL are skipped, a torn last line is rewritten.
"""

from audit.evaluate.files import (
    CONFIG_FILE,
    MARKDOWN_FILE,
    SAMPLES_FILE,
    SUMMARY_FILE,
    load_summary,
    read_records,
)
from audit.evaluate.markdown import summary_markdown
from audit.evaluate.records import EvalConfig, SampleRecord, sample_id
from audit.evaluate.runner import EvalResult, evaluate, run_samples
from audit.evaluate.summary import EvalSummary, summarize

__all__ = [
    "CONFIG_FILE",
    "MARKDOWN_FILE",
    "SAMPLES_FILE",
    "SUMMARY_FILE",
    "EvalConfig",
    "EvalResult",
    "EvalSummary",
    "SampleRecord",
    "evaluate",
    "load_summary",
    "read_records",
    "run_samples",
    "sample_id",
    "summarize",
    "summary_markdown",
]
