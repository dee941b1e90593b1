"""The ``openai`` backends through ``cxr-audit``, against a fake server on 127.0.0.1 (issue 10's contract)."""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.evaluate import SAMPLES_FILE
from bench.fake_endpoint import FakeEndpoint, Reply, serve
from models.checkpoints import FINE_TUNE_PROMPT
from workstation.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PNEUMOTHORAX = '[{"label": "pneumothorax", "box_2d": [0.08, 0.55, 0.40, 0.90]}]'


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def slow_server() -> Iterator[FakeEndpoint]:
    """A vLLM-like server that answers every grounding in 150 ms."""
    endpoint = FakeEndpoint(delay_s=0.15, default=lambda request: Reply(content=PNEUMOTHORAX))
    with serve(endpoint) as running:
        yield running


@pytest.fixture
def worklist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "audit.duckdb"
    code, _, err = run_cli(
        capsys, "demo", "--db", str(db), "--cases", "20", "--no-audit", "--image-dir", str(tmp_path / "img")
    )
    assert (code, err) == (0, "")
    return db


def sent_image(request: dict[str, Any]) -> Any:
    from PIL import Image

    url = request["messages"][0]["content"][0]["image_url"]["url"]
    return Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2])))


def test_eval_with_concurrency_8_keeps_at_least_4_requests_in_flight(
    capsys: pytest.CaptureFixture[str], slow_server: FakeEndpoint, worklist: Path, tmp_path: Path
) -> None:
    argv = ["eval", "--db", str(worklist), "--out", str(tmp_path / "run"), "--grounder", "openai"]
    argv += ["--endpoint", slow_server.url, "--parser", "rules", "--concurrency", "8", "--limit", "16"]
    code, _, err = run_cli(capsys, *argv, "--bootstrap", "0", "--no-progress", "--no-store")
    assert (code, err) == (0, "")
    assert len(slow_server.requests) == 16  # one grounding per case, reused for its four drafts
    assert slow_server.max_in_flight >= 4
    records = [json.loads(line) for line in (tmp_path / "run" / SAMPLES_FILE).read_text().splitlines()]
    assert len(records) == 16 * 4


def test_every_grounding_request_of_the_default_profile_is_one_user_turn_image_first_pinned_prompt(
    capsys: pytest.CaptureFixture[str], worklist: Path, tmp_path: Path
) -> None:
    replies = [Reply(content="I see a chest."), Reply(content="Still prose.")]  # retries happen too
    endpoint = FakeEndpoint(replies=replies, default=lambda request: Reply(content=PNEUMOTHORAX))
    with serve(endpoint) as running:
        argv = ["eval", "--db", str(worklist), "--out", str(tmp_path / "run"), "--grounder", "openai"]
        argv += ["--endpoint", running.url, "--concurrency", "4", "--limit", "6", "--bootstrap", "0"]
        code, _, _ = run_cli(capsys, *argv, "--no-progress", "--no-store")
    assert code == 0
    assert len(endpoint.requests) == 6 + 2
    for request in endpoint.requests:
        (message,) = request["messages"]
        assert message["role"] == "user"
        first, second = message["content"]
        assert first["type"] == "image_url" and first["image_url"]["url"].startswith("data:image/png;base64,")
        assert second == {"type": "text", "text": FINE_TUNE_PROMPT}


def test_audit_of_a_dicom_sends_it_unpadded_at_most_1024_px_and_a_pneumothorax_is_urgent(
    capsys: pytest.CaptureFixture[str], slow_server: FakeEndpoint
) -> None:
    from pydicom.data import get_testdata_file

    dicom = get_testdata_file("RG1_UNCR.dcm")  # a real chest CR, 1841 x 1955 px
    assert dicom is not None
    argv = ["audit", "--image", dicom, "--grounder", "openai", "--endpoint", slow_server.url]
    code, out, err = run_cli(capsys, *argv, "--draft", "No pneumothorax. Heart size is normal.")
    assert (code, err) == (0, "")
    (request,) = slow_server.requests
    width, height = sent_image(request).size
    assert max(width, height) <= 1024
    assert abs(width / height - 1841 / 1955) < 0.002  # its own aspect ratio: no padding
    result = json.loads(out)
    assert {(flag["type"], flag["label"]) for flag in result["flags"]} >= {
        ("URGENT", "pneumothorax"),
        ("MISSING", "pneumothorax"),
    }
    assert any(note.startswith("openai: profile medgemma-cxr-auditor-v2; ") for note in result["notes"])


def test_an_unreachable_endpoint_exits_non_zero_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket is closed
    image = tmp_path / "chest.png"
    from PIL import Image

    Image.new("L", (64, 80), 128).save(image)
    argv = [
        "audit",
        "--image",
        str(image),
        "--grounder",
        "openai",
        "--endpoint",
        f"http://127.0.0.1:{port}/v1",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "workstation.cli.main", *argv, "--draft", "No pneumothorax."],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "", "CXR_AUDIT_HTTP_RETRIES": "1", "HOME": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "is the server running" in lines[0]


def test_separate_endpoints_for_the_grounder_and_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    answer = '[{"label": "pneumothorax", "status": "absent", "span": "No pneumothorax"}]'
    grounder = FakeEndpoint(default=lambda request: Reply(content=PNEUMOTHORAX))
    parser = FakeEndpoint(served=("nemotron",), default=lambda request: Reply(content=answer))
    from pydicom.data import get_testdata_file

    with serve(grounder) as g, serve(parser) as p:
        argv = ["audit", "--image", str(get_testdata_file("RG1_UNCR.dcm")), "--grounder", "openai"]
        argv += [
            "--endpoint",
            g.url,
            "--parser",
            "openai",
            "--parser-endpoint",
            p.url,
            "--parser-model",
            "nemotron",
        ]
        code, out, err = run_cli(capsys, *argv, "--draft", "No pneumothorax.")
    assert (code, err) == (0, "")
    assert (len(grounder.requests), len(parser.requests)) == (1, 1)
    assert parser.requests[0]["model"] == "nemotron"
    assert json.loads(out)["draft_labels"][0]["status"] == "absent"
