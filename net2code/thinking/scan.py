"""Bit strings: the converged 1-D network's output read as a scan y_i = F(y_{i-1}, x_i).

A 1-bit probe cannot hold "not reached yet", so for bit strings the rule is fitted to the
network's answers rather than its trajectories: both directions are tried, F and the first
output G(x_0) are majority tables over every position, and the direction that explains more
positions wins. XOR with G = identity is named the running-parity scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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


def emit_scan(rule: ScanRule, source: str = "a DT-net") -> str:
    title = rule.name or "a scan extracted from the network"
    body_dir = "bits[::-1]" if rule.direction == "right-to-left" else "bits"
    back = "out[::-1]" if rule.direction == "right-to-left" else "out"
    return f'''"""{title[0].upper() + title[1:]}.

Extracted by net2code from {source}.
Input: a list of bits; output: one bit per position, computed {rule.direction}, any length.
"""

STEP = {list(rule.step)}  # STEP[2 * previous_output + bit]
FIRST = {list(rule.first)}  # FIRST[first bit]


def solve(bits):
    bits = [int(b) for b in {body_dir}]
    out = []
    for i, bit in enumerate(bits):
        out.append(FIRST[bit] if i == 0 else STEP[2 * out[-1] + bit])
    return {back}
'''
