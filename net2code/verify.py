"""Verification on a finite domain: the program and the network on every input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .extract.base import Behaviour

MAX_LISTED = 20


@dataclass(frozen=True)
class Verification:
    """`verified` is true only when the program agrees with the network on every point."""

    n_points: int
    n_agree: int
    method: str
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # first MAX_LISTED

    @property
    def agreement(self) -> float:
        return self.n_agree / self.n_points if self.n_points else 0.0

    @property
    def verified(self) -> bool:
        return self.n_points > 0 and self.n_agree == self.n_points

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "agreement": self.agreement,
            "n_agree": self.n_agree,
            "n_points": self.n_points,
            "method": self.method,
            "disagreements": self.disagreements,
            "n_disagreements": self.n_points - self.n_agree,
        }


def verify(
    program: Callable[..., Any] | None,
    behaviour: Behaviour,
    *,
    method: str = "exhaustive: vectorised program against the network on every point",
) -> Verification:
    """Compare `program(*columns)` (vectorised) with the network's recorded outputs on all points.

    A program that raises (say, division by zero at some input) agrees nowhere it was not computed.
    """
    n = len(behaviour.outputs)
    if program is None:
        return Verification(n, 0, "no program", [])
    columns = [behaviour.inputs[:, i] for i in range(behaviour.inputs.shape[1])]
    try:
        with np.errstate(all="raise"):
            values = np.broadcast_to(np.asarray(program(*columns), dtype=np.int64), (n,))
    except (ArithmeticError, FloatingPointError, ValueError) as exc:
        return Verification(n, 0, f"{method}; the program raised {type(exc).__name__}: {exc}", [])
    agree = values == behaviour.outputs
    wrong = np.flatnonzero(~agree)[:MAX_LISTED]
    listed = [
        {
            "input": {name: int(behaviour.inputs[i, j]) for j, name in enumerate(behaviour.names)},
            "network": int(behaviour.outputs[i]),
            "program": int(values[i]),
        }
        for i in wrong
    ]
    return Verification(n, int(agree.sum()), method, listed)


def verify_scalar(
    program: Callable[..., int], behaviour: Behaviour, limit: int = 200_000
) -> dict[str, Any]:
    """Run the plain-Python `program` point by point (all points, or an even sample of `limit`)."""
    n = len(behaviour.outputs)
    index = np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).astype(np.int64)
    agree = 0
    for i in index.tolist():
        try:
            value = program(*(int(v) for v in behaviour.inputs[i]))
        except ArithmeticError:
            continue
        agree += int(value == behaviour.outputs[i])
    return {"checked": len(index), "agree": agree, "exhaustive": len(index) == n}
