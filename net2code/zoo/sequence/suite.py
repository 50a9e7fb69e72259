"""`net2code suite`: train, extract and verify every MIPS preset, and write the table."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._util import atomic_write_json, atomic_write_text, provenance
from .data import validate
from .tasks import TASKS, get_task
from .train import RNNTrainConfig, save_rnn_run, train_rnn

BLACK_BOX = ("lstar", "counter-machine")


@dataclass(frozen=True)
class SuiteConfig:
    tasks: tuple[str, ...] = tuple(TASKS)
    sequences: int = 20_000
    sizes: tuple[int, ...] = (1, 2, 4)
    max_steps: int = 3000
    seed: int = 0
    n_jobs: int = 2
    timeout: float = 40.0


def run_task(name: str, config: SuiteConfig, folder: Path) -> dict[str, Any]:
    """Train (with the hidden-size search), extract and check one preset."""
    import torch

    from ...pipeline import extract_path

    torch.set_num_threads(1)
    task = get_task(name)
    start = time.perf_counter()
    x, y = task.generate(config.sequences, seed=config.seed)
    trained = train_rnn(
        validate(x, y, name),
        RNNTrainConfig(
            search=True, sizes=config.sizes, max_steps=config.max_steps, seed=config.seed
        ),
        progress=False,
    )
    run_dir = folder / name
    save_rnn_run(trained, run_dir, data_source=f"preset {name}", task=name)
    train_seconds = time.perf_counter() - start
    extraction = extract_path(run_dir, timeout=config.timeout, seed=config.seed)
    extraction.save(run_dir)
    result = extraction.to_dict()
    exhaustive = next((c for c in extraction.checks if c.defining), None)
    at_length = next(c for c in extraction.checks if c.name.startswith("network at L"))
    truth = next((c for c in extraction.checks if c.against == "truth"), None)
    black_box = None
    domain = extraction.domain
    if domain.alphabet_size is not None and domain.readout != "real":
        black = extract_path(
            run_dir, strategies=list(BLACK_BOX), timeout=config.timeout, seed=config.seed
        )
        black.save(run_dir / "black-box")
        black_at_length = next(c for c in black.checks if c.name.startswith("network at L"))
        black_truth = next((c for c in black.checks if c.against == "truth"), None)
        black_box = {
            "strategy": black.strategy,
            "description": black.program.summary if black.program is not None else "",
            "verified": black.verified,
            "agrees_at_L": black_at_length.passed,
            "correct_at_10L": black_truth.passed if black_truth else None,
            "states": black.candidate.stats.get("states")
            or black.candidate.stats.get("control_states"),
        }
    return {
        "task": name,
        "kind": task.kind,
        "network_accuracy": trained.test_accuracy,
        "hidden": trained.model.config.hidden,
        "extracted": result["program"]["kind"] or "none",
        "strategy": result["strategy"],
        "description": result["program"]["summary"] or "",
        "verified": extraction.verified,
        "exhaustive_length": exhaustive.size if exhaustive else None,
        "exhaustive_sequences": exhaustive.n if exhaustive else None,
        "agrees_at_L": at_length.passed,
        "agreement_at_L": at_length.agreement,
        "correct_at_10L": truth.passed if truth else None,
        "truth_agreement_at_10L": truth.agreement if truth else None,
        "network_correct_at_10L": result["recurrent"]["network_vs_truth_at_10L"],
        "lines": result["program"]["size"] or 0,
        "black_box": black_box,
        "train_seconds": round(train_seconds, 1),
        "seconds": round(time.perf_counter() - start, 1),
    }


def run_suite(
    config: SuiteConfig, output: Path | str, *, progress: bool = True
) -> list[dict[str, Any]]:
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    for name in config.tasks:
        get_task(name)  # unknown names fail before any training
    start = time.perf_counter()
    jobs = (delayed(run_task)(name, config, output / "runs") for name in config.tasks)
    rows = []
    runner = Parallel(n_jobs=config.n_jobs, return_as="generator_unordered")
    bar = tqdm(
        total=len(config.tasks), desc="suite", unit="task", disable=None if progress else True
    )
    for row in runner(jobs):
        rows.append(row)
        bar.update(1)
        bar.set_postfix(last=row["task"])
    bar.close()
    order = {name: i for i, name in enumerate(config.tasks)}
    rows.sort(key=lambda r: order[r["task"]])
    seconds = time.perf_counter() - start
    atomic_write_json(
        output / "suite.json",
        {
            "rows": rows,
            "seconds": round(seconds, 1),
            "config": config.__dict__,
            **provenance(config.seed),
        },
    )
    atomic_write_text(output / "suite.md", render(rows, seconds))
    return rows


def solved(row: dict[str, Any]) -> bool:
    """The program agrees with the network on every held-out sequence of the training length,
    and with the ground truth at 10x that length (by either path)."""
    return bool(row["agrees_at_L"] and row["correct_at_10L"]) or black_solved(row)


def white_solved(row: dict[str, Any]) -> bool:
    """The default extraction (white-box strategies first) solved it with a white-box one."""
    default = bool(row["agrees_at_L"] and row["correct_at_10L"])
    return default and row.get("strategy") not in BLACK_BOX


def black_solved(row: dict[str, Any]) -> bool:
    """The black-box-only extraction solved it (or the default one, with a black-box one)."""
    black = row.get("black_box")
    default = bool(row["agrees_at_L"] and row["correct_at_10L"])
    if default and row.get("strategy") in BLACK_BOX:
        return True
    return bool(black and black["agrees_at_L"] and black["correct_at_10L"])


def solved_by(row: dict[str, Any]) -> str:
    paths = [name for name, ok in (("white-box", white_solved(row)), ("black-box",
             black_solved(row))) if ok]  # fmt: skip
    return " and ".join(paths) or "-"


def render(rows: list[dict[str, Any]], seconds: float) -> str:
    def mark(value: Any) -> str:
        return "-" if value is None else ("yes" if value else "no")

    def verified(row: dict[str, Any]) -> str:
        if row["exhaustive_length"] is None:
            return "no (real inputs: nothing to enumerate)"
        return (
            f"{mark(row['verified'])} (every sequence of length {row['exhaustive_length']}: "
            f"{row['exhaustive_sequences']:,})"
        )

    def black(row: dict[str, Any]) -> str:
        b = row.get("black_box")
        if not b:
            return "- (real inputs or outputs)"
        return (
            f"{b['strategy']}: verified {mark(b['verified'])}, at L {mark(b['agrees_at_L'])}, "
            f"10L {mark(b['correct_at_10L'])}"
        )

    lines = [
        "| task | network accuracy | hidden size | extracted (default order) | verified "
        "(exhaustive) | agrees at L (held-out) | correct at 10L | black-box only (L*, counter) "
        "| solved by "
        "| program lines | time (s) | program |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        description = r["description"]
        if not white_solved(r) and black_solved(r):
            description = r["black_box"]["description"]
        lines.append(
            f"| {r['task']} | {100 * r['network_accuracy']:.3f}% | {r['hidden']} "
            f"| {r['extracted']} ({r.get('strategy', '?')}) | {verified(r)} "
            f"| {mark(r['agrees_at_L'])} ({100 * r['agreement_at_L']:.2f}%) "
            f"| {mark(r['correct_at_10L'])} | {black(r)} | {solved_by(r)} | {r['lines']} "
            f"| {r['seconds']} | `{description[:100]}` |"
        )
    n = sum(solved(r) for r in rows)
    white = sum(white_solved(r) for r in rows)
    blacks = sum(black_solved(r) for r in rows)
    rescued = sum(black_solved(r) and not white_solved(r) for r in rows)
    v = sum(bool(r["verified"]) for r in rows)
    lines += [
        "",
        f"{n} of {len(rows)} tasks solved (agrees with the network at L and correct at 10L): "
        f"{white} by the white-box path, {blacks} by the black-box path, {rescued} only by the "
        f"black-box one; {v} of {len(rows)} verified in the default order (exhaustively, "
        f"against the network), in {seconds / 60:.1f} min.",
    ]
    return "\n".join(lines) + "\n"
