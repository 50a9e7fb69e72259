"""The thinking-network pipeline on a run folder: evaluate (extrapolation) and extract (the rule,
verified against the network per size, with its speed as a ratio in one run)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._util import atomic_write_json, atomic_write_text, provenance
from ..errors import ConfigError
from .data import MAX_BITS, check_maze_size, make_mazes, make_prefix_sums
from .evaluate import (
    EVAL_SEED,
    confidence_stop,
    corrupt_and_recover,
    held_out,
    iteration_curve,
    move_end_after_solving,
    task_of,
)
from .model import DTNet, parameter_count
from .rule import describe, emit_rule, learn_rule, select_rule
from .scan import emit_scan, fit_scan
from .train import load_thinking_run

VERIFY_SEED = 4242
MAZE_SIZES = (9, 13, 21, 33, 59)
MAZE_ITERS = (10, 20, 30, 50, 100, 200, 400, 800, 1600)
BIT_SIZES = (32, 64, 128, 256, 512)
BIT_ITERS = (10, 20, 30, 50, 100, 200, 400, 800)


def iteration_cap(task: str, size: int) -> int:
    """Iterations worth trying at a size: the information has to cross the problem."""
    if task == "maze":
        return max(100, (size + 2) ** 2 // 2)
    return max(100, 2 * size)


def check_sizes(task: str, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Fail before any work if a size is out of range."""
    for size in sizes:
        if task == "maze":
            check_maze_size(size)
        elif not 1 <= size <= MAX_BITS:
            raise ConfigError(f"bit-string length {size} must be in 1..{MAX_BITS}")
    return tuple(sizes)


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


def _time_network(model: DTNet, x: torch.Tensor, iters: int, batch: int = 50) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            model(x[i : i + batch], iters)[0].argmax(1)
    return time.perf_counter() - start


def _time_program(solve: Any, problems: list[Any]) -> tuple[float, list[np.ndarray]]:
    start = time.perf_counter()
    outs = [np.asarray(solve(p)) for p in problems]
    return time.perf_counter() - start, outs


@dataclass(frozen=True)
class ExtractConfig:
    sizes: tuple[int, ...] | None = None  # verification sizes; default by task
    count: int = 100
    large_count: int = 30
    learn_count: int = 200  # mazes per size for the rule table
    rule_only_sizes: tuple[int, ...] = (201,)  # too large for the network on a CPU
    rule_only_count: int = 20
    seed: int = VERIFY_SEED


def extract_run(
    folder: Path | str,
    output: Path | str | None = None,
    config: ExtractConfig | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Learn the rule from the network, emit program.py, verify per size -> result.json."""
    from tqdm.auto import tqdm

    from ..emit import load_function

    config = config or ExtractConfig()
    folder = Path(folder)
    out_dir = Path(output) if output is not None else folder
    model, raw = load_thinking_run(folder)
    if not model.recurrent:
        raise ConfigError(f"{folder} holds a feed-forward net; only recurrent DT-nets have a rule")
    task = task_of(model)
    sizes = check_sizes(task, config.sizes or (MAZE_SIZES if task == "maze" else BIT_SIZES))
    train_size = int((raw.get("training") or {}).get("size", 9 if task == "maze" else 32))
    source = f"{folder.name} ({parameter_count(model)} parameters)"
    start = time.perf_counter()
    if task == "maze":
        learned = learn_rule(
            model, sizes=(train_size, train_size + 4), count=config.learn_count, progress=progress
        )
        # candidates are compared at the training size, where the network is competent
        x, y, mask, mazes = held_out(task, train_size, config.learn_count, config.seed + 1)
        _, _, answers = confidence_stop(
            model, x, y, mask, max_iters=iteration_cap(task, train_size)
        )
        rule, selection = select_rule(learned, mazes.kinds, answers)
        rule_info = {**rule.to_dict(), **selection, "description": describe(rule)}
        source_code = emit_rule(rule, source)
    else:
        size = 2 * train_size
        x, y, mask, data = held_out(task, size, config.learn_count, config.seed + 1)
        _, _, answers = confidence_stop(model, x, y, mask, max_iters=iteration_cap(task, size))
        scan = fit_scan(data.bits, answers)
        rule_info = {**scan.to_dict(), "description": scan.name or "a scan"}
        source_code = emit_scan(scan, source)
    solve = load_function(source_code, "solve")
    learn_seconds = time.perf_counter() - start
    rows = []
    for size in tqdm(sizes, disable=not progress, desc="verify", unit="size"):
        count = _count_for(size, config.count, config.large_count, task)
        x, y, mask, data = held_out(task, size, count, config.seed)
        cap = iteration_cap(task, size)
        stop, stops, answers = confidence_stop(model, x, y, mask, max_iters=cap)
        problems = list(data.kinds) if task == "maze" else list(data.bits)
        program_s, outs = _time_program(solve, problems)
        program = np.stack(outs).astype(np.uint8)
        open_ = mask.numpy()
        labels = y.numpy().astype(np.uint8)
        agree = ((program == answers) | ~open_).reshape(count, -1).all(1)
        net_ok = ((answers == labels) | ~open_).reshape(count, -1).all(1)
        rule_ok = ((program == labels) | ~open_).reshape(count, -1).all(1)
        mean_iters = max(1, int(round(float(stops.mean()))))
        network_s = _time_network(model, x, mean_iters)
        rows.append(
            {
                "size": size,
                "count": count,
                "network_iterations_mean": round(float(stops.mean()), 1),
                "network_hit_cap": stop.hit_limit,
                "iteration_cap": cap,
                "network_solved": float(net_ok.mean()),
                "program_solved": float(rule_ok.mean()),
                "agreement": float(agree.mean()),
                "agreement_on_solved": float(agree[net_ok].mean()) if net_ok.any() else None,
                "disagreeing": [int(i) for i in np.flatnonzero(~agree)[:20]],
                "network_ms_per_problem": round(1000 * network_s / count, 3),
                "program_ms_per_problem": round(1000 * program_s / count, 3),
                "speedup": round(network_s / max(program_s, 1e-9), 1),
            }
        )
    rule_only = []
    if task == "maze":
        for size in config.rule_only_sizes:
            mazes = make_mazes(config.rule_only_count, size, config.seed)
            seconds, outs = _time_program(solve, list(mazes.kinds))
            solved = [
                bool(np.array_equal(o, lab)) for o, lab in zip(outs, mazes.labels, strict=True)
            ]
            rule_only.append(
                {
                    "size": size,
                    "count": config.rule_only_count,
                    "program_solved": float(np.mean(solved)),
                    "program_ms_per_problem": round(1000 * seconds / config.rule_only_count, 2),
                    "network": "not run: too many iterations for a CPU",
                }
            )
    else:
        bits = make_prefix_sums(config.rule_only_count, 10_000, config.seed)
        seconds, outs = _time_program(solve, list(bits.bits))
        solved = [bool(np.array_equal(o, lab)) for o, lab in zip(outs, bits.labels, strict=True)]
        rule_only.append(
            {
                "size": 10_000,
                "count": config.rule_only_count,
                "program_solved": float(np.mean(solved)),
                "program_ms_per_problem": round(1000 * seconds / config.rule_only_count, 2),
            }
        )
    verified = all(r["agreement"] == 1.0 for r in rows)
    result = {
        "kind": "cellular automaton" if task == "maze" else "scan",
        "task": task,
        "rule": rule_info,
        "verified": verified,
        "verified_meaning": "the program equals the network's answer (at its stopping rule) on "
        "every held-out problem of every size listed; not a proof for unseen problems",
        "sizes": rows,
        "program_only": rule_only,
        "learn_seconds": round(learn_seconds, 1),
        "seconds": round(time.perf_counter() - start, 1),
        "network": {"parameters": parameter_count(model), **(raw.get("model") or {})},
        "config": asdict(config),
        **provenance(config.seed),
    }
    atomic_write_text(out_dir / "program.py", source_code)
    atomic_write_json(out_dir / "result.json", result)
    atomic_write_text(out_dir / "extract.md", render_extract(result))
    return result


def render_extract(result: dict[str, Any]) -> str:
    rule = result["rule"]
    lines = [
        f"# Extracted {result['kind']}: {rule.get('name') or rule.get('description')}",
        "",
        f"- rule: {rule['description']}",
        f"- consistency with the network's transitions: {100 * rule['consistency']:.3f}%",
        f"- verified on every size below: {result['verified']}",
        "",
        "| size | n | net iters (mean) | net solved | program solved | agreement | agreement "
        "on solved | net ms | program ms | speedup |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["sizes"]:
        on_solved = r["agreement_on_solved"]
        lines.append(
            f"| {r['size']} | {r['count']} | {r['network_iterations_mean']} | "
            f"{100 * r['network_solved']:.1f}% | {100 * r['program_solved']:.1f}% | "
            f"{100 * r['agreement']:.1f}% | "
            f"{'n/a' if on_solved is None else f'{100 * on_solved:.1f}%'} | "
            f"{r['network_ms_per_problem']} | {r['program_ms_per_problem']} | {r['speedup']}x |"
        )
    for r in result["program_only"]:
        lines.append(
            f"| {r['size']} | {r['count']} | not run | - | {100 * r['program_solved']:.1f}% | - | "
            f"- | - | {r['program_ms_per_problem']} | - |"
        )
    lines += ["", f"Seed {result['seed']}; versions {result['versions']}."]
    return "\n".join(lines) + "\n"
