"""The evaluation runner: every input item accounted for, reproducible to the byte, resumable."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from audit.errors import ConfigMismatchError, EvaluationError, IntegrityError
from audit.evaluate import (
    MARKDOWN_FILE,
    SAMPLES_FILE,
    SUMMARY_FILE,
    EvalConfig,
    EvalResult,
    evaluate,
    load_summary,
    read_records,
)
from audit.pipeline import run_audit
from audit.protocols import AuditCase, DraftParser, Grounder
from audit.schema import FLAG_TYPES, AuditReport, ComparePolicy, ImageFinding, ImageReading
from tests.audit.eval_fakes import (
    HEART,
    RIGHT_LOWER,
    FailingGrounder,
    FailingParser,
    KeywordParser,
    ReferenceGrounder,
    TruncatingGrounder,
    case,
    finding,
    worklist,
)

CONFIG = EvalConfig(grounder="reference", parser="keyword", seed=3, bootstrap_reps=200)
N_CASES = len(worklist())
N_DRAFTS = N_CASES * 4  # four corruption kinds per case


def run(
    out: Path | None = None,
    grounder: Grounder | None = None,
    parser: DraftParser | None = None,
    **config: object,
) -> EvalResult:
    return evaluate(
        worklist(),
        grounder or ReferenceGrounder(),
        parser or KeywordParser(),
        CONFIG.model_copy(update=config),
        out_dir=out,
    )


def file_bytes(out: Path) -> dict[str, bytes]:
    """The run's three output files, by name."""
    return {name: (out / name).read_bytes() for name in (SAMPLES_FILE, SUMMARY_FILE, MARKDOWN_FILE)}


def test_a_perfect_parser_on_reference_boxes_raises_exactly_the_expected_flags() -> None:
    summary = run().summary
    scores = {
        flag_type: (m.precision.value, m.recall.value) for flag_type, m in summary.audit.per_type.items()
    }
    assert scores == dict.fromkeys(FLAG_TYPES, (1.0, 1.0))
    assert summary.n_samples_misread == 0


def test_scored_plus_failed_equals_the_input_count() -> None:
    summary = run(parser=FailingParser("pneumothorax")).summary
    assert summary.n_input == N_DRAFTS
    assert summary.n_failed > 0
    assert summary.n_scored + summary.n_failed == N_DRAFTS


def test_an_unparseable_draft_is_counted_failed_and_listed_with_its_reason() -> None:
    result = run(parser=FailingParser("pneumothorax"))
    failed = [r for r in result.records if r.failed]
    assert [item.sample_id for item in result.summary.failed] == [r.sample_id for r in failed]
    assert all(item.reason == "parse: model output is not JSON" for item in result.summary.failed)
    assert all("pneumothorax" in r.draft.lower() for r in failed)


def test_a_failed_parse_is_excluded_unless_the_summary_says_silence() -> None:
    excluded = run(parser=FailingParser("pneumothorax")).summary
    silence = run(parser=FailingParser("pneumothorax"), failed_as="silence").summary
    missing_excluded = excluded.audit.per_type["MISSING"].recall
    missing_silence = silence.audit.per_type["MISSING"].recall
    assert missing_excluded.value == 1.0  # every scored drop was caught
    assert missing_silence.value < 1.0  # an unparsed draft raised no MISSING flag
    assert "excluded from the figures" in excluded.coverage()
    assert "counted as silence in the figures" in silence.coverage()
    # the image-only audit still raises URGENT: silence is what the degraded report showed
    assert silence.audit.per_type["URGENT"].recall.value == 1.0


def test_a_failed_grounding_is_counted_failed_and_listed() -> None:
    result = run(grounder=FailingGrounder("ptx-left"))
    assert result.summary.n_failed == 4  # the case's four drafts
    assert {item.reason for item in result.summary.failed} == {"ground: no JSON in the generation"}
    assert result.summary.grounding.box_hit_rate_50.n_failed == 1  # one image


def test_a_truncated_generation_lowers_recall_rather_than_vanishing() -> None:
    summary = run(grounder=TruncatingGrounder()).summary
    assert summary.n_scored == N_DRAFTS and summary.n_failed == 0  # recovered outputs are scored
    assert summary.grounding.presence["cardiomegaly"].recall.value == 0 / 2  # both hearts cut off
    assert summary.audit.per_type["UNSUPPORTED"].precision.value < 1.0  # drafts now assert unseen findings


def test_a_backend_that_raises_outside_the_pipeline_is_a_listed_failure() -> None:
    def exploding_audit(c: AuditCase, g: Grounder, p: DraftParser, policy: ComparePolicy) -> AuditReport:
        if c.case_id == "busy":
            raise RuntimeError("out of memory")
        return run_audit(c, g, p, policy)

    result = evaluate(worklist(), ReferenceGrounder(), KeywordParser(), CONFIG, audit_fn=exploding_audit)
    assert result.summary.n_failed == 4
    assert {item.reason for item in result.summary.failed} == {"error: RuntimeError: out of memory"}


def test_the_same_inputs_and_seed_give_byte_identical_files(tmp_path: Path) -> None:
    run(tmp_path / "first")
    run(tmp_path / "second")
    assert file_bytes(tmp_path / "first") == file_bytes(tmp_path / "second")


def test_another_seed_gives_other_drafts(tmp_path: Path) -> None:
    first = run(seed=1).records
    other = run(seed=2).records
    assert [r.draft for r in first] != [r.draft for r in other]


def test_a_resumed_run_skips_done_items_and_ends_byte_identical(tmp_path: Path) -> None:
    calls: list[str] = []

    def counting_audit(c: AuditCase, g: Grounder, p: DraftParser, policy: ComparePolicy) -> AuditReport:
        calls.append(c.case_id)
        return run_audit(c, g, p, policy)

    def go(out: Path, limit: int | None) -> EvalResult:
        return evaluate(
            worklist(),
            ReferenceGrounder(),
            KeywordParser(),
            CONFIG.model_copy(update={"limit": limit}),
            out_dir=out,
            audit_fn=counting_audit,
        )

    go(tmp_path / "resumed", limit=2)
    assert len(calls) == 2 * 4
    calls.clear()
    resumed = go(tmp_path / "resumed", limit=None)
    assert len(calls) == (N_CASES - 2) * 4  # only the cases not yet done
    assert resumed.n_resumed == 2 * 4
    run(tmp_path / "fresh")
    assert file_bytes(tmp_path / "resumed") == file_bytes(tmp_path / "fresh")


def test_a_torn_last_line_is_cut_off_and_that_item_redone(tmp_path: Path) -> None:
    run(tmp_path / "out")
    samples = tmp_path / "out" / SAMPLES_FILE
    whole = samples.read_bytes()
    lines = whole.splitlines(keepends=True)
    samples.write_bytes(b"".join(lines[:-1]) + lines[-1][:40])  # killed mid-write
    result = run(tmp_path / "out")
    assert result.n_resumed == N_DRAFTS - 1
    assert samples.read_bytes() == whole


def test_a_damaged_record_in_the_middle_stops_the_run(tmp_path: Path) -> None:
    run(tmp_path / "out")
    samples = tmp_path / "out" / SAMPLES_FILE
    lines = samples.read_bytes().splitlines(keepends=True)
    samples.write_bytes(lines[0] + b"{not json}\n" + b"".join(lines[1:]))
    with pytest.raises(EvaluationError, match="unreadable record"):
        run(tmp_path / "out")


def test_resuming_with_other_settings_is_refused(tmp_path: Path) -> None:
    run(tmp_path / "out", seed=1)
    with pytest.raises(ConfigMismatchError, match="other settings"):
        run(tmp_path / "out", seed=2)


def test_resuming_over_another_worklist_is_refused(tmp_path: Path) -> None:
    run(tmp_path / "out")
    with pytest.raises(ConfigMismatchError, match="not in this run's input"):
        evaluate([case("stranger")], ReferenceGrounder(), KeywordParser(), CONFIG, out_dir=tmp_path / "out")


def test_two_cases_with_one_id_are_refused() -> None:
    with pytest.raises(IntegrityError, match="share a case id"):
        evaluate([case("twin"), case("twin")], ReferenceGrounder(), KeywordParser(), CONFIG)


def test_the_summary_file_reads_back_equal(tmp_path: Path) -> None:
    result = run(tmp_path / "out")
    restored = load_summary(tmp_path / "out" / SUMMARY_FILE)
    assert restored.model_dump_json() == result.summary.model_dump_json()


def test_every_record_in_the_jsonl_is_one_input_item(tmp_path: Path) -> None:
    run(tmp_path / "out", parser=FailingParser("effusion"))
    records = read_records(tmp_path / "out" / SAMPLES_FILE)
    assert len(records) == N_DRAFTS
    assert len({r.sample_id for r in records}) == N_DRAFTS


def test_the_markdown_states_coverage_and_lists_failures(tmp_path: Path) -> None:
    run(tmp_path / "out", parser=FailingParser("pneumothorax"))
    text = (tmp_path / "out" / MARKDOWN_FILE).read_text()
    summary = load_summary(tmp_path / "out" / SUMMARY_FILE)
    assert f"scored {summary.n_scored} of {N_DRAFTS}; {summary.n_failed} failed (see list)" in text
    assert "### Failed items" in text
    assert all(f"`{item.sample_id}`" in text for item in summary.failed)


def test_inapplicable_corruptions_are_counted_per_kind() -> None:
    counts = {c.corruption: c for c in run().summary.corruptions}
    assert counts["drop"].not_applicable == 1  # the normal case has nothing to drop
    assert counts["flip_side"].not_applicable == 2  # the normal and the bilateral case
    assert counts["none"].applicable == N_CASES


def test_parser_misreads_are_reported_by_sentence() -> None:
    class SideBlindParser(KeywordParser):
        """Reads every label but never its side."""

        def parse(self, text: str):  # type: ignore[no-untyped-def]
            reading = super().parse(text)
            labels = tuple(item.model_copy(update={"side": None}) for item in reading.labels)
            return reading.model_copy(update={"labels": labels})

    summary = run(parser=SideBlindParser()).summary
    assert summary.n_samples_misread > 0
    assert all("parser read present" in m.text for m in summary.misreads)
    assert summary.audit.per_type["LATERALITY"].recall.value == 0 / 3  # 0 of 3 flipped sides caught


def test_reference_source_keeps_one_readers_findings_for_drafts_and_grounder() -> None:
    two_readers = case(
        "two-readers",
        finding("pleural_effusion", RIGHT_LOWER).model_copy(update={"source": "reference:NIH"}),
        finding("cardiomegaly", HEART).model_copy(update={"source": "reference:ChestX-Det"}),
    )
    config = CONFIG.model_copy(update={"reference_source": "reference:NIH"})
    result = evaluate([two_readers], ReferenceGrounder(), KeywordParser(), config)
    assert {row.label for r in result.records for row in r.reference} == {"pleural_effusion"}
    assert all(
        "heart" not in r.draft.lower() and "cardiomegaly" not in r.draft.lower() for r in result.records
    )


class _CountingBatchGrounder:
    """A grounder that can batch, recording how it was called."""

    name = "batching"

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.single_calls = 0

    def ground(self, case: AuditCase) -> ImageReading:
        self.single_calls += 1
        return ImageReading(backend=self.name, findings=case.reference)

    def ground_batch(self, cases: Sequence[AuditCase], progress: object = None) -> list[ImageReading]:
        self.batches.append(len(cases))
        return [ImageReading(backend=self.name, findings=case.reference) for case in cases]


def test_batching_backends_read_a_chunk_per_call_with_identical_results() -> None:
    from models.rules.parser import RulesParser

    cases = [
        AuditCase(case_id=f"c{i}", draft="", reference=(ImageFinding(label="cardiomegaly", box=None),))
        for i in range(5)
    ]
    config = EvalConfig(
        grounder="batching", parser="rules", corruptions=("none", "drop"), seed=1, bootstrap_reps=10
    )
    batching = _CountingBatchGrounder()
    batched = evaluate(cases, batching, RulesParser(), config, batch_size=2)
    one_by_one = evaluate(cases, _CountingBatchGrounder(), RulesParser(), config, batch_size=1)
    assert batching.batches == [2, 2]  # the fifth case is alone in its chunk: grounded directly
    assert batching.single_calls == 1
    assert batched.summary.model_dump_json() == one_by_one.summary.model_dump_json()
