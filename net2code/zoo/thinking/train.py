"""Training with the progressive loss (Bansal et al. 2022), fresh data every step.

Each step: run T = max_iters iterations (the plain loss), and separately n ~ U{0..T-1}
iterations without gradient, then k ~ U{1..T-n} with it (the progressive loss, which teaches
the block to improve any state it is given). loss = (1 - alpha) CE_T + alpha CE_progressive.
Maze losses count non-wall pixels only. Adam with linear warmup, cosine decay (over the steps, or
over `max_minutes` if that runs out first) and clipping.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from ..._util import atomic_write_json, provenance
from ...errors import CheckpointError, ConfigError
from .data import check_maze_size, make_mazes, make_prefix_sums
from .model import DTNet, DTNetConfig, parameter_count

TASKS = ("maze", "prefix_sums")


@dataclass(frozen=True)
class ThinkTrainConfig:
    task: str = "maze"  # or "prefix_sums"
    size: int = 9  # maze size n, or bits
    width: int = 32
    recall: bool = True
    model: str = "dt_net"  # or "ff_net"
    max_iters: int = 30
    alpha: float = 0.5
    steps: int = 2500
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 2e-4
    warmup: int = 100
    clip: float = 1.0
    seed: int = 0
    eval_every: int = 250
    max_minutes: float | None = None  # stop early (recorded) if the wall clock runs out

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task {self.task!r} is not one of {', '.join(TASKS)}")
        if self.task == "maze":
            check_maze_size(self.size)
        elif not 2 <= self.size <= 4096:
            raise ConfigError(f"bit-string length {self.size} must be in 2..4096")
        if not 1 <= self.max_iters <= 1000:
            raise ConfigError(f"max_iters {self.max_iters} must be in 1..1000")
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"alpha {self.alpha} must be in [0, 1]")
        if self.steps < 1 or self.batch < 1:
            raise ConfigError(f"steps {self.steps} and batch {self.batch} must be >= 1")
        if not 0 < self.lr < 1:
            raise ConfigError(f"learning rate {self.lr} must be in (0, 1)")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError(f"max_minutes {self.max_minutes} must be > 0")

    def model_config(self) -> DTNetConfig:
        return DTNetConfig(
            dim=2 if self.task == "maze" else 1,
            in_channels=3 if self.task == "maze" else 1,
            width=self.width,
            recall=self.recall,
            kind=self.model,
            depth=self.max_iters,
        )


def batch_tensors(
    task: str, count: int, size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, labels, loss mask) for `count` fresh examples."""
    if task == "maze":
        mazes = make_mazes(count, size, seed, check=False)
        x = torch.from_numpy(mazes.inputs())  # (batch, 3, H, W)
        y = torch.from_numpy(mazes.labels.astype(np.int64))  # (batch, H, W)
        return x, y, torch.from_numpy(mazes.kinds != 0)
    data = make_prefix_sums(count, size, seed)
    x = torch.from_numpy(data.inputs())  # (batch, 1, L)
    y = torch.from_numpy(data.labels.astype(np.int64))  # (batch, L)
    return x, y, torch.ones_like(y, dtype=torch.bool)


def _masked_ce(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    per_pixel = functional.cross_entropy(logits, y, reduction="none")
    return (per_pixel * mask).sum() / mask.sum().clamp(min=1)


def exact_match(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per example: the prediction equals the label on every counted pixel. (batch,) bool."""
    wrong = (logits.argmax(1) != y) & mask
    return ~wrong.flatten(1).any(1)


@dataclass
class ThinkTrainResult:
    config: ThinkTrainConfig
    model: DTNet
    history: list[dict[str, float]] = field(default_factory=list)
    steps_done: int = 0
    seconds: float = 0.0
    stopped_early: bool = False

    def summary(self) -> dict[str, Any]:
        last = self.history[-1] if self.history else {}
        return {
            "steps": self.steps_done,
            "seconds": round(self.seconds, 1),
            "stopped_early": self.stopped_early,
            "parameters": parameter_count(self.model),
            "final_loss": last.get("loss"),
            "final_accuracy": last.get("accuracy"),
        }


def train_thinking(
    config: ThinkTrainConfig,
    output: Path | str | None = None,
    progress: bool = True,
) -> ThinkTrainResult:
    """Train from scratch; with `output`, checkpoint there at each evaluation and at the end."""
    from tqdm.auto import tqdm

    torch.set_flush_denormal(True)
    torch.manual_seed(config.seed)
    model = DTNet(config.model_config())
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    start = time.perf_counter()

    def schedule(step: int) -> float:
        # with a time cap, the decay follows whichever budget (steps or minutes) runs out first,
        # so that a run cut short by the clock still ends at the low learning rate
        if step < config.warmup:
            return (step + 1) / config.warmup
        done = (step - config.warmup) / max(1, config.steps - config.warmup)
        if config.max_minutes is not None:
            done = max(done, (time.perf_counter() - start) / (60 * config.max_minutes))
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    rng = np.random.default_rng(config.seed)
    val_x, val_y, val_mask = batch_tensors(config.task, 200, config.size, seed=10**9 + config.seed)
    result = ThinkTrainResult(config, model)
    bar = tqdm(range(config.steps), disable=not progress, desc=f"train {config.task}", unit="step")
    running = 0.0
    T = config.max_iters
    for step in bar:
        x, y, mask = batch_tensors(
            config.task, config.batch, config.size, seed=int(rng.integers(2**62))
        )
        model.train()
        loss = torch.zeros(())
        if config.alpha < 1:
            logits, _ = model(x, T)
            loss = loss + (1 - config.alpha) * _masked_ce(logits, y, mask)
        if config.alpha > 0:
            n = int(rng.integers(0, T))
            k = int(rng.integers(1, T - n + 1))
            with torch.no_grad():
                _, state = model(x, n)
            logits, _ = model(x, k, state=state.detach(), offset=n)
            loss = loss + config.alpha * _masked_ce(logits, y, mask)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimiser.step()
        scheduler.step()
        value = loss.item()
        running = 0.98 * running + 0.02 * value if step else value
        result.steps_done = step + 1
        elapsed = time.perf_counter() - start
        out_of_time = config.max_minutes is not None and elapsed > 60 * config.max_minutes
        last = step + 1 == config.steps or out_of_time
        if (step + 1) % config.eval_every == 0 or last:
            accuracy = evaluate_batch(model, val_x, val_y, val_mask, T)
            result.history.append(
                {
                    "step": step + 1,
                    "loss": round(running, 5),
                    "accuracy": accuracy,
                    "seconds": round(elapsed, 1),
                }
            )
            bar.set_postfix(loss=f"{running:.4f}", acc=f"{accuracy:.3f}")
            result.seconds = elapsed
            if output is not None:
                save_thinking_run(result, output)
        if out_of_time:
            result.stopped_early = step + 1 < config.steps
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    model.eval()
    if output is not None:
        save_thinking_run(result, output)
    return result


def evaluate_batch(
    model: DTNet, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, iters: int
) -> float:
    model.eval()
    with torch.no_grad():
        logits, _ = model(x, iters)
    return float(exact_match(logits, y, mask).float().mean())


def save_thinking_run(result: ThinkTrainResult, folder: Path | str) -> Path:
    """model.safetensors + config.json (architecture, training, provenance) + train.json."""
    from ...checkpoint import save_checkpoint

    folder = Path(folder)
    meta = {
        "task": result.config.task,
        "training": {**asdict(result.config), **result.summary()},
        **provenance(result.config.seed),
    }
    save_checkpoint(folder, result.model, result.model.config, meta)
    atomic_write_json(folder / "train.json", {**meta, "history": result.history})
    return folder


def load_thinking_run(path: Path | str) -> tuple[DTNet, dict[str, Any]]:
    """The DT-net of a run folder (eval mode) and its config.json, through `load_run`."""
    from ...checkpoint import load_run
    from ...families.iterated import IteratedNetwork

    network = load_run(path)
    if not isinstance(network, IteratedNetwork):
        raise CheckpointError(
            f"{path} is not a DT-net run folder (config.json: {network.description})"
        )
    return network.model, network.run
