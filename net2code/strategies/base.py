"""The interface every strategy implements, for every family, and what it returns.

A strategy takes its family's observation (what the network did on its domain; never a task
label) and returns a `Candidate`: a program, whether the strategy believes it exact, and how it
was found. The pipeline re-checks every candidate itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..domain import Domain
    from ..network import AffineLayer
    from ..program import Program


@dataclass(frozen=True, repr=False)
class Behaviour:
    """The feed-forward family's observation: the domain, the network's outputs on its points,
    and for white-box strategies the network's affine/ReLU layers.

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
    holdout: Behaviour | None = None  # on a box: fresh points that candidates are compared on

    @property
    def integer_outputs(self) -> bool:
        return self.readout != "real"

    def __repr__(self) -> str:
        return (
            f"Behaviour({len(self.outputs):,} points of {', '.join(self.names)}, "
            f"readout {self.readout}, {'exhaustive' if self.exhaustive else 'sampled'})"
        )


@dataclass(frozen=True)
class Candidate:
    """A strategy's answer: its program (if any) and how it was found.

    `exact` says the strategy believes the program reproduces the network on what it observed
    (or, with `proof`, on the whole box); the pipeline's checks decide. A readable formula within
    its error budget sets `accept`, and may carry the exact program as its `fallback`.
    """

    strategy: str
    program: Program | None
    exact: bool
    stats: dict[str, Any] = field(default_factory=dict)
    proof: str | None = None  # how exactness (or an error bound) on a real box was proved
    accept: bool = False  # good enough to end the search (a formula within its error budget)
    fallback: Candidate | None = None  # an exact program kept beside a readable one


class Strategy(Protocol):
    """One way of finding a program. `name` is what `--strategy` selects."""

    name: str

    def applicable(self, observation: Any) -> str | None:
        """None if the strategy can run on this observation, else the reason it cannot."""
        ...

    def search(self, observation: Any, *, timeout: float, progress: bool) -> Candidate: ...
