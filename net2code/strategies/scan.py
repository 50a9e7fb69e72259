"""Bit strings: the converged 1-D network's output read as a scan y_i = F(y_{i-1}, x_i).

A 1-bit probe cannot hold "not reached yet", so for bit strings the rule is fitted to the
network's answers rather than its trajectories: both directions are tried, F and the first
output G(x_0) are majority tables over every position, and the direction that explains more
positions wins. XOR with G = identity is named the running-parity scan.

The strategy `scan` returns it as a program: `program(bits)` for one string, and a NumPy
variant for a batch of strings of one length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..program import Code, SizedByLines
from .base import Candidate

if TYPE_CHECKING:
    from .rules import IterationBehaviour

# F as (F(0,0), F(0,1), F(1,0), F(1,1)) with arguments (previous output, input bit)
NAMES = {
    (0, 1, 1, 0): "running parity (y = y_prev XOR x)",
    (1, 0, 0, 1): "running XNOR",
    (0, 1, 1, 1): "running OR",
    (0, 0, 0, 1): "running AND",
    (0, 1, 0, 1): "copy the input",
    (0, 0, 1, 1): "hold the first output",
}


@dataclass(frozen=True)
class ScanRule:
    direction: str  # "left-to-right" or "right-to-left"
    step: tuple[int, int, int, int]
    first: tuple[int, int]  # G(x_0)
    consistency: float  # share of positions the tables reproduce

    @property
    def name(self) -> str | None:
        base = NAMES.get(self.step)
        if base is None:
            return None
        if self.step == (0, 1, 1, 0) and self.first == (0, 1):
            return "running-parity scan (prefix sum mod 2)"
        return base

    def run(self, bits: np.ndarray) -> np.ndarray:
        x = np.asarray(bits, dtype=np.int64)
        if self.direction == "right-to-left":
            x = x[..., ::-1]
        out = np.empty_like(x)
        step = np.array(self.step).reshape(2, 2)
        out[..., 0] = np.array(self.first)[x[..., 0]]
        for i in range(1, x.shape[-1]):
            out[..., i] = step[out[..., i - 1], x[..., i]]
        if self.direction == "right-to-left":
            out = out[..., ::-1]
        return out.astype(np.uint8)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "direction": self.direction,
            "step_table": list(self.step),
            "first_table": list(self.first),
            "consistency": round(self.consistency, 6),
        }


def _fit(x: np.ndarray, y: np.ndarray, direction: str) -> ScanRule:
    if direction == "right-to-left":
        x, y = x[:, ::-1], y[:, ::-1]
    first_counts = np.zeros((2, 2), dtype=np.int64)
    np.add.at(first_counts, (x[:, 0], y[:, 0]), 1)
    counts = np.zeros((4, 2), dtype=np.int64)
    key = 2 * y[:, :-1] + x[:, 1:]
    np.add.at(counts, (key.ravel(), y[:, 1:].ravel()), 1)
    explained = counts.max(1).sum() + first_counts.max(1).sum()
    return ScanRule(
        direction=direction,
        step=tuple(int(v) for v in counts.argmax(1)),  # type: ignore[arg-type]
        first=tuple(int(v) for v in first_counts.argmax(1)),  # type: ignore[arg-type]
        consistency=float(explained / y.size),
    )


def fit_scan(bits: np.ndarray, outputs: np.ndarray) -> ScanRule:
    """The better of the two directions for the network's `outputs` (n, L) on `bits` (n, L)."""
    x = np.asarray(bits, dtype=np.int64)
    y = np.asarray(outputs, dtype=np.int64)
    fits = [_fit(x, y, d) for d in ("left-to-right", "right-to-left")]
    return max(fits, key=lambda r: r.consistency)


@dataclass(frozen=True, repr=False)
class ScanProgram(SizedByLines):
    """y_i = STEP(y_{i-1}, x_i) along the string, y_0 = FIRST(x_0): `program(bits)`."""

    rule: ScanRule
    kind: str = "scan"

    @property
    def summary(self) -> str:
        return self.rule.name or f"a scan {self.rule.direction}"

    def usage(self) -> str:
        return (
            f"Usage: program(bits) with bits a list of 0/1 of any length; one output bit per "
            f"position, computed {self.rule.direction}."
        )

    def _tables(self) -> str:
        return (
            f"STEP = {list(self.rule.step)}  # STEP[2 * previous_output + bit]\n"
            f"FIRST = {list(self.rule.first)}  # FIRST[first bit]\n"
        )

    def python(self) -> Code:
        reverse = self.rule.direction == "right-to-left"
        body = f"""{self._tables()}

def program(bits):
    \"\"\"The scan over one string.\"\"\"
    bits = [int(b) for b in {"bits[::-1]" if reverse else "bits"}]
    out = []
    for i, bit in enumerate(bits):
        out.append(FIRST[bit] if i == 0 else STEP[2 * out[-1] + bit])
    return {"out[::-1]" if reverse else "out"}


solve = program  # the name before net2code 0.2; kept for one release
"""
        return Code((), body)

    def numpy(self) -> Code:
        reverse = self.rule.direction == "right-to-left"
        flip = "bits = bits[:, ::-1]\n    " if reverse else ""
        back = "out[:, ::-1]" if reverse else "out"
        body = f"""{self._tables().replace("= [", "= np.array([").replace("]  #", "])  #")}

def program(bits):
    \"\"\"The scan over a batch of strings (n, length); returns (n, length).\"\"\"
    bits = np.asarray(bits, dtype=np.int64)
    {flip}out = np.zeros_like(bits)
    out[:, 0] = FIRST[bits[:, 0]]
    for i in range(1, bits.shape[1]):
        out[:, i] = STEP[2 * out[:, i - 1] + bits[:, i]]
    return {back}
"""
        return Code(("import numpy as np",), body)

    def run(self, bits: np.ndarray) -> np.ndarray:
        return self.rule.run(bits)


class ScanStrategy:
    name = "scan"

    def applicable(self, observation: IterationBehaviour) -> str | None:
        return None if observation.problem == "bits" else "needs bit strings (1-D problems)"

    def search(
        self, observation: IterationBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        rule = fit_scan(observation.problems, observation.answers)
        program = ScanProgram(rule)
        agree = observation.agreement(program.run(observation.problems))
        stats = {**rule.to_dict(), "agreement_with_network": float(agree.mean())}
        return Candidate(self.name, program, exact=bool(agree.all()), stats=stats)
