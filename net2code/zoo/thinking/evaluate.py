"""Extrapolation: exact-match accuracy by problem size x test iterations, the overthinking curve,
confidence-based stopping, and the error-correction experiments.

A maze counts as solved when the prediction equals the label on every non-wall pixel (walls are
masked, as in the paper's code); a bit string when every position is right.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..._util import atomic_write_json, atomic_write_text, provenance
from ...errors import ConfigError
from ...families.iterated import BIT_SIZES, MAZE_SIZES, check_sizes, iteration_cap, settle
from .data import END, OPEN, Mazes, make_mazes, make_prefix_sums, tree_path
from .model import DTNet
from .train import exact_match, load_thinking_run

EVAL_SEED = 2024  # held out: training draws its seeds from a 62-bit generator
MAZE_ITERS = (10, 20, 30, 50, 100, 200, 400, 800, 1600)
BIT_ITERS = (10, 20, 30, 50, 100, 200, 400, 800)


def task_of(model: DTNet) -> str:
    return "maze" if model.config.dim == 2 else "prefix_sums"


def held_out(task: str, size: int, count: int, seed: int = EVAL_SEED):
    """(inputs, labels, mask, raw) for `count` held-out problems of `size`."""
    if task == "maze":
        mazes = make_mazes(count, size, seed)
        x = torch.from_numpy(mazes.inputs())  # (n, 3, H, W)
        return (
            x,
            torch.from_numpy(mazes.labels.astype(np.int64)),
            torch.from_numpy(mazes.kinds != 0),
            mazes,
        )
    data = make_prefix_sums(count, size, seed)
    x = torch.from_numpy(data.inputs())  # (n, 1, L)
    y = torch.from_numpy(data.labels.astype(np.int64))
    return x, y, torch.ones_like(y, dtype=torch.bool), data


def _batches(n: int, batch: int) -> list[slice]:
    return [slice(i, min(n, i + batch)) for i in range(0, n, batch)]


def accuracy_by_iterations(
    model: DTNet,
    x: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    iters: Sequence[int],
    batch: int = 50,
) -> dict[int, float]:
    """Exact-match accuracy after each count in `iters` (one pass up to the largest)."""
    return iteration_curve(model, x, y, mask, iters, batch)[0]


def iteration_curve(
    model: DTNet,
    x: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    iters: Sequence[int],
    batch: int = 50,
) -> tuple[dict[int, float], dict[int, dict[str, int]]]:
    """Accuracy after each count in `iters`, and how the failures fail: a failed problem is
    `missing` (label-1 positions predicted 0 only: a maze path cut), `extra` (counted label-0
    positions predicted 1 only: dead ends left unfilled) or `both`."""
    iters = sorted(set(int(i) for i in iters))
    if not iters or iters[0] < 1:
        raise ConfigError(f"test iterations {iters} must all be >= 1")
    solved = {i: 0 for i in iters}
    kinds = {i: {"missing": 0, "extra": 0, "both": 0} for i in iters}
    model.eval()
    with torch.no_grad():
        for part in _batches(len(x), batch):
            state = model.initial_state(x[part])
            for t in range(1, iters[-1] + 1):
                state = model.step(state, x[part], t - 1)
                if t in solved:
                    pred = model.readout(state).argmax(1)
                    ys, ms = y[part], mask[part]
                    missing = ((pred == 0) & (ys == 1) & ms).flatten(1).any(1)
                    extra = ((pred == 1) & (ys == 0) & ms).flatten(1).any(1)
                    solved[t] += int((~missing & ~extra).sum())
                    kinds[t]["missing"] += int((missing & ~extra).sum())
                    kinds[t]["extra"] += int((extra & ~missing).sum())
                    kinds[t]["both"] += int((missing & extra).sum())
    return {i: solved[i] / len(x) for i in iters}, kinds


def predict(model: DTNet, x: torch.Tensor, iters: int, batch: int = 50) -> np.ndarray:
    """Predicted classes (n, *spatial) uint8 after `iters` iterations."""
    out = []
    model.eval()
    with torch.no_grad():
        for part in _batches(len(x), batch):
            logits, _ = model(x[part], iters)
            out.append(logits.argmax(1).to(torch.uint8).numpy())
    return np.concatenate(out)


@dataclass(frozen=True)
class StopResult:
    accuracy: float
    mean_iterations: float
    max_iterations_used: int
    hit_limit: int  # problems that never met the rule


def confidence_stop(
    model: DTNet,
    x: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    threshold: float = 0.9,
    patience: int = 10,
    max_iters: int = 2000,
    batch: int = 50,
) -> tuple[StopResult, np.ndarray, np.ndarray]:
    """The network at its stopping rule (`net2code.families.iterated.settle`), scored against
    the labels: the result, the per-problem iteration counts and the answers (n, *spatial)."""
    stops, answers = settle(
        model, x, mask, max_iters=max_iters, threshold=threshold, patience=patience, batch=batch
    )
    ms = mask.numpy()
    same = (answers == y.numpy()) | ~ms
    correct = same.reshape(len(same), -1).all(1)
    result = StopResult(
        accuracy=float(correct.mean()),
        mean_iterations=float(stops.mean()),
        max_iterations_used=int(stops.max()),
        hit_limit=int((stops >= max_iters).sum()),
    )
    return result, stops, answers


def corrupt_and_recover(
    model: DTNet,
    x: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    iters: int,
    replace: bool = False,
    noise: float = 1.0,
    seed: int = 0,
    batch: int = 50,
) -> dict[str, float]:
    """Run iters/2, then add Gaussian noise of the state's own scale (x `noise`) to the state,
    or with `replace` put the noise in its place, and run iters/2 + iters more; report the
    accuracy without corruption, just after it, and at the end."""
    gen = torch.Generator().manual_seed(seed)
    clean = before = after = 0
    model.eval()
    with torch.no_grad():
        for part in _batches(len(x), batch):
            xs, ys, ms = x[part], y[part], mask[part]
            logits, _ = model(xs, iters)
            clean += int(exact_match(logits, ys, ms).sum())
            _, state = model(xs, iters // 2)
            kick = noise * state.std() * torch.randn(state.shape, generator=gen)
            state = (kick if replace else state + kick).relu()
            before += int(exact_match(model.readout(state), ys, ms).sum())
            logits, _ = model(xs, iters // 2 + iters, state=state, offset=iters // 2)
            after += int(exact_match(logits, ys, ms).sum())
    n = len(x)
    return {"clean": clean / n, "just_corrupted": before / n, "recovered": after / n}


def move_end(mazes: Mazes, seed: int = 0) -> Mazes:
    """The same mazes with the end moved to another open cell (labels recomputed)."""
    from .data import is_valid_path

    rng = np.random.default_rng(seed)
    kinds, labels = mazes.kinds.copy(), np.zeros_like(mazes.labels)
    for i in range(len(mazes)):
        k = kinds[i]
        cells = np.argwhere(
            (k == OPEN) & (np.indices(k.shape).sum(0) % 2 == 0) & (np.indices(k.shape)[0] % 2 == 1)
        )
        k[k == END] = OPEN
        r, c = cells[int(rng.integers(len(cells)))]
        k[r, c] = END
        labels[i] = tree_path(k)
        assert is_valid_path(k, labels[i])
    return Mazes(kinds, labels)


def move_end_after_solving(
    model: DTNet, mazes: Mazes, iters: int, seed: int = 0, batch: int = 50
) -> dict[str, float]:
    """Solve, then move the end and keep iterating from the solved state on the new input."""
    moved = move_end(mazes, seed)
    x0 = torch.from_numpy(mazes.inputs())
    x1 = torch.from_numpy(moved.inputs())
    y0 = torch.from_numpy(mazes.labels.astype(np.int64))
    y1 = torch.from_numpy(moved.labels.astype(np.int64))
    mask = torch.from_numpy(mazes.kinds != 0)
    first = second = fresh = 0
    model.eval()
    with torch.no_grad():
        for part in _batches(len(mazes), batch):
            logits, state = model(x0[part], iters)
            first += int(exact_match(logits, y0[part], mask[part]).sum())
            logits, _ = model(x1[part], iters, state=state, offset=iters)
            second += int(exact_match(logits, y1[part], mask[part]).sum())
            logits, _ = model(x1[part], iters)
            fresh += int(exact_match(logits, y1[part], mask[part]).sum())
    n = len(mazes)
    return {
        "first_maze": first / n,
        "after_moving_end": second / n,
        "moved_from_scratch": fresh / n,
    }


def _count_for(size: int, count: int, large_count: int, task: str) -> int:
    large = size > 33 if task == "maze" else size > 256
    return large_count if large else count


@dataclass(frozen=True)
class EvaluateConfig:
    sizes: tuple[int, ...] | None = None  # default: by task
    iters: tuple[int, ...] | None = None
    count: int = 100
    large_count: int = 50  # for mazes above 33 (bit strings above 256)
    stop: bool = True  # also run the confidence-based stopping rule
    error_correction: bool = True
    seed: int = EVAL_SEED

    def __post_init__(self) -> None:
        if self.count < 1 or self.large_count < 1:
            raise ConfigError(f"count {self.count} and large count {self.large_count} must be >= 1")


def evaluate_run(
    folder: Path | str, config: EvaluateConfig | None = None, progress: bool = True
) -> dict[str, Any]:
    """Accuracy by size x iterations (+ stopping rule, error correction) -> eval.json."""
    from tqdm.auto import tqdm

    config = config or EvaluateConfig()
    folder = Path(folder)
    model, raw = load_thinking_run(folder)
    task = task_of(model)
    sizes = check_sizes(task, config.sizes or (MAZE_SIZES if task == "maze" else BIT_SIZES))
    iters = config.iters or (MAZE_ITERS if task == "maze" else BIT_ITERS)
    rows = []
    start = time.perf_counter()
    for size in tqdm(sizes, disable=not progress, desc="evaluate", unit="size"):
        count = _count_for(size, config.count, config.large_count, task)
        x, y, mask, _ = held_out(task, size, count, config.seed)
        cap = iteration_cap(task, size)
        tried = [i for i in iters if i <= cap] or [min(iters)]
        t0 = time.perf_counter()
        curve, kinds = iteration_curve(model, x, y, mask, tried)
        best_iters = max(curve, key=lambda k: (curve[k], -k))
        row: dict[str, Any] = {
            "size": size,
            "count": count,
            "accuracy": {str(k): v for k, v in curve.items()},
            "best": max(curve.values()),
            "best_iters": best_iters,
            "failures_at_best": kinds[best_iters],
            "seconds": round(time.perf_counter() - t0, 1),
        }
        if config.stop and model.recurrent:
            stop, _, _ = confidence_stop(model, x, y, mask, max_iters=max(tried))
            row["confidence_stop"] = asdict(stop)
        rows.append(row)
    out: dict[str, Any] = {
        "task": task,
        "model": raw.get("model"),
        "training": raw.get("training"),
        "sizes": rows,
        "config": asdict(config),
    }
    if config.error_correction and model.recurrent:
        out["error_correction"] = error_correction(model, raw, config)
    out["seconds"] = round(time.perf_counter() - start, 1)
    out.update(provenance(config.seed))
    atomic_write_json(folder / "eval.json", out)
    atomic_write_text(folder / "eval.md", render_eval(out))
    return out


def error_correction(model: DTNet, raw: dict[str, Any], config: EvaluateConfig) -> dict[str, Any]:
    """At 4 (mazes) or 32 (bits) past the training size: noise added to the state half-way, the
    state replaced by noise half-way, and (mazes) the end moved after solving."""
    task = task_of(model)
    size = (raw.get("training") or {}).get("size", 9) + (4 if task == "maze" else 32)
    x, y, mask, data = held_out(task, size, config.count, config.seed + 1)
    iters = max(30, iteration_cap(task, size) // 2)
    out: dict[str, Any] = {
        "size": size,
        "iterations": iters,
        "noise_added_half_way": corrupt_and_recover(model, x, y, mask, iters),
        "state_replaced_half_way": corrupt_and_recover(model, x, y, mask, iters, replace=True),
    }
    if task == "maze":
        out["move_end_after_solving"] = move_end_after_solving(model, data, iters)
    return out


def refresh_error_correction(folder: Path | str, config: EvaluateConfig | None = None) -> dict:
    """Redo only the error-correction block of an existing eval.json."""
    folder = Path(folder)
    import json

    result = json.loads((folder / "eval.json").read_text(encoding="utf-8"))
    model, raw = load_thinking_run(folder)
    result["error_correction"] = error_correction(model, raw, config or EvaluateConfig())
    atomic_write_json(folder / "eval.json", result)
    atomic_write_text(folder / "eval.md", render_eval(result))
    return result


def render_eval(result: dict[str, Any]) -> str:
    rows = result["sizes"]
    iters = sorted({int(k) for r in rows for k in r["accuracy"]})
    unit = "maze" if result["task"] == "maze" else "bits"
    lines = [
        f"# Extrapolation: exact match by {unit} size x test iterations",
        "",
        "| size | n | " + " | ".join(str(i) for i in iters) + " | stopping rule (mean iters) |",
        "|---|---|" + "---|" * len(iters) + "---|",
    ]
    for r in rows:
        cells = [
            f"{100 * r['accuracy'][str(i)]:.0f}" if str(i) in r["accuracy"] else "" for i in iters
        ]
        stop = r.get("confidence_stop")
        stop_cell = (
            f"{100 * stop['accuracy']:.0f}% ({stop['mean_iterations']:.0f})" if stop else "n/a"
        )
        lines.append(f"| {r['size']} | {r['count']} | " + " | ".join(cells) + f" | {stop_cell} |")
    failing = [r for r in rows if sum(r.get("failures_at_best", {}).values())]
    if failing and result["task"] == "maze":
        lines += [
            "",
            "Failures at each size's best iteration count: path cut (path pixels predicted open "
            "only), dead ends left (extra pixels only), both:",
        ]
        for r in failing:
            f = r["failures_at_best"]
            lines.append(
                f"- {r['size']} at {r['best_iters']}: {f['missing']} cut, {f['extra']} dead ends "
                f"left, {f['both']} both"
            )
    ec = result.get("error_correction")
    if ec:
        lines += ["", f"Error correction at size {ec['size']}, {ec['iterations']} iterations:"]
        for name, values in ec.items():
            if isinstance(values, dict):
                lines.append(
                    f"- {name.replace('_', ' ')}: "
                    + ", ".join(f"{k.replace('_', ' ')} {100 * v:.0f}%" for k, v in values.items())
                )
    lines += ["", f"Seed {result['seed']}; {result['seconds']} s; versions {result['versions']}."]
    return "\n".join(lines) + "\n"
