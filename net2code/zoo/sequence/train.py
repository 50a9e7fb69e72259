"""Train the RNN on a data file, and MIPS's first step: the smallest hidden size reaching 100%."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..._util import atomic_write_json, provenance, staged_dir
from ...checkpoint import save_checkpoint
from ...errors import ConfigError
from ...families.recurrent import INPUTS_FILE
from .data import SequenceData
from .model import RNNConfig, SequenceRNN, agree, specs_for

DEFAULT_SIZES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class RNNTrainConfig:
    hidden: int = 4
    width: int = 32
    search: bool = False  # try `sizes` in order, keep the first that reaches 100% test accuracy
    sizes: tuple[int, ...] = DEFAULT_SIZES
    seed: int = 0
    test_fraction: float = 0.1
    batch_size: int = 256
    lr: float = 3e-3
    max_steps: int = 4000  # per hidden size
    eval_every: int = 100
    polish_rounds: int = 10  # L-BFGS rounds of `eval_every` iterations for value outputs
    polish_batch: int = 4096
    tolerance: float = 0.02  # real outputs: agree within this share of their standard deviation

    def __post_init__(self) -> None:
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"test_fraction={self.test_fraction} must lie in (0, 1)")
        if self.max_steps < 1:
            raise ConfigError(f"max_steps={self.max_steps} must be >= 1")
        if self.lr <= 0:
            raise ConfigError(f"lr={self.lr} must be > 0")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size={self.batch_size} must be >= 1")
        if not self.sizes or min(self.sizes) < 1:
            raise ConfigError(f"hidden sizes {self.sizes} must be positive integers")


@dataclass
class Attempt:
    hidden: int
    steps: int
    seconds: float
    test_accuracy: float
    train_loss: float


@dataclass
class RNNTrainResult:
    model: SequenceRNN
    config: RNNTrainConfig
    data: SequenceData
    train_index: np.ndarray
    test_index: np.ndarray
    attempts: list[Attempt] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def test_accuracy(self) -> float:
        """The kept model's accuracy (the search may keep an earlier size than the last tried)."""
        hidden = self.model.config.hidden
        return max((a.test_accuracy for a in self.attempts if a.hidden == hidden), default=0.0)

    def summary(self) -> dict[str, Any]:
        return {
            "hidden": self.model.config.hidden,
            "test_accuracy": self.test_accuracy,
            "seconds": round(self.seconds, 2),
            "attempts": [asdict(a) for a in self.attempts],
        }


def _accuracy(model: SequenceRNN, x: np.ndarray, y: np.ndarray) -> float:
    out, _ = model.run(x)
    return float(agree(out, y, model.config.output.tolerance).mean())


def _fit(
    rnn_config: RNNConfig,
    config: RNNTrainConfig,
    data: SequenceData,
    train_index: np.ndarray,
    test_index: np.ndarray,
    progress: bool,
) -> tuple[SequenceRNN, Attempt]:
    torch.manual_seed(config.seed)
    torch.set_flush_denormal(True)
    model = SequenceRNN(rnn_config)
    out = rnn_config.output
    x_all = torch.as_tensor(data.x)
    if out.kind == "classes":
        lookup = {v: i for i, v in enumerate(out.classes)}
        target = torch.as_tensor(np.vectorize(lambda v: lookup[float(v)])(data.y), dtype=torch.long)
    else:
        target = torch.as_tensor((data.y - out.mean) / out.std, dtype=torch.float32)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    warmup = min(100, config.max_steps // 10 + 1)

    def schedule(step: int) -> float:  # warmup, then cosine down to 0.5%
        if step < warmup:
            return (step + 1) / warmup
        progress_share = (step - warmup) / max(1, config.max_steps - warmup)
        return 0.005 + 0.4975 * (1 + math.cos(math.pi * min(1.0, progress_share)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    rng = np.random.default_rng(config.seed)
    x_test, y_test = data.x[test_index], data.y[test_index]
    start = time.perf_counter()
    from tqdm.auto import tqdm

    bar = tqdm(
        total=config.max_steps,
        desc=f"train rnn h={rnn_config.hidden}",
        disable=None if progress else True,
        leave=False,
    )
    perfect_in_a_row, accuracy, loss_value, step = 0, 0.0, float("nan"), 0
    for step in range(1, config.max_steps + 1):
        batch = rng.choice(train_index, size=min(config.batch_size, len(train_index)))
        raw, _ = model(x_all[batch])
        if out.kind == "classes":
            loss = torch.nn.functional.cross_entropy(
                raw.reshape(-1, raw.shape[-1]), target[batch].reshape(-1)
            )
        else:
            loss = torch.nn.functional.mse_loss(raw[..., 0], target[batch])
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        scheduler.step()
        bar.update(1)
        if step % config.eval_every == 0 or step == config.max_steps:
            loss_value = float(loss.detach())
            accuracy = _accuracy(model, x_test, y_test)
            bar.set_postfix(loss=f"{loss_value:.2e}", test=f"{accuracy:.4f}")
            perfect_in_a_row = perfect_in_a_row + 1 if accuracy == 1.0 else 0
            if perfect_in_a_row >= 2:
                break
    bar.close()
    if accuracy < 1.0 and out.kind == "values":
        accuracy, step = _polish(model, config, x_all, target, train_index, x_test, y_test, step)
    model.eval()
    return model, Attempt(
        rnn_config.hidden, step, round(time.perf_counter() - start, 2), accuracy, loss_value
    )


def _polish(
    model: SequenceRNN,
    config: RNNTrainConfig,
    x_all: torch.Tensor,
    target: torch.Tensor,
    train_index: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    step: int,
) -> tuple[float, int]:
    """Full-batch L-BFGS after Adam: regression needs errors far below 0.5 on large values,
    which Adam's noise floor does not reach."""
    rng = np.random.default_rng(config.seed + 1)
    batch = rng.choice(train_index, size=min(config.polish_batch, len(train_index)), replace=False)
    xb, yb = x_all[batch], target[batch]
    optimiser = torch.optim.LBFGS(
        model.parameters(), lr=1.0, max_iter=config.eval_every, history_size=50,
        line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0,
    )  # fmt: skip

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xb)[0][..., 0], yb)
        loss.backward()
        return loss

    accuracy = _accuracy(model, x_test, y_test)
    for _ in range(config.polish_rounds):
        optimiser.step(closure)
        step += config.eval_every
        accuracy = _accuracy(model, x_test, y_test)
        if accuracy == 1.0:
            break
    return accuracy, step


def train_rnn(
    data: SequenceData, config: RNNTrainConfig | None = None, *, progress: bool = True
) -> RNNTrainResult:
    """Train on `data`; with `config.search`, the smallest hidden size that reaches 100%."""
    config = config or RNNTrainConfig()
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(data.x))
    n_test = max(1, int(round(config.test_fraction * len(order))))
    test_index, train_index = np.sort(order[:n_test]), np.sort(order[n_test:])
    inputs, output = specs_for(data.x[train_index], data.y[train_index], config.tolerance)
    sizes = sorted(set(config.sizes)) if config.search else [config.hidden]
    start = time.perf_counter()
    attempts: list[Attempt] = []
    best: tuple[float, SequenceRNN] | None = None
    for hidden in sizes:
        rnn_config = RNNConfig(inputs, output, hidden=hidden, width=config.width)
        model, attempt = _fit(rnn_config, config, data, train_index, test_index, progress)
        attempts.append(attempt)
        if best is None or attempt.test_accuracy > best[0]:
            best = (attempt.test_accuracy, model)
        if attempt.test_accuracy == 1.0:
            break
    assert best is not None
    result = RNNTrainResult(best[1], config, data, train_index, test_index, attempts)
    result.seconds = time.perf_counter() - start
    return result


MAX_KEPT = 20_000  # training inputs kept in the run folder for extraction


def save_rnn_run(
    result: RNNTrainResult,
    folder: Path | str,
    *,
    data_source: str | None = None,
    task: str | None = None,
) -> Path:
    """Write model.safetensors, config.json and inputs.npz (the inputs only, never the labels)."""
    folder = Path(folder)
    rng = np.random.default_rng(result.config.seed)
    keep = result.train_index
    if len(keep) > MAX_KEPT:
        keep = np.sort(rng.choice(keep, size=MAX_KEPT, replace=False))
    meta = {
        "task": task,
        "data": data_source,
        "training": {**asdict(result.config), **result.summary()},
        **provenance(result.config.seed),
    }
    with staged_dir(folder) as tmp:
        save_checkpoint(tmp, result.model, result.model.config, meta)
        np.savez_compressed(
            tmp / INPUTS_FILE, train=result.data.x[keep], test=result.data.x[result.test_index]
        )
        atomic_write_json(tmp / "train.json", meta)
    return folder
