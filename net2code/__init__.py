"""net2code: turn a trained neural network into ordinary, verified code.

The pipeline (`net2code.pipeline.extract`) runs every family of networks the same way:
load -> detect family -> domain -> observe -> search -> emit -> check -> analyses -> result.
The built-in task families and their trainers live in `net2code.zoo` (e.g.
`net2code.zoo.modular.train`); importing net2code loads neither torch nor any training code.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

from .checks import Check  # noqa: E402
from .domain import Domain, ProblemDomain, SequenceDomain  # noqa: E402
from .errors import Net2CodeError  # noqa: E402
from .families import FAMILIES, Family, detect  # noqa: E402
from .network import FeedForwardNetwork, Network, from_module, load  # noqa: E402
from .pipeline import Extraction, extract, extract_path  # noqa: E402
from .program import Program  # noqa: E402
from .sequence import SequenceNetwork  # noqa: E402

_MOVED = {  # names of net2code 0.1 that belong to one task family, now in the zoo
    "train": "net2code.zoo.modular.train",
    "TrainConfig": "net2code.zoo.modular.train",
    "save_run": "net2code.zoo.modular.train",
    "ModularTask": "net2code.zoo.modular.tasks",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        raise AttributeError(
            f"net2code.{name} trained modular-arithmetic networks only; it is "
            f"{_MOVED[name]}.{name} now (the built-in task families live in net2code.zoo)"
        )
    raise AttributeError(f"module 'net2code' has no attribute {name!r}")


__all__ = [
    "FAMILIES",
    "Check",
    "Domain",
    "Extraction",
    "Family",
    "FeedForwardNetwork",
    "Net2CodeError",
    "Network",
    "ProblemDomain",
    "Program",
    "SequenceDomain",
    "SequenceNetwork",
    "__version__",
    "detect",
    "extract",
    "extract_path",
    "from_module",
    "load",
]
