"""The bilinear network as a torch module and its run folder (`net2code train matmul`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...errors import ConfigError
from .scheme import parse_shape


@dataclass(frozen=True)
class BilinearConfig:
    kind: str = "bilinear"
    shape: tuple[int, int, int] = (2, 2, 2)
    rank: int = 7

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "shape", parse_shape(tuple(self.shape)))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not isinstance(self.rank, int) or self.rank < 1:
            raise ConfigError(f"rank={self.rank!r} must be a positive integer")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "rank": self.rank}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BilinearConfig:
        unknown = sorted(set(data) - {"kind", "shape", "rank"})
        if unknown:
            raise ConfigError(f"bilinear config has unknown keys {unknown}")
        return cls(kind=data.get("kind", "bilinear"), shape=tuple(data["shape"]), rank=data["rank"])


class BilinearModule(nn.Module):
    """c = W((U a) * (V b)) on vec(A), vec(B) (row-major).  # (batch, n*m), (batch, m*p)"""

    def __init__(self, config: BilinearConfig) -> None:
        super().__init__()
        n, m, p = config.shape
        self.config = config
        self.U = nn.Parameter(torch.zeros(config.rank, n * m, dtype=torch.float64))
        self.V = nn.Parameter(torch.zeros(config.rank, m * p, dtype=torch.float64))
        self.W = nn.Parameter(torch.zeros(n * p, config.rank, dtype=torch.float64))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a @ self.U.T) * (b @ self.V.T)) @ self.W.T  # (batch, n*p)


def save_matmul_run(
    folder: Path, factors: tuple[np.ndarray, np.ndarray, np.ndarray], config: BilinearConfig,
    training: dict[str, Any], seed: int,
) -> Path:  # fmt: skip
    from ..._util import provenance
    from ...checkpoint import save_checkpoint

    module = BilinearModule(config)
    with torch.no_grad():
        for name, value in zip(("U", "V", "W"), factors, strict=True):
            getattr(module, name).copy_(torch.from_numpy(np.asarray(value, dtype=np.float64)))
    n, m, p = config.shape
    meta = {
        "task": {"kind": "matmul", "shape": [n, m, p]},
        "training": training,
        "provenance": provenance(seed),
    }
    save_checkpoint(folder, module, config, meta)
    return folder
