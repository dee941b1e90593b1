"""The rules draft parser: protocol, failure outcomes, precedence, spans, sections, laterality,
the fast combined scan, the OpenI benchmark and its CLI, and a smoke test on the IU reports."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.compare import compare
from audit.protocols import MAX_DRAFT_CHARS, DraftParser
from audit.schema import Box, DraftReading, ImageFinding, ImageReading
from audit.synth import synthesize
from bench.parser_openi import main as bench_main
from models.errors import BenchmarkDataError
from models.registry import get_parser
from models.rules.benchmark import (
    GOLD_FILE,
    MESH_FILE,
    KeywordBaseline,
    compose_draft,
    load_gold,
    run_benchmark,
    score_reports,
    select_split,
    throughput,
)
from models.rules.benchmark_report import failure_report, format_table, format_variants
from models.rules.combined import CombinedPattern, prefixes, split_alternatives
from models.rules.laterality import combine
from models.rules.lexicon import LEXICON
from models.rules.modifiers import MODIFIERS
from models.rules.parser import RulesParser
from models.rules.precedence import PRECEDENCE_TABLE
from models.rules.sections import read_regions
from models.settings import BackendSettings
from workstation.cli.main import main as cli_main

PARSER = RulesParser()


# --- protocol and registry ---------------------------------------------------------------


def test_rules_parser_satisfies_the_draft_parser_protocol() -> None:
    assert isinstance(PARSER, DraftParser)


def test_registry_builds_the_rules_parser_by_name() -> None:
    parser = get_parser("rules")
    assert (type(parser), parser.name) == (RulesParser, "rules")


def test_from_settings_ignores_settings() -> None:
    assert isinstance(RulesParser.from_settings(BackendSettings(model_id="anything")), RulesParser)


def test_reading_names_the_backend() -> None:
    assert PARSER.parse("Small left effusion.").backend == "rules"


# --- drafts that cannot be read give a clear outcome, never an exception --------------------


@pytest.mark.parametrize(
    "draft",
    ["", "   \n\t ", "x" * (MAX_DRAFT_CHARS + 1), "No effusion. " * 8_000],
    ids=["empty", "whitespace-only", "one-over-the-limit", "100-kB"],
)
def test_unreadable_draft_fails_visibly_without_labels(draft: str) -> None:
    reading = PARSER.parse(draft)
    assert (reading.outcome.status, reading.labels, reading.outcome.raw, bool(reading.outcome.error)) == (
        "failed",
        (),
        None,
        True,
    )


def test_draft_at_the_limit_is_read() -> None:
    draft = ("Small left effusion. " * MAX_DRAFT_CHARS)[:MAX_DRAFT_CHARS]
    assert PARSER.parse(draft).outcome.status == "ok"


@pytest.mark.parametrize(
    "draft",
    [
        "Keine akute kardiopulmonale Erkrankung. Kein Pleuraerguss.",
        "无急性心肺异常。",
        "NO ACUTE CARDIOPULMONARY PROCESS. SMALL LEFT EFFUSION.",
        "Left\x00\x01\x02 effusion\x1b[31m.\x7f",
        "!!!???...;;;:::",
        "effusion" * 500,
        "FINDINGS: IMPRESSION: FINDINGS:",
        "\u0130\u0130\u0130 cardiomegaly \ufb03",
        "🙂 pneumothorax 🙂",
    ],
    ids=[
        "german",
        "chinese",
        "all-caps",
        "control-characters",
        "punctuation-only",
        "one-long-word",
        "empty-sections",
        "unicode-case-expanding",
        "emoji",
    ],
)
def test_odd_drafts_are_read_without_error(draft: str) -> None:
    assert PARSER.parse(draft).outcome.status == "ok"


# --- the precedence table, one test per row ------------------------------------------------

PRECEDENCE_CASES = [
    ("PREC.PRESENT_WINS", "No pleural effusion. Small left effusion.", "pleural_effusion", "present", "left"),
    (
        "PREC.UNCERTAIN_OVER_ABSENT",
        "No large effusion. Possible small right effusion.",
        "pleural_effusion",
        "uncertain",
        "right",
    ),
    ("PREC.FIRST_SPAN", "Left effusion. Effusion is unchanged.", "pleural_effusion", "present", "left"),
    (
        "PREC.SIDES_MERGE",
        "Small right effusion. Trace left effusion.",
        "pleural_effusion",
        "present",
        "bilateral",
    ),
    (
        "PREC.FINDING_OVERRULES_NORMAL",
        "No acute cardiopulmonary process. Mild cardiomegaly.",
        "no_finding",
        "absent",
        None,
    ),
    (
        "PREC.ALL_DENIED_IS_NORMAL",
        "No effusion or pneumothorax. Lungs are clear.",
        "no_finding",
        "present",
        None,
    ),
    (
        "PREC.IMPRESSION_HEDGES_A_SIGN",
        "FINDINGS: Blunting of the left costophrenic angle.\n"
        "IMPRESSION: Small left effusion versus pleural thickening.",
        "pleural_effusion",
        "uncertain",
        "left",
    ),
]


@pytest.mark.parametrize(
    ("row", "draft", "label", "status", "side"), PRECEDENCE_CASES, ids=[case[0] for case in PRECEDENCE_CASES]
)
def test_precedence_row(row: str, draft: str, label: str, status: str, side: str | None) -> None:
    item = PARSER.parse(draft).get(label)
    assert item is not None
    assert (item.status, item.side) == (status, side)


def test_every_precedence_row_has_a_test() -> None:
    assert [row for row, _when, _then in PRECEDENCE_TABLE] == [case[0] for case in PRECEDENCE_CASES]


def test_first_span_keeps_the_first_mention() -> None:
    item = PARSER.parse("Left effusion. Effusion is unchanged.").get("pleural_effusion")
    assert item is not None
    assert (item.span, item.start) == ("Left effusion", 0)


def test_normal_overruled_quotes_the_finding_and_names_both_rules() -> None:
    item = PARSER.parse("No acute cardiopulmonary process. Mild cardiomegaly.").get("no_finding")
    assert item is not None
    # The quoted finding was "cardiomegaly"; the span policy (models/rules/spans.py) now keeps
    # the severity word that describes it, so the finding's own phrase is "Mild cardiomegaly".
    assert (item.span, item.rule_id) == (
        "Mild cardiomegaly",
        "PREC.FINDING_OVERRULES_NORMAL|MENTION.CARDIOMEGALY.NAME",
    )


def test_a_modifier_decision_names_mention_and_modifier() -> None:
    item = PARSER.parse("No pneumothorax.").get("pneumothorax")
    assert item is not None
    assert item.rule_id == "MENTION.PNEUMOTHORAX.NAME|NEG.NO"


# --- spans: draft[start:end] == span, always ------------------------------------------------

_WORDS = [
    "no", "not", "without", "possible", "cannot exclude", "versus", "but", "however", "history of", "no new",
    "right", "left", "bilateral", "small", "large", "effusion", "pleural effusion", "pneumothorax", "PTX",
    "consolidation", "airspace disease", "pneumonia", "nodule", "mass", "cardiomegaly", "heart is enlarged",
    "heart size is normal", "lungs are clear", "no acute cardiopulmonary process", "normal chest",
    "atelectasis",
    "FINDINGS:", "IMPRESSION:", "INDICATION:", ".", ",", ";", "\n", "1.5", "XXXX", "İ", "\x00", "is not seen",
    "has resolved", "within normal limits", "upper limits of normal", "not only", "no change in",
]  # fmt: skip
_DRAFTS = st.one_of(
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=40).map(" ".join),
    st.text(min_size=1, max_size=300),
    st.lists(st.sampled_from(_WORDS) | st.text(max_size=5), min_size=1, max_size=30).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(_DRAFTS)
def test_every_span_is_the_drafts_own_text(draft: str) -> None:
    reading = PARSER.parse(draft)
    assert [draft[item.start : item.end] for item in reading.labels] == [item.span for item in reading.labels]


@settings(max_examples=200, deadline=None)
@given(_DRAFTS)
def test_reading_round_trips_through_json(draft: str) -> None:
    reading = PARSER.parse(draft)
    assert DraftReading.model_validate_json(reading.model_dump_json()) == reading


# --- the fast combined scan means the same as a plain alternation ---------------------------


_RULES = LEXICON + MODIFIERS
_PLAIN = re.compile("|".join(rf"(?<!\w)((?:{rule.pattern})\b)" for rule in _RULES))
_COMBINED = CombinedPattern(_RULES)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=40).map(" ".join))
def test_combined_scan_equals_plain_alternation(draft: str) -> None:
    lowered = draft.lower()
    expected = [(_RULES[(m.lastindex or 1) - 1].id, m.start(), m.end()) for m in _PLAIN.finditer(lowered)]
    assert [
        (rule.id, start, end) for rule, start, end in _COMBINED.scan(lowered, 0, len(lowered))
    ] == expected


@pytest.mark.parametrize(
    ("pattern", "parts"),
    [
        ("a|b", ["a", "b"]),
        ("a(?:b|c)|d", ["a(?:b|c)", "d"]),
        (r"[|)]x|\|y", ["[|)]x", r"\|y"]),
        ("abc", ["abc"]),
    ],
    ids=["two", "nested-group", "class-and-escape", "single"],
)
def test_split_alternatives(pattern: str, parts: list[str]) -> None:
    assert split_alternatives(pattern) == parts


@pytest.mark.parametrize(
    ("pattern", "begins"),
    [
        ("effusion", frozenset({"eff"})),
        (r"(?:the\s+)?lungs?", frozenset({"the", "lun"})),
        ("no|not", frozenset({"no"})),
        ("[a-c]x|d", frozenset("abcd")),
        (r"ptx\b", frozenset({"ptx"})),
        (r"r(?=\s+lower)", frozenset({"r"})),
        (r"\w+", None),
        ("x?", None),
    ],
    ids=[
        "literal",
        "optional-prefix",
        "shorter-alternative-sets-the-length",
        "mixed-lengths-fall-back-to-one-letter",
        "assertion-is-zero-width",
        "lookahead-after-one-letter",
        "category-is-unknown",
        "may-be-empty",
    ],
)
def test_prefixes(pattern: str, begins: frozenset[str] | None) -> None:
    assert prefixes(pattern) == begins


# --- sections -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "read"),
    [
        ("Small effusion.", ["Small effusion."]),
        ("INDICATION: cough. FINDINGS: clear.", [" clear."]),
        ("Chest. HISTORY: fever.\nIMPRESSION: normal.", ["Chest. ", " normal."]),
        ("INDICATION: cough. COMPARISON: none.", ["INDICATION: cough. COMPARISON: none."]),
    ],
    ids=["no-headers", "indication-dropped", "preamble-kept", "no-answer-section-reads-all"],
)
def test_read_regions(draft: str, read: list[str]) -> None:
    assert [draft[region.start : region.end] for region in read_regions(draft)] == read


def test_regions_say_which_is_the_conclusion() -> None:
    draft = "Chest. FINDINGS: Clear. Conclusion: normal. HISTORY: cough. IMPRESSION: Normal."
    assert [region.conclusion for region in read_regions(draft)] == [False, False, True, True]


# --- laterality -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sides", "side"),
    [
        (set(), None),
        ({"left"}, "left"),
        ({"left", "right"}, "bilateral"),
        ({"bilateral", "left"}, "bilateral"),
    ],
    ids=["none", "one", "both-sides", "bilateral-wins"],
)
def test_combine_sides(sides: set[str], side: str | None) -> None:
    assert combine(sides) == side  # type: ignore[arg-type]


def _image(box: Box) -> ImageReading:
    return ImageReading(backend="reference", findings=(ImageFinding(label="pleural_effusion", box=box),))


# Patient's right is the viewer's left: a box in the image's left half is the patient's right.
_PATIENT_RIGHT = Box(x0=0.05, y0=0.5, x1=0.4, y1=0.9)
_PATIENT_LEFT = Box(x0=0.6, y0=0.5, x1=0.95, y1=0.9)
_MIDLINE = Box(x0=0.3, y0=0.5, x1=0.7, y1=0.9)


@pytest.mark.parametrize(
    ("draft", "box", "flags"),
    [
        ("Small right pleural effusion.", _PATIENT_LEFT, ["LATERALITY"]),
        ("Small right pleural effusion.", _PATIENT_RIGHT, []),
        ("Small left pleural effusion.", _PATIENT_RIGHT, ["LATERALITY"]),
        ("Small right pleural effusion.", _MIDLINE, []),
        ("Bilateral pleural effusions.", _PATIENT_LEFT, []),
        ("Small pleural effusion.", _PATIENT_LEFT, []),
        ("No right pleural effusion.", _PATIENT_LEFT, ["MISSING"]),
        ("Possible right pleural effusion.", _PATIENT_LEFT, []),
    ],
    ids=[
        "right-in-draft-left-on-image",
        "sides-agree",
        "left-in-draft-right-on-image",
        "box-straddles-midline",
        "bilateral-matches-either",
        "no-side-in-draft",
        "denied-is-missing-not-laterality",
        "uncertain-is-not-checked-for-side",
    ],
)
def test_comparator_laterality_from_parsed_draft(draft: str, box: Box, flags: list[str]) -> None:
    result = compare(_image(box), PARSER.parse(draft))
    assert [flag.type for flag in result.flags] == flags


# --- the OpenI benchmark on a tiny gold file ------------------------------------------------

_TINY_ROWS = [
    ("CXR1", "test", "No effusion. Heart size normal.", "No acute disease.", "0", "0", "0", "0", "0", "1"),
    ("CXR2", "test", "Small left pleural effusion.", "Left effusion.", "1", "0", "0", "0", "0", "0"),
    ("CXR3", "test", "", "", "0", "0", "0", "0", "0", "0"),
    ("CXR4", "other", "Cardiomegaly.", "", "0", "0", "0", "0", "1", "0"),
]  # fmt: skip


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    path = tmp_path / GOLD_FILE
    path.parent.mkdir(parents=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "uid", "split_negbio", "findings", "impression", "pleural_effusion", "pneumothorax",
                "lung_opacity_consolidation", "nodule_mass", "cardiomegaly", "no_finding",
                "gold_source_labels",
            ]
        )  # fmt: skip
        writer.writerows([(*row, "") for row in _TINY_ROWS])
    return tmp_path


# The MeSH coding of the same reports: CXR2's effusion is coded, and CXR4 is not coded at all.
_TINY_MESH = [
    ("CXR1", "normal", "0", "0", "0", "0", "0", "1"),
    ("CXR2", "Pleural Effusion/left/small|Opacity/lung/base/left", "1", "0", "1", "0", "0", "0"),
    ("CXR3", "normal", "0", "0", "0", "0", "0", "1"),
]  # fmt: skip


_MESH_COLUMNS = [
    "pleural_effusion", "pneumothorax", "lung_opacity_consolidation", "nodule_mass", "cardiomegaly",
    "no_finding",
]  # fmt: skip


@pytest.fixture
def tiny_data_with_mesh(tiny_data: Path) -> Path:
    with (tiny_data / MESH_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uid", "mesh_major", *_MESH_COLUMNS])
        writer.writerows(_TINY_MESH)
    return tiny_data


def test_mesh_gold_is_joined_by_uid(tiny_data_with_mesh: Path) -> None:
    reports = {report.uid: report for report in load_gold(tiny_data_with_mesh)}
    assert (reports["CXR2"].mesh, reports["CXR4"].mesh) == (
        frozenset({"pleural_effusion", "lung_opacity"}),
        None,
    )


def test_mesh_gold_scores_the_same_reports_against_its_own_labels(tiny_data_with_mesh: Path) -> None:
    reports = select_split(load_gold(tiny_data_with_mesh), "test")
    scores = score_reports(PARSER, reports, "test", gold="mesh")
    opacity = scores.strict["lung_opacity"]
    # CXR2's coded opacity is not in its text: 1 of 1 MeSH opacities missed.
    assert (scores.gold, scores.scored, scores.skipped, opacity.tp, opacity.fn) == ("mesh", 2, 1, 0, 1)


def test_report_without_mesh_coding_is_skipped_not_scored(tiny_data_with_mesh: Path) -> None:
    scores = score_reports(PARSER, select_split(load_gold(tiny_data_with_mesh), "dev"), "dev", gold="mesh")
    assert (scores.scored, scores.skipped) == (0, 1)


def test_unknown_gold_is_a_named_error(tiny_data: Path) -> None:
    with pytest.raises(BenchmarkDataError, match="unknown gold"):
        score_reports(PARSER, load_gold(tiny_data), "test", gold="chexpert")


def test_benchmark_without_mesh_file_keeps_the_negbio_table(tiny_data: Path) -> None:
    result = run_benchmark(tiny_data, [PARSER], min_seconds=0.01)
    assert (len(result.results), result.mesh_results) == (2, ())


def test_benchmark_with_mesh_file_scores_both_golds(tiny_data_with_mesh: Path) -> None:
    result = run_benchmark(tiny_data_with_mesh, [PARSER, KeywordBaseline()], min_seconds=0.01)
    assert [(item.gold, item.split, item.parser) for item in result.mesh_results] == [
        ("mesh", "test", "rules"),
        ("mesh", "test", "keywords"),
        ("mesh", "dev", "rules"),
        ("mesh", "dev", "keywords"),
    ]


def test_failure_report_refuses_test_split_text(tiny_data: Path) -> None:
    with pytest.raises(BenchmarkDataError, match="development reports only"):
        failure_report(PARSER, load_gold(tiny_data))


def test_failure_report_names_phrase_and_rule_of_a_false_positive(tiny_data: Path) -> None:
    # CXR4 (dev) says "Cardiomegaly." and its gold agrees; a copy whose gold is empty is a
    # false positive quoted with the rule that read it.
    dev = select_split(load_gold(tiny_data), "dev")
    wrong = [report.__class__(uid="X", split="other", draft=report.draft, gold=frozenset()) for report in dev]
    text = failure_report(PARSER, wrong, golds=("negbio",))
    assert ("cardiomegaly: 1 FP, 0 FN" in text, '"cardiomegaly" [MENTION.CARDIOMEGALY.NAME] x1' in text) == (
        True,
        True,
    )


def test_compose_draft_puts_sections_under_headers() -> None:
    assert compose_draft(" Clear. ", "Normal.") == "FINDINGS: Clear.\nIMPRESSION: Normal."


def test_benchmark_scores_and_skips(tiny_data: Path) -> None:
    scores = score_reports(PARSER, select_split(load_gold(tiny_data), "test"), "test")
    effusion = scores.strict["pleural_effusion"]
    assert (scores.scored, scores.skipped, effusion.tp, effusion.fp, effusion.fn) == (2, 1, 1, 0, 0)


def test_keyword_baseline_ignores_negation(tiny_data: Path) -> None:
    scores = score_reports(KeywordBaseline(), select_split(load_gold(tiny_data), "test"), "test")
    effusion = scores.strict["pleural_effusion"]
    assert (effusion.tp, effusion.fp) == (1, 1)  # 1 of 2 "effusion" mentions is a denial


def test_format_table_lists_every_label_and_macro_f1(tiny_data: Path) -> None:
    scores = score_reports(PARSER, select_split(load_gold(tiny_data), "test"), "test")
    table = format_table([scores])
    assert [name in table for name in ("pleural_effusion", "no_finding", "macro-F1", "1 skipped")] == [
        True
    ] * 4


def test_cli_eval_parser_prints_the_table(tiny_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["eval-parser", "--data", str(tiny_data), "--seconds", "0.01"])
    out = capsys.readouterr().out
    assert (code, "== split: test ==" in out, "== split: dev ==" in out, "keywords" in out) == (
        0,
        True,
        True,
        True,
    )


def test_cli_eval_parser_without_data_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["eval-parser", "--data", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert (code, err.count("\n"), "gold file not found" in err) == (2, 1, True)


def test_bench_script_runs_on_given_data(tiny_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = bench_main(["--data", str(tiny_data), "--seconds", "0.01"])
    assert (code, "throughput rules" in capsys.readouterr().out) == (0, True)


def test_mesh_report_marked_no_indexing_is_skipped_and_scored_as_issued_beside(tiny_data: Path) -> None:
    with (tiny_data / MESH_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uid", "mesh_major", *_MESH_COLUMNS])
        writer.writerows([("CXR1", "No Indexing", *"000000"), ("CXR2", "Pleural Effusion", *"100000")])
    reports = select_split(load_gold(tiny_data), "test")
    mesh = score_reports(PARSER, reports, "test", gold="mesh")
    as_issued = score_reports(PARSER, reports, "test", gold="mesh_as_issued")
    # CXR1 reads "No acute disease": skipped when not indexed, a false no_finding as issued.
    assert (mesh.scored, mesh.skipped, as_issued.scored, as_issued.strict["no_finding"].fp) == (1, 2, 2, 1)


def test_throughput_reports_best_and_median_of_at_least_five_passes() -> None:
    speed = throughput(PARSER.parse, ["Small left effusion.", "No pneumothorax."], min_seconds=0.0)
    assert (speed.passes >= 5, speed.best >= speed.median > 0) == (True, True)


def test_borderline_policy_can_be_read_the_other_way_for_the_benchmark() -> None:
    other = RulesParser(borderline="uncertain")
    assert (
        PARSER.parse("Borderline cardiomegaly.").labels[0].status,
        other.parse("Borderline cardiomegaly.").labels[0].status,
        other.name,
    ) == ("present", "uncertain", "rules (borderline uncertain)")


def test_benchmark_scores_variants_on_both_golds(tiny_data_with_mesh: Path) -> None:
    result = run_benchmark(
        tiny_data_with_mesh, [PARSER], min_seconds=0.01, variants=[RulesParser(borderline="uncertain")]
    )
    table = format_variants(result.results, result.variants, "cardiomegaly")
    assert [(item.split, item.gold) for item in result.variants] == [
        ("test", "negbio"),
        ("test", "mesh"),
        ("dev", "negbio"),
        ("dev", "mesh"),
    ]
    assert ("rules (borderline uncertain)" in table, "cardiomegaly P / R / F1" in table) == (True, True)


def test_cli_eval_parser_prints_the_mesh_table_when_present(
    tiny_data_with_mesh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["eval-parser", "--data", str(tiny_data_with_mesh), "--seconds", "0.01"])
    assert (code, "== split: test (gold: mesh) ==" in capsys.readouterr().out) == (0, True)


def test_bench_script_prints_mesh_table_and_dev_failures(
    tiny_data_with_mesh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = bench_main(["--data", str(tiny_data_with_mesh), "--seconds", "0.01"])
    out = capsys.readouterr().out
    assert (code, "== split: test (gold: mesh) ==" in out, "where rules fails and why (dev split" in out) == (
        0,
        True,
        True,
    )
    assert ("borderline heart both ways" in out, "MeSH coding as issued" in out, "best of" in out) == (
        True,
        True,
        True,
    )


def test_bench_script_pins_to_a_core(tiny_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    core = min(os.sched_getaffinity(0))
    code = bench_main(["--data", str(tiny_data), "--seconds", "0.01", "--core", str(core)])
    assert (code, f"core(s) [{core}]" in capsys.readouterr().out) == (0, True)


def test_bench_script_refuses_a_core_it_cannot_use(
    tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = bench_main(["--data", str(tiny_data), "--seconds", "0.01", "--core", "100000"])
    assert (code, "cannot pin to core" in capsys.readouterr().err) == (2, True)


# --- the real IU reports: nothing crashes ---------------------------------------------------


@pytest.mark.requires_shared_data
def test_every_iu_report_parses_without_error(shared_data: Path) -> None:
    path = shared_data / "reports" / "iu_openi" / "iu_reports.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    drafts = [
        "\n".join(
            f"{key.upper()}: {row[key]}" for key in ("indication", "findings", "impression") if row[key]
        )
        for row in rows
    ]
    outcomes = [PARSER.parse(draft).outcome.status if draft.strip() else "empty" for draft in drafts]
    assert (len(rows), outcomes.count("failed")) == (3955, 0)


# --- the project's own synthetic drafts read back as written --------------------------------

_SYNTH_BOXES = {
    "right": Box(x0=0.1, y0=0.2, x1=0.4, y1=0.5),
    "left": Box(x0=0.6, y0=0.5, x1=0.9, y1=0.8),
}
_SYNTH_CASES = [
    (label, side, seed)
    for label in ("pleural_effusion", "pneumothorax", "lung_opacity", "nodule_mass", "cardiomegaly")
    for side in ("right", "left")
    for seed in range(6)
]


@pytest.mark.parametrize(
    ("label", "side", "seed"),
    _SYNTH_CASES,
    ids=[f"{label}-{side}-{seed}" for label, side, seed in _SYNTH_CASES],
)
def test_synthetic_draft_sentences_read_as_written(label: str, side: str, seed: int) -> None:
    finding = ImageFinding(label=label, box=_SYNTH_BOXES[side])  # type: ignore[arg-type]
    draft = synthesize(f"case-{label}-{side}", [finding], "none", seed=seed)
    read = [PARSER.parse(mention.sentence).get(mention.label) for mention in draft.mentions]
    assert [(item.status, item.side) if item else None for item in read] == [
        (mention.status, None if mention.label == "cardiomegaly" else mention.side)
        for mention in draft.mentions
    ]
