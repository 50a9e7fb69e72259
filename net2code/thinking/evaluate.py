"""Extrapolation: exact-match accuracy by problem size x test iterations, the overthinking curve,
confidence-based stopping, and the error-correction experiments.

A maze counts as solved when the prediction equals the label on every non-wall pixel (walls are
masked, as in the paper's code); a bit string when every position is right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..errors import ConfigError
from .data import END, OPEN, START, Mazes, make_mazes, make_prefix_sums
from .model import DTNet
from .train import exact_match

EVAL_SEED = 2024  # held out: training draws its seeds from a 62-bit generator


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
    """Stop each problem once every counted pixel is confident (max prob >= `threshold`) and the
    prediction has not changed for `patience` iterations. Returns the result, the per-problem
    iteration counts and the predictions (n, *spatial) at the stop, so that users need not guess
    the iteration count for larger problems."""
    if not 0.5 <= threshold < 1 or patience < 1:
        raise ConfigError(f"threshold {threshold} must be in [0.5, 1) and patience {patience} >= 1")
    stops = np.full(len(x), max_iters, dtype=np.int64)
    correct = np.zeros(len(x), dtype=bool)
    answers = np.zeros(tuple(y.shape), dtype=np.uint8)
    model.eval()
    with torch.no_grad():
        for part in _batches(len(x), batch):
            xs, ys, ms = x[part], y[part], mask[part]
            n = len(xs)
            state = model.initial_state(xs)
            prev = None
            still = torch.zeros(n, dtype=torch.long)
            done = torch.zeros(n, dtype=torch.bool)
            final = torch.zeros(n, dtype=torch.bool)
            stop_at = torch.full((n,), max_iters, dtype=torch.long)
            answer = torch.zeros(tuple(ys.shape), dtype=torch.uint8)
            for t in range(1, max_iters + 1):
                state = model.step(state, xs, t - 1)
                logits = model.readout(state)
                prob = torch.softmax(logits, 1).amax(1)  # (n, *spatial)
                confident = ((prob >= threshold) | ~ms).flatten(1).all(1)
                pred = logits.argmax(1)
                same = (
                    torch.zeros(n, dtype=torch.bool)
                    if prev is None
                    else ((pred == prev) | ~ms).flatten(1).all(1)
                )
                still = torch.where(same & confident, still + 1, torch.zeros_like(still))
                newly = (still >= patience) & ~done
                if newly.any() or t == max_iters:
                    if t == max_iters:
                        newly = ~done
                    ok = exact_match(logits, ys, ms)
                    final[newly] = ok[newly]
                    answer[newly] = pred[newly].to(torch.uint8)
                    stop_at[newly] = t
                    done |= newly
                if bool(done.all()):
                    break
                prev = pred
            stops[part] = stop_at.numpy()
            correct[part] = final.numpy()
            answers[part] = answer.numpy()
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


def tree_path(kinds: np.ndarray) -> np.ndarray:
    """The unique start-end path of a tree maze, by breadth-first search."""
    from collections import deque

    h, w = kinds.shape
    start = tuple(int(v) for v in np.argwhere(kinds == START)[0])
    end = tuple(int(v) for v in np.argwhere(kinds == END)[0])
    parent = {start: start}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if (r, c) == end:
            break
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < h and 0 <= nc < w and kinds[nr, nc] != 0 and (nr, nc) not in parent:
                parent[(nr, nc)] = (r, c)
                queue.append((nr, nc))
    label = np.zeros_like(kinds)
    node = end
    while node != start:
        label[node] = 1
        node = parent[node]
    label[start] = 1
    return label


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


@dataclass(frozen=True)
class EvalConfig:
    sizes: tuple[int, ...] = (9, 13, 21, 33, 59)
    iters: tuple[int, ...] = (10, 20, 30, 50, 100, 200, 400, 800)
    count: int = 100
    seed: int = EVAL_SEED

    def to_dict(self) -> dict:
        return asdict(self)
