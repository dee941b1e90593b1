"""Run the benchmarks: ``python -m bench [NAME ...]`` (all CPU benchmarks when no name is given).

Each benchmark is a module in this package with a ``main()``; each prints its own numbers.
``gpu_models`` and ``finetune_gpu`` (they need a CUDA GPU) and ``regression`` (this tree
against an older commit, in a temporary git worktree) run only when named.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time

CPU_BENCHMARKS: tuple[str, ...] = (
    "parser_openi",
    "store",
    "eval_nih",
    "report_eval_nih",
    "app",
    "openai_concurrency",
    "browser",
    "load",
)
ALL_BENCHMARKS: tuple[str, ...] = (*CPU_BENCHMARKS, "gpu_models", "finetune_gpu", "regression")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="any of: " + ", ".join(ALL_BENCHMARKS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in ALL_BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ALL_BENCHMARKS)}")
    failures = 0
    for name in args.names or CPU_BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        saved_argv = sys.argv
        # A benchmark whose main() parses sys.argv itself must not see this runner's arguments.
        sys.argv = [f"python -m bench.{name}"]
        try:
            code = module.main([]) if _takes_argv(module) else module.main()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        finally:
            sys.argv = saved_argv
        failures += bool(code)
        print(f"=== bench.{name}: exit {code or 0} in {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failures else 0


def _takes_argv(module: object) -> bool:
    return bool(inspect.signature(module.main).parameters)  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
