"""The MIPS recurrent network: h_t = f([h_{t-1}, enc(x_t)]), y_t = g(h_t), f and g small MLPs.

Integer inputs are encoded as their scaled value plus, for alphabets of at most
`ONE_HOT_LIMIT` symbols, a one-hot code: the value lets a sum be linear, the one-hot lets
any function of the symbol be learned. Real inputs are scaled values. Nothing here names a task.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ...errors import ConfigError

ONE_HOT_LIMIT = 16


@dataclass(frozen=True)
class InputSpec:
    """How one input component is encoded."""

    integer: bool
    low: float  # the smallest value seen in training
    high: float  # the largest
    one_hot: bool = False

    @property
    def center(self) -> float:
        return (self.low + self.high) / 2

    @property
    def scale(self) -> float:
        return max((self.high - self.low) / 2, 1e-6)

    @property
    def width(self) -> int:
        return 1 + (int(self.high - self.low) + 1 if self.one_hot else 0)


@dataclass(frozen=True)
class OutputSpec:
    """Classes (their values, in order) or values (scaled by mean and std; `integer`: rounded)."""

    kind: str  # "classes" or "values"
    classes: tuple[float, ...] = ()
    mean: float = 0.0
    std: float = 1.0
    integer: bool = True
    tolerance: float = 0.0  # real values agree within this

    @property
    def n_out(self) -> int:
        return len(self.classes) if self.kind == "classes" else 1


@dataclass(frozen=True)
class RNNConfig:
    inputs: tuple[InputSpec, ...]
    output: OutputSpec
    hidden: int = 4  # the state size h
    width: int = 32  # hidden width of the MLPs f and g
    kind: str = "rnn"

    def __post_init__(self) -> None:
        if not isinstance(self.hidden, int) or not 1 <= self.hidden <= 512:
            raise ConfigError(f"hidden size {self.hidden!r} must be an integer in [1, 512]")
        if not isinstance(self.width, int) or not 1 <= self.width <= 4096:
            raise ConfigError(f"MLP width {self.width!r} must be an integer in [1, 4096]")
        if self.output.kind not in ("classes", "values"):
            raise ConfigError(f"output kind {self.output.kind!r} must be 'classes' or 'values'")
        if not 1 <= len(self.inputs) <= 16 or len(self.output.classes) > 4096:
            raise ConfigError(
                f"{len(self.inputs)} inputs per step and {len(self.output.classes)} classes: "
                "need 1..16 inputs and at most 4,096 classes"
            )
        for spec in self.inputs:
            if not (math.isfinite(spec.low) and math.isfinite(spec.high)) or spec.high < spec.low:
                raise ConfigError(f"input range {spec.low}..{spec.high} is not a finite range")

    @property
    def encoded_width(self) -> int:
        return sum(spec.width for spec in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RNNConfig:
        try:
            inputs = tuple(InputSpec(**spec) for spec in raw["inputs"])
            out = dict(raw["output"])
            out["classes"] = tuple(out.get("classes", ()))
            return cls(
                inputs=inputs,
                output=OutputSpec(**out),
                hidden=raw["hidden"],
                width=raw["width"],
                kind=raw.get("kind", "rnn"),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"not an RNN config: {exc}") from None


def specs_for(
    x: np.ndarray, y: np.ndarray, tolerance: float = 0.02
) -> tuple[tuple[InputSpec, ...], OutputSpec]:
    """Encodings from training data x (n, length, d) and y (n, length)."""
    inputs = []
    for j in range(x.shape[2]):
        column = x[:, :, j]
        integer = column.dtype.kind in "iu"
        low, high = float(column.min()), float(column.max())
        inputs.append(InputSpec(integer, low, high, integer and high - low + 1 <= ONE_HOT_LIMIT))
    if y.dtype.kind in "iu":
        values = np.unique(y)
        if len(values) <= 32:
            return tuple(inputs), OutputSpec("classes", tuple(float(v) for v in values))
        return tuple(inputs), OutputSpec(
            "values", mean=float(y.mean()), std=float(y.std() or 1.0), integer=True
        )
    std = float(y.std() or 1.0)
    return tuple(inputs), OutputSpec(
        "values", mean=float(y.mean()), std=std, integer=False, tolerance=tolerance * std
    )


class SequenceRNN(nn.Module):
    """h_0 = 0; h_t = f([h_{t-1}, enc(x_t)]); y_t = g(h_t)."""

    def __init__(self, config: RNNConfig) -> None:
        super().__init__()
        self.config = config
        h, w = config.hidden, config.width
        first = nn.Linear(h + config.encoded_width, w)
        self.f = nn.Sequential(first, nn.ReLU(), nn.Linear(w, h))
        self.g = nn.Sequential(nn.Linear(h, w), nn.ReLU(), nn.Linear(w, config.output.n_out))
        with torch.no_grad():  # one-hot codes start unused: sums stay exact unless needed
            column = h
            for spec in config.inputs:
                column += 1
                if spec.one_hot:
                    first.weight[:, column : column + spec.width - 1] = 0.0
                    column += spec.width - 1

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(..., d) raw inputs -> (..., encoded_width)."""
        parts = []
        for j, spec in enumerate(self.config.inputs):
            column = x[..., j].to(torch.float32)
            parts.append(((column - spec.center) / spec.scale).unsqueeze(-1))
            if spec.one_hot:
                index = (column - spec.low).round().long()
                n = int(spec.high - spec.low) + 1
                valid = (index >= 0) & (index < n)
                one_hot = nn.functional.one_hot(index.clamp(0, n - 1), n).to(torch.float32)
                parts.append(one_hot * valid.unsqueeze(-1))  # unseen symbols: all zeros
        return torch.cat(parts, dim=-1)

    def step(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """(batch, hidden), (batch, encoded) -> (batch, hidden)."""
        return self.f(torch.cat([h, e], dim=-1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (batch, length, d) -> outputs (batch, length, n_out), states (batch, length+1, h)."""
        e = self.encode(x)
        h = torch.zeros(x.shape[0], self.config.hidden)
        states = [h]
        for t in range(x.shape[1]):
            h = self.step(h, e[:, t])
            states.append(h)
        stacked = torch.stack(states, dim=1)
        return self.g(stacked[:, 1:]), stacked

    def read(self, raw: torch.Tensor) -> np.ndarray:
        """Head outputs (..., n_out) -> the values they stand for (int64, or float64)."""
        out = self.config.output
        if out.kind == "classes":
            classes = np.asarray(out.classes)
            values = classes[raw.argmax(-1).cpu().numpy()]
            return values.astype(np.int64)
        values = raw[..., 0].detach().cpu().numpy().astype(np.float64) * out.std + out.mean
        return np.rint(values).astype(np.int64) if out.integer else values

    @torch.no_grad()
    def run(
        self, x: np.ndarray, batch: int = 8192, states: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Network outputs (n, length) and, with `states`, the states (n, length+1, hidden)."""
        x = x[:, :, None] if x.ndim == 2 else x
        outs, kept = [], []
        for start in range(0, len(x), batch):
            raw, h = self(torch.as_tensor(x[start : start + batch]))
            outs.append(self.read(raw))
            if states:
                kept.append(h.numpy().astype(np.float64))
        return np.concatenate(outs), np.concatenate(kept) if states else None


def agree(a: np.ndarray, b: np.ndarray, tolerance: float) -> np.ndarray:
    """Elementwise agreement of outputs: exact for integers, within `tolerance` for reals."""
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return np.abs(a.astype(np.float64) - b.astype(np.float64)) <= tolerance
    return a == b


__all__ = ["InputSpec", "OutputSpec", "RNNConfig", "SequenceRNN", "agree", "specs_for"]
