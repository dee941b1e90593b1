"""Scoring report generators: the pathology table, flag rates, failures, intervals and differences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.protocols import AuditCase
from audit.recover import read_report
from audit.recover.report_text import NO_TEXT
from audit.report_eval import (
    Feedback,
    GeneratedReport,
    ReportEvaluation,
    TypeFeedback,
    evaluate_reports,
    read_evaluation,
    render_markdown,
    write_evaluation,
)
from audit.report_eval.records import NOT_GENERATED
from audit.synth import synthesize
from tests.audit.eval_fakes import (
    HEART,
    LEFT_APEX,
    RIGHT_LOWER,
    KeywordParser,
    ReferenceGrounder,
    case,
    finding,
    worklist,
)

SILENT = "No acute cardiopulmonary abnormality."


def ok(generator: str, case_id: str, text: str) -> GeneratedReport:
    return GeneratedReport(case_id=case_id, generator=generator, outcome="ok", text=text)


def failed(generator: str, case_id: str, error: str = NO_TEXT) -> GeneratedReport:
    return GeneratedReport(case_id=case_id, generator=generator, outcome="failed", error=error)


def synthetic(cases: list[AuditCase], generator: str, corruption: str) -> dict[str, GeneratedReport]:
    return {
        c.case_id: ok(generator, c.case_id, synthesize(c.case_id, c.reference, corruption).text)  # type: ignore[arg-type]
        for c in cases
    }


def silent(cases: list[AuditCase]) -> dict[str, GeneratedReport]:
    return {c.case_id: ok("silent", c.case_id, SILENT) for c in cases}


def evaluate(
    cases: list[AuditCase], reports: dict[str, dict[str, GeneratedReport]], **kwargs: object
) -> ReportEvaluation:
    from models.rules.parser import RulesParser

    return evaluate_reports(cases, reports, ReferenceGrounder(), RulesParser(), reps=200, **kwargs)  # type: ignore[arg-type]


class TestFaithfulAndSilent:
    def test_a_faithful_generator_scores_every_label_and_raises_no_discrepancy(self) -> None:
        cases = worklist()
        scores = evaluate(cases, {"faithful": synthetic(cases, "faithful", "none")}).generators["faithful"]
        assert scores.macro_f1 == 1.0 and scores.macro["f1"].labels == 5
        assert scores.flag_rates == {"MISSING": 0.0, "UNSUPPORTED": 0.0, "LATERALITY": 0.0, "URGENT": 0.0}
        assert scores.pathology["pleural_effusion"].n_positive == 2  # effusion-right and busy
        assert (scores.cases, scores.scored, scores.failed) == (5, 5, 0)

    def test_a_silent_generator_has_no_recall_no_f1_and_is_flagged_missing(self) -> None:
        cases = worklist()
        scores = evaluate(cases, {"silent": silent(cases)}).generators["silent"]
        assert all(row.recall == 0.0 and row.f1 == 0.0 for row in scores.pathology.values())
        assert all(row.precision is None for row in scores.pathology.values())  # it asserts nothing
        assert scores.macro_f1 == 0.0
        assert scores.flag_rates["MISSING"] == 4 / 5  # every case but the normal one
        assert scores.flag_counts["MISSING"].flags == 1 + 1 + 2 + 3  # one per label each case shows
        assert scores.flag_rates["URGENT"] == 2 / 2  # ptx-left and busy: urgent findings left out
        assert scores.flag_rates["UNSUPPORTED"] == 0.0

    def test_accuracy_counts_true_negatives(self) -> None:
        cases = worklist()
        row = evaluate(cases, {"silent": silent(cases)}).generators["silent"].pathology["cardiomegaly"]
        assert (row.tp, row.fp, row.fn, row.tn) == (0, 0, 2, 3)
        assert row.accuracy == 3 / 5


class TestDiscrepancies:
    def test_a_dropped_finding_is_missing_and_a_flipped_side_is_laterality(self) -> None:
        cases = [case("effusion-right", finding("pleural_effusion", RIGHT_LOWER))]
        evaluation = evaluate(
            cases,
            {
                "drops": synthetic(cases, "drops", "drop"),
                "flips": synthetic(cases, "flips", "flip_side"),
                "adds": synthetic(cases, "adds", "add"),
            },
        )
        assert evaluation.generators["drops"].flag_rates["MISSING"] == 1.0
        assert evaluation.generators["flips"].flag_rates["LATERALITY"] == 1.0
        assert evaluation.generators["flips"].pathology["pleural_effusion"].recall == 1.0  # named, wrong side
        assert evaluation.generators["adds"].flag_rates["UNSUPPORTED"] == 1.0

    def test_an_urgent_finding_denied_counts_as_omitted(self) -> None:
        cases = [case("ptx", finding("pneumothorax", LEFT_APEX))]
        scores = evaluate(cases, {"denies": {"ptx": ok("denies", "ptx", "No pneumothorax.")}}).generators[
            "denies"
        ]
        assert scores.flag_counts["URGENT"].cases == 1 and scores.flag_counts["URGENT"].of == 1

    def test_an_uncertain_mention_counts_as_asserted_unless_the_policy_ignores_it(self) -> None:
        from audit.schema import ComparePolicy

        cases = [case("cm", finding("cardiomegaly", HEART))]
        reports = {"hedges": {"cm": ok("hedges", "cm", "Possible cardiomegaly.")}}
        assert evaluate(cases, reports).generators["hedges"].pathology["cardiomegaly"].recall == 1.0
        strict = evaluate(cases, reports, policy=ComparePolicy(uncertain_is_mention=False))
        assert strict.generators["hedges"].pathology["cardiomegaly"].recall == 0.0
        assert strict.generators["hedges"].flag_rates["MISSING"] == 1.0


class TestFailures:
    def test_a_failed_generation_is_counted_listed_and_scored_as_silence(self) -> None:
        cases = worklist()
        reports = synthetic(cases, "g", "none")
        reports["busy"] = failed("g", "busy")
        scores = evaluate(cases, {"g": reports}).generators["g"]
        assert (scores.cases, scores.scored, scores.failed) == (5, 4, 1)
        assert [(f.case_id, f.reason) for f in scores.failures] == [("busy", NO_TEXT)]
        assert scores.flag_rates["MISSING"] == 1 / 5  # busy, as a report that says nothing
        assert scores.pathology["nodule_mass"].recall == 0.0  # only busy has a nodule

    def test_failures_left_out_shrink_n_instead(self) -> None:
        cases = worklist()
        reports = synthetic(cases, "g", "none")
        reports["busy"] = failed("g", "busy")
        scores = evaluate(cases, {"g": reports}, failed_as="excluded").generators["g"]
        assert scores.failed == 1 and scores.flag_rates["MISSING"] == 0.0
        assert scores.flag_counts["MISSING"].of == 4
        assert scores.pathology["nodule_mass"].recall is None  # its only positive was left out

    def test_a_case_without_a_report_is_a_failure_of_that_generator(self) -> None:
        cases = worklist()
        reports = synthetic(cases[:3], "partial", "none")
        scores = evaluate(cases, {"partial": reports}).generators["partial"]
        assert scores.not_generated == 2 and scores.failed == 2
        assert {f.reason for f in scores.failures} == {NOT_GENERATED}

    def test_a_reference_that_cannot_be_read_stops_the_evaluation(self) -> None:
        from audit.errors import EvaluationError
        from models.rules.parser import RulesParser
        from tests.audit.eval_fakes import FailingGrounder

        with pytest.raises(EvaluationError, match="could not read case busy"):
            evaluate_reports(worklist(), {"g": {}}, FailingGrounder("busy"), RulesParser())

    def test_a_recovered_generation_is_counted(self) -> None:
        reading = read_report("<think>a</think><think>b</think>Small right effusion.")
        assert reading.outcome.status == "recovered"
        cases = [case("effusion-right", finding("pleural_effusion", RIGHT_LOWER))]
        report = GeneratedReport(
            case_id="effusion-right", generator="t", outcome="recovered", text=reading.text
        )
        scores = evaluate(cases, {"t": {"effusion-right": report}}).generators["t"]
        assert scores.recovered == 1 and scores.pathology["pleural_effusion"].recall == 1.0


class TestIntervalsAndDifferences:
    def test_the_same_inputs_and_seed_give_the_same_document(self) -> None:
        cases = worklist()
        reports = {"faithful": synthetic(cases, "faithful", "none"), "silent": silent(cases)}
        first, second = evaluate(cases, reports, seed=3), evaluate(cases, reports, seed=3)
        assert first.model_dump_json() == second.model_dump_json()
        low, high = first.generators["silent"].flag_counts["MISSING"].ci
        assert low is not None and high is not None and low <= 4 / 5 <= high

    def test_paired_differences_cover_only_the_cases_both_generators_have(self) -> None:
        cases = worklist()
        reports = {"faithful": synthetic(cases, "faithful", "none"), "silent": silent(cases[1:])}
        differences = {d.figure: d for d in evaluate(cases, reports).differences}
        macro = differences["macro_f1"]
        assert (macro.earlier, macro.later, macro.cases) == ("faithful", "silent", 4)
        assert macro.difference == -1.0 and macro.ci == (-1.0, -1.0)
        assert differences["flag_rates.MISSING"].difference == 1.0  # the 4 shared cases all have findings

    def test_the_keyword_parser_can_stand_in_for_the_rules_parser(self) -> None:
        cases = [case("effusion-right", finding("pleural_effusion", RIGHT_LOWER))]
        reports = {"g": {"effusion-right": ok("g", "effusion-right", "Right pleural effusion.")}}
        evaluation = evaluate_reports(cases, reports, ReferenceGrounder(), KeywordParser(), reps=0)
        assert evaluation.parser == "keyword"
        assert evaluation.generators["g"].pathology["pleural_effusion"].ci["recall"] == (None, None)


class TestFiles:
    def test_the_json_holds_the_contract_keys_as_numbers_and_the_markdown_renders_them(
        self, tmp_path: Path
    ) -> None:
        cases = worklist()
        feedback = Feedback(
            accepted_flag_rate=2 / 3,
            accepted=2,
            dismissed=1,
            decisions=3,
            flags=8,
            flags_decided=3,
            by_type={"MISSING": TypeFeedback(accepted=2, decisions=3, rate=2 / 3)},
        )
        evaluation = evaluate(
            cases,
            {"faithful": synthetic(cases, "faithful", "none"), "silent": silent(cases)},
            feedback={"silent": feedback},
        )
        write_evaluation(tmp_path, evaluation)
        document = json.loads((tmp_path / "report_eval.json").read_text(encoding="utf-8"))
        silent_scores = document["generators"]["silent"]
        assert {"cases", "failed", "pathology", "macro_f1", "flag_rates"} <= set(silent_scores)
        assert set(silent_scores["pathology"]["cardiomegaly"]) >= {"precision", "recall", "f1", "n_positive"}
        assert silent_scores["pathology"]["cardiomegaly"]["precision"] is None  # undefined, not NaN
        assert silent_scores["flag_rates"]["MISSING"] == 0.8
        assert document["differences"]
        assert read_evaluation(tmp_path) == evaluation
        markdown = (tmp_path / "report_eval.md").read_text(encoding="utf-8")
        assert markdown == render_markdown(evaluation)
        assert "Research and education only" in markdown
        assert "| cases with MISSING | 0.000 [0.000, 0.000] (0/5) | 0.800" in markdown
        assert "0.667 (2/3)" in markdown  # the reviewers' accepted-flag rate, with its N
