"""Check an emitted loop program: against the network at the training length and longer, and
against the ground truth (when known) at 10x the training length."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .model import SequenceRNN, agree


def as_python(x: np.ndarray) -> list[list[Any]]:
    """(n, length[, d]) -> sequences of ints/floats (d = 1) or of tuples (d > 1)."""
    x = x[:, :, None] if x.ndim == 2 else x
    cast = int if x.dtype.kind in "iu" else float
    if x.shape[2] == 1:
        return [[cast(v) for v in seq[:, 0]] for seq in x]
    return [[tuple(cast(v) for v in step) for step in seq] for seq in x]


def run_program(function: Callable[..., Any], x: np.ndarray) -> tuple[np.ndarray, int]:
    """Outputs (n, length) of program(xs) per sequence; rows that raise are filled with a
    sentinel and counted."""
    sequences = as_python(x)
    floats = x.dtype.kind == "f"
    out = np.zeros((len(sequences), x.shape[1]), dtype=np.float64 if floats else np.int64)
    failed = 0
    for i, seq in enumerate(sequences):
        try:
            ys = function(seq)
            out[i] = ys
        except (ValueError, KeyError, TypeError, ZeroDivisionError, OverflowError):
            failed += 1
            out[i] = np.iinfo(np.int64).min if not floats else np.nan
    return out, failed


@dataclass(frozen=True)
class Check:
    """One comparison of the program against a reference on `sequences` of `length`."""

    against: str  # "network" or "truth"
    length: int
    sequences: int
    steps_agree: float  # share of outputs that agree
    sequences_agree: float  # share of sequences that agree at every step
    program_errors: int  # sequences on which the program raised (beyond its machine)
    first_disagreement: list[Any] | None = None

    @property
    def passed(self) -> bool:
        return self.sequences_agree == 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def check(
    function: Callable[..., Any],
    x: np.ndarray,
    reference: np.ndarray,
    against: str,
    tolerance: float,
) -> Check:
    out, failed = run_program(function, x)
    ok = agree(out, reference, tolerance)  # (n, length)
    rows = ok.all(1)
    first = None
    if not rows.all():
        i = int(np.flatnonzero(~rows)[0])
        t = int(np.flatnonzero(~ok[i])[0])
        first = [
            {"inputs": as_python(x[i : i + 1])[0][: t + 1], "program": out[i, t].item(),
             against: reference[i, t].item()}
        ]  # fmt: skip
    return Check(
        against, int(x.shape[1]), len(x), float(ok.mean()), float(rows.mean()), failed, first
    )


def network_outputs(model: SequenceRNN, x: np.ndarray) -> np.ndarray:
    return model.run(x)[0]
