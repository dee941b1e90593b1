"""How much ``--concurrency`` buys the ``openai`` grounder: 64 real radiographs, a fake 150 ms server.

Run: ``python -m bench.openai_concurrency [--cases 64] [--delay 0.15] [--levels 1 4 8 16]``.

The grounder is the real one (:class:`models.openai_backend.OpenAIGrounder`): each image is
read from ``../shared/data/images``, shaped as the default profile asks, encoded as a PNG
data URL and sent with the pinned prompt to :mod:`bench.fake_endpoint` on 127.0.0.1, which
answers every request after ``--delay`` seconds, as a GPU server busy generating would.
For each concurrency level it prints the wall time for all cases, the speed-up over one
request at a time, and the most requests the server saw in flight. The issue's target:
``--concurrency 8`` at least 5x faster than 1 for 64 cases.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from audit.protocols import AuditCase
from bench.fake_endpoint import FakeEndpoint, Reply, serve
from models.openai_backend import OpenAIGrounder
from models.settings import BackendSettings

IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "images"
ANSWER = '[{"label": "pleural_effusion", "box_2d": [0.55, 0.05, 0.9, 0.4]}]'
TARGET_SPEEDUP = 5.0


def cases(folder: Path, count: int) -> list[AuditCase]:
    from data.images import load_image

    paths = sorted(folder.glob("*.png"))[:count]
    if len(paths) < count:
        raise SystemExit(f"openai_concurrency: {folder} holds {len(paths)} PNGs, {count} are needed")

    def loader(path: Path) -> AuditCase:
        return AuditCase(case_id=path.stem, draft="x", load_image=lambda: load_image(path).pixels)

    return [loader(path) for path in paths]


def measure(items: list[AuditCase], delay_s: float, concurrency: int) -> tuple[float, int, int]:
    """(seconds for every case, most requests in flight, failed readings) at one concurrency."""
    endpoint = FakeEndpoint(delay_s=delay_s, default=lambda request: Reply(content=ANSWER))
    with serve(endpoint) as running:
        settings = BackendSettings(endpoint_url=running.url, concurrency=concurrency, http_retries=0)
        grounder = OpenAIGrounder.from_settings(settings)
        started = time.perf_counter()
        readings = grounder.ground_batch(items)  # type: ignore[attr-defined]
        seconds = time.perf_counter() - started
    return seconds, running.max_in_flight, sum(reading.failed for reading in readings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.openai_concurrency", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--cases", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.15, help="seconds the fake server takes per request")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--images", type=Path, default=IMAGES)
    args = parser.parse_args(argv)
    items = cases(args.images, args.cases)
    print(f"{args.cases} radiographs from {args.images}, fake server answering in {args.delay * 1000:.0f} ms")
    print(f"{'concurrency':>12} {'seconds':>9} {'speed-up':>9} {'in flight':>10} {'failed':>7}")
    baseline: float | None = None
    speedups: dict[int, float] = {}
    for level in args.levels:
        seconds, in_flight, failed = measure(items, args.delay, level)
        baseline = seconds if baseline is None else baseline
        speedups[level] = baseline / seconds
        print(f"{level:>12} {seconds:>9.2f} {speedups[level]:>8.1f}x {in_flight:>10} {failed:>7}")
    if 1 in speedups and 8 in speedups:
        met = speedups[8] / speedups[1] >= TARGET_SPEEDUP
        print(
            f"--concurrency 8 over 1: {speedups[8] / speedups[1]:.1f}x (target >= {TARGET_SPEEDUP:.0f}x: "
            f"{'met' if met else 'not met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
