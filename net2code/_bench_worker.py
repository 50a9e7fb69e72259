"""One benchmark measurement in a fresh process, so its peak memory is its own.

Run as a file (see bench.py) with one JSON argument; prints one JSON line. The plain-Python
program at batch 1 runs without importing torch or numpy, as a user of `program.py` would.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any


def _rss_mb() -> float:
    """Peak resident set of this process (VmHWM). Unlike ru_maxrss it is not inherited
    across exec from the parent that spawned us."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # KiB -> MiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _load_program(path: str) -> Any:
    namespace: dict[str, Any] = {}
    with open(path, encoding="utf-8") as handle:
        exec(compile(handle.read(), path, "exec"), namespace)
    return namespace["program"]


def _points(ranges: list[list[int]]) -> list[tuple[int, ...]]:
    import itertools

    return list(itertools.product(*(range(lo, hi + 1) for lo, hi in ranges)))


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    variant, batch, budget = spec["variant"], spec["batch"], float(spec["max_seconds"])
    ranges = spec["ranges"]
    if variant == "program" and batch == "1":
        fn = _load_program(spec["program"])
        points = _points(ranges)
        baseline = _rss_mb()
        start = time.perf_counter()
        done = 0
        for point in points:
            fn(*point)
            done += 1
            if done % 1024 == 0 and time.perf_counter() - start > budget:
                break
        elapsed = time.perf_counter() - start
        return _result(done, elapsed, baseline, repeats=1)

    import numpy as np

    grids = np.meshgrid(
        *(np.arange(lo, hi + 1, dtype=np.int64) for lo, hi in ranges), indexing="ij"
    )
    columns = [g.reshape(-1) for g in grids]
    n = len(columns[0])
    if variant == "program":  # full batch only: batch 1 ran program.py above
        fn = _load_program(spec["program_numpy"])

        def run_full() -> None:
            fn(*columns)

        run_one = None
    else:
        import torch

        from net2code.network import load

        torch.set_flush_denormal(True)
        network = load(spec["network"])
        grid = np.stack(columns, axis=1)  # (n, n_inputs)
        readout = spec["readout"]

        def run_full() -> None:
            network.read(grid, readout)

        def run_one(i: int) -> None:
            network.read(grid[i : i + 1], readout)

    baseline = _rss_mb()
    if batch == "1":
        assert run_one is not None
        start = time.perf_counter()
        done = 0
        for i in range(n):
            run_one(i)
            done += 1
            if done % 256 == 0 and time.perf_counter() - start > budget:
                break
        return _result(done, time.perf_counter() - start, baseline, repeats=1)
    run_full()  # warm-up
    repeats, start = 0, time.perf_counter()
    while True:
        run_full()
        repeats += 1
        if time.perf_counter() - start > min(budget, 1.0) or repeats >= 50:
            break
    return _result(n * repeats, time.perf_counter() - start, baseline, repeats=repeats)


def _result(points: int, seconds: float, baseline: float, repeats: int) -> dict[str, Any]:
    peak = _rss_mb()
    return {
        "points_timed": points,
        "repeats": repeats,
        "seconds": seconds,
        "points_per_s": points / seconds if seconds > 0 else float("inf"),
        "peak_rss_mb": round(peak, 1),
        "rss_increase_mb": round(max(0.0, peak - baseline), 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[-1]))))
