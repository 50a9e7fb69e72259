"""One benchmark measurement in a fresh process, so its peak memory is its own.

Run as a file (see bench.py) with one JSON argument; prints one JSON line. The plain-Python
program at batch 1 runs without importing net2code or torch (nor numpy, unless the program
itself does), as a user of `program.py` would.
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


def _items(spec: dict[str, Any]) -> list[Any]:
    """The workload as Python values: points (tuples), sequences or problems (lists)."""
    if spec["ranges"] is not None:
        import itertools

        return list(itertools.product(*(range(lo, hi + 1) for lo, hi in spec["ranges"])))
    with open(spec["items"], encoding="utf-8") as handle:
        return json.load(handle)


def _loop(fn: Any, items: list[Any], budget: float, star: bool) -> dict[str, Any]:
    """Call `fn` on one item at a time (spread into arguments with `star`) until done or past
    `budget` seconds."""
    baseline = _rss_mb()
    start = time.perf_counter()
    done = 0
    if star:
        for item in items:
            fn(*item)
            done += 1
            if done % 256 == 0 and time.perf_counter() - start > budget:
                break
    else:
        for item in items:
            fn(item)
            done += 1
            if done % 16 == 0 and time.perf_counter() - start > budget:
                break
    return _result(done, time.perf_counter() - start, baseline, repeats=1)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    variant, batch, budget = spec["variant"], spec["batch"], float(spec["max_seconds"])
    columns_call = spec["call"] == "columns"
    items = _items(spec)
    if variant == "program" and (batch == "1" or spec["program_numpy"] is None):
        return _loop(_load_program(spec["program"]), items, budget, star=columns_call)

    import numpy as np

    grid = np.asarray(items)  # (n, k) points, (n, length[, d]) sequences, (n, H, W) problems
    if variant == "program":  # full batch: the NumPy variant on the whole workload
        fn = _load_program(spec["program_numpy"])
        columns = [grid[:, i] for i in range(grid.shape[1])] if columns_call else None

        def run_full() -> None:
            fn(*columns) if columns is not None else fn(grid)

    else:
        import torch

        import net2code
        from net2code.families import get

        torch.set_flush_denormal(True)
        with open(spec["result"], encoding="utf-8") as handle:
            result = json.load(handle)
        run = get(spec["family"]).runner(net2code.load(spec["network"]), result)
        if batch == "1":
            return _loop(run, [grid[i : i + 1] for i in range(len(grid))], budget, star=False)

        def run_full() -> None:
            run(grid)

    baseline = _rss_mb()
    run_full()  # warm-up
    repeats, start = 0, time.perf_counter()
    while True:  # at least 0.2 s (a fast program needs many repeats), at most 1 s
        run_full()
        repeats += 1
        elapsed = time.perf_counter() - start
        if elapsed > min(budget, 1.0) or (repeats >= 50 and elapsed > min(budget, 0.2)):
            break
    return _result(len(grid) * repeats, time.perf_counter() - start, baseline, repeats=repeats)


def _result(timed: int, seconds: float, baseline: float, repeats: int) -> dict[str, Any]:
    peak = _rss_mb()
    return {
        "timed": timed,
        "repeats": repeats,
        "seconds": seconds,
        "per_s": timed / seconds if seconds > 0 else float("inf"),
        "peak_rss_mb": round(peak, 1),
        "rss_increase_mb": round(max(0.0, peak - baseline), 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[-1]))))
