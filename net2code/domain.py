"""Input domains and output readouts: the domain language, the same in Python and on the CLI.

    "a:0..58 b:0..58"            two integer inputs (finite: every point is enumerated)
    "x1:bit x2:bit x3:bit"       bits (short for x:0..1)
    "x:[-1,1] y:[-2.5,2.5]"      a real box (not enumerable: sampled, or proved per region)
    "x1:bit x2:bit -> bit"       a readout after "->": argmax | bit | round | real

Each family has its domain type: `Domain` (points: finite or a real box) for feed-forward
networks, `SequenceDomain` for recurrent ones, `ProblemDomain` for iterated ones. All three
give `spec()` (one line), `kind` and `size` (the points, sequences or problems a check can
enumerate; None where there is no end to them).

Readouts turn the network's raw output vector into the value a program must reproduce:
``argmax`` (the class), ``bit`` (1 if the single logit is > 0), ``round`` (the nearest integer)
or ``real`` (the value itself). The default is argmax for several outputs; for one output it
is bit on a finite domain and real on a box.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DomainError

MAX_DOMAIN_POINTS = 10_000_000
READOUTS = ("argmax", "bit", "round", "real")

_NAME = r"(?P<name>[A-Za-z_]\w*)"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_INT = re.compile(rf"^{_NAME}:(?P<lo>-?\d+)\.\.(?P<hi>-?\d+)$")
_BIT = re.compile(rf"^{_NAME}:bit$")
_REAL = re.compile(rf"^{_NAME}:\[(?P<lo>{_NUMBER}),(?P<hi>{_NUMBER})\]$")


@dataclass(frozen=True)
class IntRange:
    """An integer input taking every value in lo..hi (inclusive)."""

    name: str
    lo: int
    hi: int

    def __post_init__(self) -> None:
        if self.hi < self.lo:
            raise DomainError(f"input {self.name!r}: range {self.lo}..{self.hi} is empty (hi < lo)")

    @property
    def size(self) -> int:
        return self.hi - self.lo + 1

    @property
    def is_bit(self) -> bool:
        return self.lo == 0 and self.hi == 1

    def spec(self) -> str:
        return f"{self.name}:bit" if self.is_bit else f"{self.name}:{self.lo}..{self.hi}"


@dataclass(frozen=True)
class RealInterval:
    """A real input anywhere in [lo, hi]."""

    name: str
    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or self.hi <= self.lo:
            raise DomainError(
                f"input {self.name!r}: interval [{self.lo}, {self.hi}] must be finite with lo < hi"
            )

    def spec(self) -> str:
        return f"{self.name}:[{self.lo:g},{self.hi:g}]"


@dataclass(frozen=True)
class Domain:
    """The inputs, in the order the network takes them, and an optional readout."""

    inputs: tuple[IntRange | RealInterval, ...]
    readout: str | None = None

    def __post_init__(self) -> None:
        if not self.inputs:
            raise DomainError("a domain needs at least one input")
        names = [r.name for r in self.inputs]
        if len(set(names)) != len(names):
            raise DomainError(f"input names must be distinct, got {' '.join(names)}")
        if self.readout is not None and self.readout not in READOUTS:
            raise DomainError(f"readout {self.readout!r} is unknown; choose one of {READOUTS}")
        kinds = {isinstance(r, RealInterval) for r in self.inputs}
        if len(kinds) > 1:
            raise DomainError(f"domain {self.spec()!r} mixes integer and real inputs; use one kind")

    @classmethod
    def parse(cls, spec: str) -> Domain:
        """Parse the domain language (see the module docstring)."""
        inputs_part, arrow, readout_part = spec.partition("->")
        readout = readout_part.strip() or None
        if arrow and readout is None:
            raise DomainError(f"domain {spec!r} has '->' but no readout; choose one of {READOUTS}")
        ranges: list[IntRange | RealInterval] = []
        for token in inputs_part.split():
            if match := _INT.match(token):
                ranges.append(IntRange(match["name"], int(match["lo"]), int(match["hi"])))
            elif match := _BIT.match(token):
                ranges.append(IntRange(match["name"], 0, 1))
            elif match := _REAL.match(token):
                ranges.append(RealInterval(match["name"], float(match["lo"]), float(match["hi"])))
            else:
                raise DomainError(
                    f"cannot parse domain token {token!r}: expected NAME:LO..HI, NAME:bit "
                    "or NAME:[LO,HI]"
                )
        domain = cls(tuple(ranges), readout)
        domain.check_size()
        return domain

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.inputs)

    @property
    def kind(self) -> str:
        return "finite" if self.is_finite else "box"

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec(),
            "kind": self.kind,
            "size": self.size if self.is_finite else None,
        }

    @property
    def is_finite(self) -> bool:
        return all(isinstance(r, IntRange) for r in self.inputs)

    @property
    def is_boolean(self) -> bool:
        return all(isinstance(r, IntRange) and r.is_bit for r in self.inputs)

    @property
    def size(self) -> int:
        """Number of points (finite domains only)."""
        if not self.is_finite:
            raise DomainError(f"domain {self.spec()!r} is a real box: it has no finite size")
        return math.prod(r.hi - r.lo + 1 for r in self.inputs if isinstance(r, IntRange))

    def spec(self) -> str:
        text = " ".join(r.spec() for r in self.inputs)
        return f"{text} -> {self.readout}" if self.readout else text

    def with_readout(self, readout: str) -> Domain:
        return Domain(self.inputs, readout)

    def check_size(self, limit: int = MAX_DOMAIN_POINTS) -> None:
        if self.is_finite and self.size > limit:
            raise DomainError(
                f"domain {self.spec()!r} has {self.size:,} points, over the enumeration limit "
                f"of {limit:,}"
            )

    def enumerate(self) -> np.ndarray:
        """Every point, row-major (the last input varies fastest).  # (size, n_inputs) int64"""
        self.check_size()
        axes = [np.arange(int(r.lo), int(r.hi) + 1, dtype=np.int64) for r in self.inputs]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.reshape(-1) for m in mesh], axis=1)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """Uniform random points of a box.  # (n, n_inputs) float64"""
        rng = np.random.default_rng(seed)
        lows = np.array([r.lo for r in self.inputs], dtype=np.float64)
        highs = np.array([r.hi for r in self.inputs], dtype=np.float64)
        return lows + (highs - lows) * rng.random((n, len(self.inputs)))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners of the box around the domain.  # (n_inputs,) each"""
        lows = np.array([r.lo for r in self.inputs], dtype=np.float64)
        highs = np.array([r.hi for r in self.inputs], dtype=np.float64)
        return lows, highs


MAX_SEQUENCES = 1 << 20  # the most sequences an exhaustive check enumerates


@dataclass(frozen=True)
class SequenceDomain:
    """Sequences whose steps take values in `inputs` (one range per component), with one output
    per step read as `readout` (argmax, round or real).

    `length` is the length the network was trained at; `exhaustive_length` the longest length
    at which every sequence over the alphabet can be checked (at most MAX_SEQUENCES of them;
    every shorter sequence is a prefix of one, and the networks are causal). Real components
    have no alphabet to enumerate: then it is None.
    """

    inputs: tuple[IntRange | RealInterval, ...]
    length: int
    readout: str = "argmax"

    def __post_init__(self) -> None:
        if not self.inputs:
            raise DomainError("a sequence domain needs at least one input per step")
        if self.length < 1:
            raise DomainError(f"sequence length {self.length} must be >= 1")
        if self.readout not in ("argmax", "round", "real"):
            raise DomainError(f"sequence readout {self.readout!r} must be argmax, round or real")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.inputs)

    @property
    def alphabet_size(self) -> int | None:
        if not all(isinstance(r, IntRange) for r in self.inputs):
            return None
        return math.prod(r.size for r in self.inputs if isinstance(r, IntRange))

    @property
    def exhaustive_length(self) -> int | None:
        k = self.alphabet_size
        if k is None:
            return None
        n = 0
        while n < self.length and k ** (n + 1) <= MAX_SEQUENCES:
            n += 1
        return n or None

    @property
    def kind(self) -> str:
        return "sequences"

    @property
    def size(self) -> int | None:
        n, k = self.exhaustive_length, self.alphabet_size
        return None if n is None or k is None else k**n

    def spec(self) -> str:
        n = self.exhaustive_length or self.length
        steps = " ".join(r.spec() for r in self.inputs)
        return f"seq({steps}) len:1..{n} -> {self.readout}"

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec(), "kind": self.kind, "size": self.size}

    def symbols(self) -> np.ndarray:
        """Every step value, the last component varying fastest.  # (k, d) int64"""
        ranges = [range(int(r.lo), int(r.hi) + 1) for r in self.inputs]
        return np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(
            -1, len(self.inputs)
        )

    def enumerate(self, length: int) -> np.ndarray:
        """Every sequence of `length` steps.  # (k^length, length, d) int64"""
        symbols = self.symbols()
        k = len(symbols)
        if k**length > MAX_SEQUENCES:
            raise DomainError(
                f"{k}^{length} = {k**length:,} sequences exceed the limit of {MAX_SEQUENCES:,}"
            )
        index = np.indices((k,) * length).reshape(length, -1).T  # (k^length, length)
        return symbols[index]


@dataclass(frozen=True)
class ProblemDomain:
    """Problems an iterated network solves: n x n mazes or bit strings of n bits.

    Every problem of `exhaustive_size` is checked (all mazes of that size, all strings of that
    length); `sizes` are sampled, from the training size up.
    """

    problem: str  # "maze" or "bits"
    exhaustive_size: int
    exhaustive_count: int
    sizes: tuple[int, ...]
    train_size: int

    @property
    def kind(self) -> str:
        return "problems"

    @property
    def size(self) -> int:
        return self.exhaustive_count

    def spec(self) -> str:
        n = self.exhaustive_size
        return f"maze:{n}x{n}" if self.problem == "maze" else f"bits:{n}"

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec(), "kind": self.kind, "size": self.size}
