"""Full-batch AdamW training of modular-arithmetic networks, seeded and checkpointed."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._util import provenance
from ...checkpoint import save_checkpoint
from ...errors import ConfigError
from .models import ModelConfig, build_model
from .tasks import ModularTask

STOP_RULES = ("auto", "cleanup", "accuracy")


@dataclass(frozen=True)
class TrainConfig:
    """Task, architecture and optimiser settings. Defaults follow "The Clock and the Pizza"."""

    p: int = 59
    op: str = "add"
    model: str = "transformer"
    d_model: int = 128
    d_mlp: int | None = None  # default: 4 * d_model
    n_heads: int = 4
    attention_rate: float = 1.0
    n_layers: int = 1
    activation: str = "relu"
    layer_norm: bool = False
    diff_vocab: bool = False
    eqn_sign: bool = False
    seed: int = 0
    train_fraction: float = 0.8
    lr: float = 1e-3
    weight_decay: float = 2.0  # the Clock/Pizza paper's (Nanda et al. used 1)
    betas: tuple[float, float] = (0.9, 0.98)
    warmup_steps: int = 10
    max_steps: int = 20_000
    stop_loss: float = 0.05  # stop once test accuracy is 100% and train loss is below this
    min_steps: int = 0  # ... but not before this many steps (weight decay keeps cleaning up)
    eval_every: int = 20
    # "cleanup": after generalising, train on until Nanda's cleanup phase is over (the key
    # frequencies hold `cleanup_energy` of the embedding's energy and the restricted loss is
    # below `stop_loss`); "accuracy": stop at 100% (the demo's fast stop); "auto": cleanup for
    # transformers on addition or subtraction, accuracy otherwise
    stop: str = "auto"
    cleanup_energy: float = 0.8
    cleanup_every: int = 100

    def __post_init__(self) -> None:
        if self.stop not in STOP_RULES:
            raise ConfigError(f"stop={self.stop!r} is unknown; choose one of {STOP_RULES}")
        if not 0.0 < self.cleanup_energy <= 1.0:
            raise ConfigError(f"cleanup_energy={self.cleanup_energy} must lie in (0, 1]")
        self._validate()

    def stop_rule(self) -> str:
        """The rule `stop` resolves to for this model and task."""
        if self.stop != "auto":
            return self.stop
        fourier = self.model == "transformer" and self.op in ("add", "sub")
        return "cleanup" if fourier else "accuracy"

    def _validate(self) -> None:
        if self.max_steps < 1:
            raise ConfigError(f"max_steps={self.max_steps} must be >= 1")
        if self.lr <= 0:
            raise ConfigError(f"lr={self.lr} must be > 0")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay={self.weight_decay} must be >= 0")
        if not 0.0 < self.train_fraction <= 1.0:
            raise ConfigError(f"train_fraction={self.train_fraction} must lie in (0, 1]")
        self.task()  # validates p and op
        self.model_config()  # validates the architecture

    def task(self) -> ModularTask:
        return ModularTask(self.p, self.op)

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            kind=self.model,
            vocab=self.p,
            n_out=self.p,
            n_inputs=2,
            d_model=self.d_model,
            n_heads=self.n_heads,
            d_mlp=self.d_mlp if self.d_mlp is not None else 4 * self.d_model,
            attention_rate=self.attention_rate,
            activation=self.activation,
            n_layers=self.n_layers,
            layer_norm=self.layer_norm,
            diff_vocab=self.diff_vocab,
            eqn_sign=self.eqn_sign,
        )


@dataclass
class TrainResult:
    model: nn.Module
    config: TrainConfig
    steps: int
    train_loss: float
    train_accuracy: float
    test_accuracy: float
    full_accuracy: float  # on all p*p pairs
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "stop_reason": self.stop_reason,
            "steps": self.steps,
            "train_loss": self.train_loss,
            "train_accuracy": self.train_accuracy,
            "test_accuracy": self.test_accuracy,
            "full_domain_accuracy": self.full_accuracy,
            "seconds": round(self.seconds, 2),
        }


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    if labels.numel() == 0:
        return 1.0
    return float((logits.argmax(-1) == labels).float().mean())


@torch.no_grad()
def cleanup_measures(model: nn.Module, p: int) -> dict[str, float]:
    """Nanda et al.'s progress measures of the cleanup phase, from the model alone: the share
    of the embedding's energy in its key frequencies, and the restricted and excluded losses
    (logits kept to, or stripped of, those frequencies' directions in a + b)."""
    from ...analyses.mechanism.analysis import (
        input_rows,
        key_frequencies,
        logit_tensor,
        restricted_and_excluded_loss,
        spectrum,
    )

    was_training = model.training
    model.eval()
    shares = spectrum(input_rows(model, p)[0], p)
    keys = key_frequencies(shares)
    full, restricted, excluded = restricted_and_excluded_loss(logit_tensor(model, p), keys)
    model.train(was_training)
    return {
        "key_energy": float(shares[[k - 1 for k in keys]].sum()),
        "n_keys": float(len(keys)),
        "full_loss": full,
        "restricted_loss": restricted,
        "excluded_loss": excluded,
    }


def _stop(
    config: TrainConfig,
    rule: str,
    step: int,
    fitted: bool,
    model: nn.Module,
    loss: float,
    record: dict[str, float],
) -> str:
    """Why training stops at this evaluation, or "" to go on."""  # fmt: skip
    if not fitted or loss >= config.stop_loss:
        return ""
    early = step + 1 < config.min_steps
    if rule == "accuracy":
        return "" if early else "accuracy: 100% on train and test, train loss below stop_loss"
    if step % config.cleanup_every:
        return ""
    measures = cleanup_measures(model, config.p)
    record.update(measures)
    energy, restricted = measures["key_energy"], measures["restricted_loss"]
    if not early and energy >= config.cleanup_energy and restricted < config.stop_loss:
        return (
            f"cleanup: the {int(measures['n_keys'])} key frequencies hold {energy:.2f} >= "
            f"{config.cleanup_energy} of the embedding's energy and the restricted loss "
            f"{restricted:.3g} < {config.stop_loss}"
        )
    return ""


def train(config: TrainConfig, progress: bool = True) -> TrainResult:
    """Train until the stop rule holds (`TrainConfig.stop`), or `max_steps`.

    With `train_fraction=1` there is no test split, and the stop rule uses the training set.
    """
    torch.set_flush_denormal(True)  # without it CPU steps slow down many times as loss nears 0
    task = config.task()
    model_config = config.model_config()
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    model = build_model(model_config)

    inputs = torch.from_numpy(task.inputs())  # (p*p, 2)
    labels = torch.from_numpy(task.labels())  # (p*p,)
    if config.train_fraction < 1.0:
        split = task.split(config.train_fraction, config.seed)
        train_idx, test_idx = torch.from_numpy(split.train), torch.from_numpy(split.test)
    else:
        train_idx = torch.arange(len(labels))
        test_idx = torch.arange(0)
    x_train, y_train = inputs[train_idx], labels[train_idx]
    x_test, y_test = inputs[test_idx], labels[test_idx]

    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=config.betas
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, config.warmup_steps))
    )
    from tqdm.auto import tqdm  # disable=None: bars only on a terminal, never in CI logs

    history: list[dict[str, float]] = []
    start = time.perf_counter()
    bar = tqdm(
        range(config.max_steps),
        disable=None if progress else True,
        desc="train",
        unit="step",
        leave=False,
    )
    step = 0
    rule = config.stop_rule()
    reason = ""
    loss_value, train_acc, test_acc = float("inf"), 0.0, 0.0
    for step in bar:
        model.train()
        logits = model(x_train)
        loss = nn.functional.cross_entropy(logits, y_train)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_value = loss.item()
        if step % config.eval_every == 0 or step == config.max_steps - 1:
            train_acc = _accuracy(logits.detach(), y_train)
            with torch.no_grad():
                model.eval()
                test_acc = _accuracy(model(x_test), y_test) if len(y_test) else train_acc
            record = {
                "step": step,
                "train_loss": loss_value,
                "train_acc": train_acc,
                "test_acc": test_acc,
            }
            fitted = test_acc == 1.0 and train_acc == 1.0
            reason = _stop(config, rule, step, fitted, model, loss_value, record)
            history.append(record)
            bar.set_postfix(loss=f"{loss_value:.3g}", test_acc=f"{test_acc:.3f}")
            if reason:
                break
    if not reason:
        floor = config.min_steps >= config.max_steps
        why = f"min_steps {config.min_steps}" if floor else f"the {rule} rule had not held"
        reason = f"max_steps: {config.max_steps} steps ({why})"
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        full_acc = _accuracy(model(inputs), labels)
    return TrainResult(
        model=model,
        config=config,
        steps=step + 1,
        train_loss=loss_value,
        train_accuracy=train_acc,
        test_accuracy=test_acc,
        full_accuracy=full_acc,
        seconds=seconds,
        history=history,
        stop_reason=reason,
    )


def save_run(result: TrainResult, folder: Path | str) -> Path:
    """Write the checkpoint and its training record to `folder`."""
    folder = Path(folder)
    config = result.config
    task = config.task()
    meta = {
        "task": {"kind": "modular", "p": task.p, "op": config.op, "expression": task.expression},
        "training": {**asdict(config), "betas": list(config.betas), **result.summary()},
        "provenance": provenance(config.seed),
    }
    save_checkpoint(folder, result.model, config.model_config(), meta)
    return folder
