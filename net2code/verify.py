"""Verification: the program against the network.

On a finite domain every point is checked. On a real box a program is `verified` only when
its strategy proved it per region; the sampled check is then a second line of evidence, and
for every other strategy it is the only one (reported as a sampled agreement, never verified).
Real outputs agree within RTOL of themselves plus ATOL of the output scale (the largest
|output| seen): the network computes in float32, the program in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .extract.base import Behaviour

MAX_LISTED = 20
RTOL, ATOL = 1e-4, 1e-5


def percent(n_agree: int, n_points: int) -> str:
    """A percentage that never rounds a shortfall up to 100%."""
    if n_points == 0:
        return "n/a"
    if n_agree == n_points:
        return "100%"
    return f"{min(99.999, 100 * n_agree / n_points):.3f}%"


def tolerance(outputs: np.ndarray) -> float:
    return ATOL * max(1.0, float(np.max(np.abs(outputs)))) if len(outputs) else ATOL


@dataclass(frozen=True)
class Verification:
    """`verified`: agreement on every point of a finite domain, or a per-region proof on a box
    with no sampled disagreement."""

    n_points: int
    n_agree: int
    method: str
    exhaustive: bool = True
    proof: str | None = None
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # first MAX_LISTED

    @property
    def agreement(self) -> float:
        return self.n_agree / self.n_points if self.n_points else 0.0

    @property
    def verified(self) -> bool:
        complete = self.n_points > 0 and self.n_agree == self.n_points
        return complete and (self.exhaustive or self.proof is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "agreement": self.agreement,
            "n_agree": self.n_agree,
            "n_points": self.n_points,
            "exhaustive": self.exhaustive,
            "method": self.method,
            "proof": self.proof,
            "n_disagreements": self.n_points - self.n_agree,
            "disagreements": self.disagreements,
        }


def _agree(values: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    if np.issubdtype(outputs.dtype, np.floating):
        return np.isclose(values.astype(np.float64), outputs, rtol=RTOL, atol=tolerance(outputs))
    return values == outputs


def verify(
    program: Callable[..., Any] | None,
    behaviour: Behaviour,
    *,
    proof: str | None = None,
) -> Verification:
    """Compare the vectorised `program(*columns)` with the network's outputs on the points.

    A program that raises (say, division by zero at some input) agrees nowhere.
    """
    n = len(behaviour.outputs)
    if behaviour.exhaustive:
        method = f"exhaustive: every one of the {n:,} points of the domain"
    else:
        method = f"sampled: {n:,} uniform random points of the box (seeded)"
        if proof:
            method += "; exactness proved per region"
    if program is None:
        return Verification(n, 0, "no program", behaviour.exhaustive)
    columns = [behaviour.inputs[:, i] for i in range(behaviour.inputs.shape[1])]
    try:
        with np.errstate(all="raise"):
            values = np.broadcast_to(np.asarray(program(*columns)), (n,))
    except (ArithmeticError, FloatingPointError, ValueError, IndexError) as exc:
        note = f"{method}; the program raised {type(exc).__name__}: {exc}"
        return Verification(n, 0, note, behaviour.exhaustive)
    agree = _agree(values, behaviour.outputs)
    wrong = np.flatnonzero(~agree)[:MAX_LISTED]
    listed = [
        {
            "input": {
                name: behaviour.inputs[i, j].item() for j, name in enumerate(behaviour.names)
            },
            "network": behaviour.outputs[i].item(),
            "program": values[i].item(),
        }
        for i in wrong
    ]
    return Verification(n, int(agree.sum()), method, behaviour.exhaustive, proof, listed)


def verify_scalar(
    program: Callable[..., Any], behaviour: Behaviour, limit: int = 200_000
) -> dict[str, Any]:
    """Run the plain-Python `program` point by point (all points, or an even sample of `limit`)."""
    n = len(behaviour.outputs)
    index = np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).astype(np.int64)
    floats = np.issubdtype(behaviour.outputs.dtype, np.floating)
    atol = tolerance(behaviour.outputs) if floats else 0.0
    agree = 0
    for i in index.tolist():
        try:
            value = program(*(v.item() for v in behaviour.inputs[i]))
        except ArithmeticError:
            continue
        expected = behaviour.outputs[i].item()
        if floats:
            agree += int(abs(value - expected) <= atol + RTOL * abs(expected))
        else:
            agree += int(value == expected)
    return {"checked": len(index), "agree": agree, "exhaustive": len(index) == n}
