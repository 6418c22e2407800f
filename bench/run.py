"""``make bench``: run every benchmark in its own process and print their tables.

Speed and memory targets are measured here, never by timed assertions in tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# (script, what it measures); missing scripts are reported, not silently skipped.
SUITES = [
    ("env_speed.py", "Blokus environment speed"),
    ("history_bench.py", "run logger ingest and API latency"),
    ("training_overhead.py", "training throughput with and without the platform"),
    ("train_speed.py", "training speed and checkpoint size: legacy network against the board-shaped policy"),
    ("periodic_eval_bench.py", "periodic evaluation during training: its cost"),
    ("web_bench.py", "web UI first paint and bundle size"),
    ("operator_bench.py", "operator: 200 TrainingRuns to Jobs"),
    ("image_bench.py", "container images: size, warm build times (cold with --cold)"),
    ("node_bench.py", "real node: idle memory, apply -> container running, 50 TrainingRuns at once"),
]


def main() -> int:
    only = set(sys.argv[1:])
    failed = []
    for script, what in SUITES:
        if only and script.removesuffix(".py") not in only:
            continue
        path = BENCH / script
        print(f"\n=== {what} ({script}) ===", flush=True)
        if not path.exists():
            print(f"   not available: {script} is missing")
            failed.append(script)
            continue
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, str(path)], env=dict(os.environ))
        print(f"   ({script}: exit {code}, {time.perf_counter() - t0:.0f}s)")
        if code:
            failed.append(script)
    if failed:
        print(f"\nbenchmarks that did not run cleanly: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
