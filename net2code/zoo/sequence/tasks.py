"""The sequence tasks of MIPS (Michaud et al. 2024), with their paper names, as data generators.

Every task maps inputs `x` of shape (n, length) or (n, length, 2) to one output per step
(n, length). The ground truth is a vectorised NumPy function of the inputs, so it is known at
any length: it is what "correct at 10x the training length" is measured against. Extractors
never see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError


@dataclass(frozen=True)
class SequenceTask:
    """One preset: its input alphabet, the ground truth and what kind of task it is."""

    name: str
    low: float  # inputs are integers in [low, high), or reals in [low, high] when `real`
    high: float
    truth: Callable[[np.ndarray], np.ndarray]
    n_inputs: int = 1
    length: int = 10
    real: bool = False
    kind: str = ""  # the suite's grouping, for the table
    note: str = ""

    def sample(self, n: int, length: int | None = None, seed: int = 0) -> np.ndarray:
        """Inputs (n, length) or (n, length, n_inputs), drawn uniformly."""
        length = length or self.length
        rng = np.random.default_rng(seed)
        shape = (n, length) if self.n_inputs == 1 else (n, length, self.n_inputs)
        if self.real:
            return rng.uniform(self.low, self.high, size=shape)
        return rng.integers(int(self.low), int(self.high), size=shape, dtype=np.int64)

    def generate(
        self, n: int, length: int | None = None, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        x = self.sample(n, length, seed)
        return x, self.truth(x)


def _previous(x: np.ndarray) -> np.ndarray:
    """x_{t-1}, with 0 before the first step."""
    out = np.zeros_like(x)
    out[:, 1:] = x[:, :-1]
    return out


def _carry_add(base: int) -> Callable[[np.ndarray], np.ndarray]:
    def truth(x: np.ndarray) -> np.ndarray:  # x: (n, length, 2), least significant digit first
        carry = np.zeros(len(x), dtype=np.int64)
        out = np.zeros(x.shape[:2], dtype=np.int64)
        for t in range(x.shape[1]):
            total = x[:, t, 0] + x[:, t, 1] + carry
            out[:, t], carry = total % base, total // base
        return out

    return truth


def _div3(x: np.ndarray) -> np.ndarray:  # binary dividend, most significant bit first
    remainder = np.zeros(len(x), dtype=np.int64)
    out = np.zeros_like(x)
    for t in range(x.shape[1]):
        value = 2 * remainder + x[:, t]
        out[:, t], remainder = value // 3, value % 3
    return out


def _balanced(x: np.ndarray) -> np.ndarray:  # 0 = "(", 1 = ")"
    depth = np.cumsum(1 - 2 * x, axis=1)
    never_negative = np.minimum.accumulate(depth, axis=1) >= 0
    return (never_negative & (depth == 0)).astype(np.int64)


def _majority(x: np.ndarray) -> np.ndarray:  # running mode of {0, 1}; ties go to 0
    ones = np.cumsum(x, axis=1)
    seen = np.arange(1, x.shape[1] + 1)
    return (2 * ones > seen).astype(np.int64)


def _dithering(x: np.ndarray) -> np.ndarray:
    total = np.cumsum(x, axis=1)
    return total // 15 - _previous(total) // 15


def _freebody(force: np.ndarray) -> np.ndarray:
    return np.cumsum(np.cumsum(force, axis=1), axis=1)


def _prev_equals(x: np.ndarray) -> np.ndarray:
    out = (x == _previous(x)).astype(np.int64)
    out[:, 0] = 0  # the first step has no previous number
    return out


TASKS: dict[str, SequenceTask] = {
    t.name: t
    for t in [
        SequenceTask("Binary_Addition", 0, 2, _carry_add(2), 2, kind="addition/bitwise",
                     note="bit pairs, least significant first; the sum bit, overflow dropped"),
        SequenceTask("Base_3_Addition", 0, 3, _carry_add(3), 2, kind="addition/bitwise",
                     note="base-3 digit pairs, least significant first"),
        SequenceTask("Bitwise_Xor", 0, 2, lambda x: x[..., 0] ^ x[..., 1], 2,
                     kind="addition/bitwise"),
        SequenceTask("Bitwise_And", 0, 2, lambda x: x[..., 0] & x[..., 1], 2,
                     kind="addition/bitwise"),
        SequenceTask("Parity_Last2", 0, 2, lambda x: x ^ _previous(x), kind="parity/running",
                     note="bits"),
        SequenceTask("Parity_All", 0, 2, lambda x: np.cumsum(x, axis=1) % 2,
                     kind="parity/running", note="bits"),
        SequenceTask("Sum_All", 0, 100, lambda x: np.cumsum(x, axis=1), kind="parity/running"),
        SequenceTask("Sum_Last2", 0, 100, lambda x: x + _previous(x), kind="parity/running"),
        SequenceTask("Current_Number", 0, 100, lambda x: x.copy(), kind="parity/running"),
        SequenceTask("Prev1", 0, 100, _previous, kind="parity/running"),
        SequenceTask("Diff_Last2", -100, 100, lambda x: x - _previous(x),
                     kind="parity/running"),
        SequenceTask("Abs_Current", -100, 100, np.abs, kind="parity/running",
                     note="inputs in [-100, 100), else it would be Current_Number"),
        SequenceTask("Max_Seen", 0, 100, lambda x: np.maximum.accumulate(x, axis=1),
                     kind="parity/running"),
        SequenceTask("Majority_0_1", 0, 2, _majority, kind="counting"),
        SequenceTask("Evens_Counter", 0, 10, lambda x: np.cumsum(x % 2 == 0, axis=1),
                     kind="counting", note="digits"),
        SequenceTask("Balanced_Parenthesis", 0, 2, _balanced, kind="predicates/shifts",
                     note='bits, 0 = "("'),
        SequenceTask("Previous_Equals_Current", 0, 8, _prev_equals, kind="predicates/shifts"),
        SequenceTask("Bit_Shift_Right", 0, 2, _previous, kind="predicates/shifts"),
        SequenceTask("Div_3", 0, 2, _div3, kind="predicates/shifts",
                     note="binary dividend, most significant bit first; the quotient bits"),
        SequenceTask("Add_Mod_3", 0, 100, lambda x: np.cumsum(x, axis=1) % 3,
                     kind="predicates/shifts"),
        SequenceTask("Dithering", 0, 16, _dithering, kind="others",
                     note="increments of floor(cumsum / 15)"),
        SequenceTask("Freebody", -10, 10, _freebody, real=True, kind="others",
                     note="real force; the position, a double cumulative sum"),
    ]
}  # fmt: skip


def get_task(name: str) -> SequenceTask:
    """The preset called `name` (case-insensitive), or a one-line error listing them."""
    for key, task in TASKS.items():
        if key.lower() == name.lower():
            return task
    raise ConfigError(f"sequence task {name!r} is unknown; choose one of {', '.join(TASKS)}")
