"""Input domains: a product of named integer ranges, written ``"a:0..58 b:0..58"``.

A domain is finite and enumerated in row-major order (the last input varies fastest).
Its size is checked against MAX_DOMAIN_POINTS before anything is allocated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .errors import DomainError

MAX_DOMAIN_POINTS = 10_000_000

_TOKEN = re.compile(r"^(?P<name>[A-Za-z_]\w*):(?P<lo>-?\d+)\.\.(?P<hi>-?\d+)$")
_BIT = re.compile(r"^(?P<name>[A-Za-z_]\w*):bit$")


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

    def spec(self) -> str:
        return f"{self.name}:{self.lo}..{self.hi}"


@dataclass(frozen=True)
class Domain:
    """The product of integer input ranges, in the order the network takes them."""

    inputs: tuple[IntRange, ...]

    def __post_init__(self) -> None:
        if not self.inputs:
            raise DomainError("a domain needs at least one input")
        names = [r.name for r in self.inputs]
        if len(set(names)) != len(names):
            raise DomainError(f"input names must be distinct, got {' '.join(names)}")

    @classmethod
    def parse(cls, spec: str) -> Domain:
        """Parse ``"a:0..58 b:0..58"`` (``x:bit`` is short for ``x:0..1``)."""
        ranges = []
        for token in spec.split():
            if match := _TOKEN.match(token):
                ranges.append(IntRange(match["name"], int(match["lo"]), int(match["hi"])))
            elif match := _BIT.match(token):
                ranges.append(IntRange(match["name"], 0, 1))
            else:
                raise DomainError(
                    f"cannot parse domain token {token!r}: expected NAME:LO..HI or NAME:bit"
                )
        domain = cls(tuple(ranges))
        domain.check_size()
        return domain

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.inputs)

    @property
    def size(self) -> int:
        return math.prod(r.size for r in self.inputs)

    def spec(self) -> str:
        return " ".join(r.spec() for r in self.inputs)

    def check_size(self, limit: int = MAX_DOMAIN_POINTS) -> None:
        if self.size > limit:
            raise DomainError(
                f"domain {self.spec()!r} has {self.size:,} points, over the enumeration limit "
                f"of {limit:,}"
            )

    def enumerate(self) -> np.ndarray:
        """Every point, row-major.  # (size, n_inputs) int64"""
        self.check_size()
        axes = [np.arange(r.lo, r.hi + 1, dtype=np.int64) for r in self.inputs]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.reshape(-1) for m in mesh], axis=1)
