"""net2code: turn a trained neural network into ordinary, verified code."""

from __future__ import annotations

__version__ = "0.1.0"

from .domain import Domain  # noqa: E402
from .errors import Net2CodeError  # noqa: E402
from .network import Network, from_module, load  # noqa: E402
from .pipeline import Extraction, extract, extract_path  # noqa: E402
from .tasks import ModularTask  # noqa: E402
from .train import TrainConfig, save_run, train  # noqa: E402
from .verify import Verification  # noqa: E402

__all__ = [
    "Domain",
    "Extraction",
    "ModularTask",
    "Net2CodeError",
    "Network",
    "TrainConfig",
    "Verification",
    "__version__",
    "extract",
    "extract_path",
    "from_module",
    "load",
    "save_run",
    "train",
]
