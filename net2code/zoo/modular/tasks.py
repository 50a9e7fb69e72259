"""Tasks: data generators with their ground truth. Extractors never see these labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ... import _expr
from ...domain import MAX_DOMAIN_POINTS, Domain, IntRange
from ...errors import ConfigError
from ...program import evaluate

PRESETS: dict[str, str] = {
    "add": "a + b",
    "sub": "a - b",
    "mul": "a * b",
    "max": "max(a, b)",
    "square_add": "a * a + b",
    "lin": "2 * a + 3 * b",
}


@dataclass(frozen=True)
class Split:
    """Indices into the task's enumerated domain."""

    train: np.ndarray  # (n_train,)
    test: np.ndarray  # (n_test,)


@dataclass(frozen=True)
class ModularTask:
    """The binary operation op(a, b) mod p on Z_p; the domain is all p*p pairs.

    `op` is a preset name (`add`, `sub`, `mul`, ...) or an expression in `a` and `b`,
    e.g. ``"a*a + b"``; the label is always reduced mod p.
    """

    p: int
    op: str = "add"
    expression: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.p, int) or self.p < 2:
            raise ConfigError(f"p={self.p} is invalid: the modulus must be an integer >= 2")
        if self.p * self.p > MAX_DOMAIN_POINTS:
            raise ConfigError(
                f"p={self.p} gives {self.p**2:,} pairs, over the limit of {MAX_DOMAIN_POINTS:,}"
            )
        expression = PRESETS.get(self.op, self.op)
        _expr.parse(expression, ("a", "b"))
        object.__setattr__(self, "expression", expression)

    @property
    def name(self) -> str:
        return f"modular[{self.expression} mod {self.p}]"

    @property
    def domain(self) -> Domain:
        return Domain((IntRange("a", 0, self.p - 1), IntRange("b", 0, self.p - 1)))

    def inputs(self) -> np.ndarray:
        """All pairs, row-major over (a, b).  # (p*p, 2) int64"""
        return self.domain.enumerate()

    def labels(self) -> np.ndarray:
        """op(a, b) mod p for every pair, in the order of `inputs()`.  # (p*p,) int64"""
        grid = self.inputs()
        expr = _expr.to_expr(_expr.parse(self.expression, ("a", "b")))
        try:
            values = evaluate(expr, {"a": grid[:, 0], "b": grid[:, 1]})
        except ZeroDivisionError:
            raise ConfigError(
                f"expression {self.expression!r} divides by zero at some pair of Z_{self.p}"
            ) from None
        return np.mod(np.broadcast_to(values, grid[:, 0].shape), self.p).astype(np.int64)

    def split(self, train_fraction: float, seed: int) -> Split:
        if not 0.0 < train_fraction < 1.0:
            raise ConfigError(f"train_fraction={train_fraction} must lie strictly between 0 and 1")
        n = self.p * self.p
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(n, generator=generator).numpy()
        cut = int(round(train_fraction * n))
        if cut == 0 or cut == n:
            raise ConfigError(
                f"train_fraction={train_fraction} leaves an empty split of the {n} pairs"
            )
        return Split(train=np.sort(order[:cut]), test=np.sort(order[cut:]))
