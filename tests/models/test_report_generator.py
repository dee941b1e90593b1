"""The report generators: medgemma end to end on a tiny random-weight Gemma 3 on CPU, and
openai against a fake OpenAI-compatible server on 127.0.0.1.

For medgemma the real registry, loading code, chat template (our report prompt after the
image), processor, ``generate``, the retry ladder and :func:`audit.recover.read_report` run.
Random weights write whatever they write: each case must come back, in order, with its
outcome and every raw text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.protocols import AuditCase
from bench.fake_endpoint import FakeEndpoint, Reply, serve
from models.checkpoints import report_profile
from models.prompts import REPORT_INSTRUCTION, REPORT_SYSTEM
from models.registry import MEDGEMMA_BASE_ID, get_generator, spec_for
from models.report_generator import (
    MedGemmaReportGenerator,
    OpenAIReportGenerator,
    ReportGenerator,
    report_image,
)
from models.settings import BackendSettings
from tests.models.tiny_models import cpu_settings, tiny_chest_image

WIDTH, HEIGHT = 96, 80


def case(case_id: str, seed: int = 0) -> AuditCase:
    return AuditCase(
        case_id=case_id,
        draft="",
        image_size=(WIDTH, HEIGHT),
        load_image=lambda: tiny_chest_image(WIDTH, HEIGHT, seed),
    )


def unreadable(case_id: str) -> AuditCase:
    def fail() -> object:
        raise OSError("the PNG is truncated")

    return AuditCase(case_id=case_id, draft="", load_image=fail)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def generator(tiny_medgemma_dir: Path) -> MedGemmaReportGenerator:
    built = get_generator("medgemma", cpu_settings(tiny_medgemma_dir, max_new_tokens=16, max_retries=1))
    assert isinstance(built, MedGemmaReportGenerator)
    return built


@pytest.mark.requires_torch
def test_the_registry_builds_base_medgemma_as_a_report_generator(generator: MedGemmaReportGenerator) -> None:
    assert isinstance(generator, ReportGenerator)
    assert type(generator.loaded.model).__name__ == "Gemma3ForConditionalGeneration"
    assert generator.profile.name == "medgemma-report"  # a local folder gets the default profile
    spec = spec_for("generator", "medgemma")
    assert spec.default_model_id == MEDGEMMA_BASE_ID
    assert spec.settings_sections == ("medgemma-generator",)  # never the grounder's fine-tune
    assert any("is called as medgemma-report" in note for note in generator.notes)


@pytest.mark.requires_torch
def test_the_chat_template_carries_the_image_and_our_report_prompt(
    generator: MedGemmaReportGenerator,
) -> None:
    image = report_image(case("c1"), generator.profile)
    text = generator.loaded.preprocessor.apply_chat_template(
        generator.profile.messages(image), add_generation_prompt=True
    )
    assert "<start_of_image>" in text
    assert REPORT_SYSTEM in text and REPORT_INSTRUCTION in text
    assert text.index("<start_of_image>") < text.index(REPORT_INSTRUCTION)


@pytest.mark.requires_torch
def test_every_case_comes_back_in_order_with_its_outcome_and_raw_text(
    generator: MedGemmaReportGenerator,
) -> None:
    cases = [case("a", 0), unreadable("broken"), case("b", 1)]
    done: list[int] = []
    runs = generator.generate_batch(cases, progress=done.append)
    assert [run.case_id for run in runs] == ["a", "broken", "b"]
    assert sum(done) == 3
    broken = runs[1]
    assert broken.reading.failed and broken.run is None
    assert "no usable image: the PNG is truncated" in (broken.reading.outcome.error or "")
    for run in (runs[0], runs[2]):
        assert run.run is not None and run.run.task == "report"
        attempts = run.run.attempts
        assert 1 <= len(attempts) <= 2  # greedy, then one retry if the answer was empty
        assert all(a.decoding.max_new_tokens == 16 for a in attempts)
        if run.reading.failed:
            assert run.reading.outcome.raw == attempts[-1].raw
        else:
            assert run.reading.text == attempts[-1].raw.strip()


def test_a_large_image_is_sent_with_its_longer_side_at_the_profiles_limit() -> None:
    big = AuditCase(case_id="big", draft="", load_image=lambda: tiny_chest_image(2048, 1536))
    assert report_image(big, report_profile("medgemma-report")).size == (1024, 768)


REPORT = "FINDINGS: Small right pleural effusion. No pneumothorax. IMPRESSION: Right effusion."


@pytest.fixture
def server() -> Iterator[FakeEndpoint]:
    with serve(FakeEndpoint(served=(MEDGEMMA_BASE_ID,))) as running:
        yield running


def endpoint_generator(url: str, **overrides: object) -> OpenAIReportGenerator:
    settings = BackendSettings(endpoint_url=url, timeout_s=5.0, http_retries=0, **overrides)  # type: ignore[arg-type]
    built = get_generator("openai", settings)
    assert isinstance(built, OpenAIReportGenerator)
    built.client.sleep = lambda seconds: None
    return built


class TestEndpoint:
    def test_each_case_is_one_request_with_the_image_then_our_prompt(self, server: FakeEndpoint) -> None:
        server.default = lambda request: Reply(content=REPORT)
        generator = endpoint_generator(server.url)
        (run,) = generator.generate_batch([case("a")])
        assert run.reading.text == REPORT and run.reading.outcome.status == "ok"
        assert run.run is not None and run.run.profile == "medgemma-report" and run.run.task == "report"
        request = server.requests[0]
        system, user = request["messages"]
        assert system["content"] == REPORT_SYSTEM
        assert user["content"][0]["type"] == "image_url"
        assert user["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
        assert user["content"][1] == {"type": "text", "text": REPORT_INSTRUCTION}
        assert request["model"] == MEDGEMMA_BASE_ID and request["temperature"] == 0.0
        assert "chat_template_kwargs" not in request  # no thinking switch for a report

    def test_an_empty_answer_is_retried_sampled_then_failed_with_every_raw_text(
        self, server: FakeEndpoint
    ) -> None:
        server.default = lambda request: Reply(content="   ")
        (run,) = endpoint_generator(server.url, max_retries=2).generate_batch([case("a")])
        assert run.reading.failed and "all 3 attempts failed" in (run.reading.outcome.error or "")
        assert run.run is not None
        assert [a.decoding.kind for a in run.run.attempts] == ["greedy", "sampled", "sampled"]
        assert [a.raw for a in run.run.attempts] == ["   "] * 3
        assert all(len(r["messages"]) == 2 for r in server.requests)  # the chat resent unchanged

    def test_a_refused_request_and_an_unreadable_image_fail_their_case_only(
        self, server: FakeEndpoint
    ) -> None:
        def answer(request: dict[str, object]) -> Reply:
            return (
                Reply(status=413, message="too large") if len(server.requests) == 2 else Reply(content=REPORT)
            )

        server.default = answer
        runs = endpoint_generator(server.url, concurrency=1).generate_batch(
            [case("a"), case("b", 1), unreadable("c"), case("d", 2)]
        )
        assert [r.case_id for r in runs] == ["a", "b", "c", "d"]
        assert [r.reading.failed for r in runs] == [False, True, True, False]
        assert "HTTP 413" in (runs[1].reading.outcome.error or "") and runs[1].run is None
        assert "no usable image" in (runs[2].reading.outcome.error or "")
        assert len(server.requests) == 3  # the unreadable image was never sent

    def test_requests_go_out_concurrently_and_come_back_in_order(self, server: FakeEndpoint) -> None:
        server.delay_s = 0.1
        server.default = lambda request: Reply(content=REPORT)
        cases = [case(f"c{i}", i) for i in range(6)]
        runs = endpoint_generator(server.url, concurrency=3).generate_batch(cases)
        assert [r.case_id for r in runs] == [c.case_id for c in cases]
        assert server.max_in_flight == 3


@pytest.mark.requires_torch
def test_cxr_audit_generate_writes_medgemma_reports_into_the_database(
    tiny_medgemma_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from PIL import Image

    from data.records import CaseRecord
    from data.store import Store
    from workstation.cli.main import main

    db = tmp_path / "audit.duckdb"
    with Store.open(db) as store:
        for index in range(3):
            image = tmp_path / f"c{index}.png"
            Image.fromarray(tiny_chest_image(WIDTH, HEIGHT, index)).save(image)
            store.cases.upsert(
                CaseRecord(case_id=f"c{index}", image_id=image.name, image_path=str(image), source="test")
            )
    # The generator's own settings table: a short budget, and a name of our choosing.
    monkeypatch.setenv("CXR_AUDIT_MEDGEMMA_GENERATOR_MAX_NEW_TOKENS", "12")
    monkeypatch.setenv("CXR_AUDIT_MEDGEMMA_GENERATOR_MAX_RETRIES", "1")
    argv = ["generate", "--generator", "medgemma", "--model", str(tiny_medgemma_dir), "--device", "cpu"]
    code = main([*argv, "--quantization", "fp32", "--concurrency", "2", "--name", "tiny", "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 0
    assert "generate: 3 report(s) by tiny (medgemma, profile medgemma-report)" in out
    with Store.open(db) as store:
        records = store.generations.latest(["tiny"])
        assert [r.case_id for r in records] == ["c0", "c1", "c2"]
        for record in records:
            assert record.backend == "medgemma" and record.model == str(tiny_medgemma_dir)
            assert record.run is not None and record.run["attempts"][0]["decoding"]["max_new_tokens"] == 12
            assert record.raw_text == record.run["attempts"][-1]["raw"]  # exactly what came back
            drafts = store.drafts.for_case(record.case_id, kind="generated")
            assert (record.draft_id is None) == (record.outcome == "failed") == (drafts == [])
