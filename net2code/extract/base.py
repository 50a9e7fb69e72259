"""The interface every extraction strategy implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..program import Program

if TYPE_CHECKING:
    from ..domain import Domain
    from ..network import AffineLayer


@dataclass(frozen=True)
class Behaviour:
    """What an extractor may see: the domain, the network's outputs on its points, and for
    white-box strategies the network's affine/ReLU layers. Never a task label.

    On a finite domain `inputs` is every point (`exhaustive`); on a real box it is a sample.
    """

    inputs: np.ndarray  # (n_points, n_inputs) int64, or float64 on a box
    outputs: np.ndarray  # (n_points,) int64, or float64 for the real readout
    names: tuple[str, ...]
    n_classes: int | None = None
    domain: Domain | None = None
    readout: str = "argmax"
    exhaustive: bool = True
    layers: tuple[AffineLayer, ...] | None = None

    @property
    def integer_outputs(self) -> bool:
        return self.readout != "real"


@dataclass(frozen=True)
class Candidate:
    """A strategy's answer: its program (if any) and how it was found.

    `exact` says the strategy believes the program matches every point (or, with `proof`,
    every point of a box); the verify step re-checks it independently.
    """

    strategy: str
    program: Program | None
    exact: bool
    stats: dict[str, Any] = field(default_factory=dict)
    proof: str | None = None  # how exactness on a real box was proved, if it was


class Strategy(Protocol):
    name: str

    def applicable(self, behaviour: Behaviour) -> str | None:
        """None if the strategy can run on this behaviour, else the reason it cannot."""
        ...

    def search(self, behaviour: Behaviour, *, timeout: float, progress: bool) -> Candidate: ...
