"""The interface every extraction strategy implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..program import Program


@dataclass(frozen=True)
class Behaviour:
    """What an extractor may see: the domain's points and the network's outputs on them.

    `n_classes` is the width of the network's output layer; no task label ever appears here.
    """

    inputs: np.ndarray  # (n_points, n_inputs) int64
    outputs: np.ndarray  # (n_points,) int64, the network's argmax
    names: tuple[str, ...]
    n_classes: int | None = None


@dataclass(frozen=True)
class Candidate:
    """A strategy's answer: its program (if any) and how it was found.

    `exact` says the strategy believes the program matches every point; the verify step
    re-checks that independently on the whole domain.
    """

    strategy: str
    program: Program | None
    exact: bool
    stats: dict[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    name: str

    def search(self, behaviour: Behaviour, *, timeout: float, progress: bool) -> Candidate: ...
