"""DT-net (Bansal et al. 2022) in 1-D and 2-D, and the feed-forward baseline.

DT-net: projection conv -> ReLU; a recurrent block iterated T times, a conv over
[state, input] ("recall") then 2 residual blocks of two 3x3 convs; a head width -> 32 -> 8 -> 2.
Every conv has `bias=False`, as in the paper. Without recall the block sees only the state.
The feed-forward baseline has the same layers with separate weights at each depth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ...errors import ConfigError

KINDS = ("dt_net", "ff_net")


@dataclass(frozen=True)
class DTNetConfig:
    dim: int = 2  # 2 for mazes, 1 for bit strings
    in_channels: int = 3
    width: int = 32
    recall: bool = True
    kind: str = "dt_net"  # or "ff_net", the feed-forward baseline
    depth: int = 30  # ff_net only: the number of distinct blocks

    def __post_init__(self) -> None:
        if self.dim not in (1, 2):
            raise ConfigError(f"dim {self.dim} must be 1 or 2")
        if not 1 <= self.width <= 1024:
            raise ConfigError(f"width {self.width} must be in 1..1024")
        if self.kind not in KINDS:
            raise ConfigError(f"model kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "ff_net" and not 1 <= self.depth <= 200:
            raise ConfigError(f"ff_net depth {self.depth} must be in 1..200")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DTNetConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"DT-net config has unknown keys {unknown}; known: {sorted(known)}")
        return cls(**data)


def _conv(dim: int, cin: int, cout: int) -> nn.Conv1d | nn.Conv2d:
    cls = nn.Conv2d if dim == 2 else nn.Conv1d
    return cls(cin, cout, kernel_size=3, padding=1, bias=False)


class BasicBlock(nn.Module):
    """relu(x + conv(relu(conv(x))))."""

    def __init__(self, dim: int, width: int) -> None:
        super().__init__()
        self.conv1 = _conv(dim, width, width)
        self.conv2 = _conv(dim, width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class RecurrentBlock(nn.Module):
    def __init__(self, dim: int, width: int, in_channels: int, recall: bool) -> None:
        super().__init__()
        self.recall = recall
        self.conv_recall = _conv(dim, width + in_channels, width) if recall else None
        self.blocks = nn.Sequential(BasicBlock(dim, width), BasicBlock(dim, width))

    def forward(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.conv_recall is not None:
            state = torch.relu(self.conv_recall(torch.cat([state, x], dim=1)))
        return self.blocks(state)


class DTNet(nn.Module):
    """The recurrent network; `forward(x, iters)` returns logits (batch, 2, *spatial)."""

    def __init__(self, config: DTNetConfig) -> None:
        super().__init__()
        self.config = config
        d, w = config.dim, config.width
        self.projection = _conv(d, config.in_channels, w)
        n_blocks = config.depth if config.kind == "ff_net" else 1
        self.recur = nn.ModuleList(
            RecurrentBlock(d, w, config.in_channels, config.recall) for _ in range(n_blocks)
        )
        self.head = nn.Sequential(
            _conv(d, w, 32), nn.ReLU(), _conv(d, 32, 8), nn.ReLU(), _conv(d, 8, 2)
        )

    @property
    def recurrent(self) -> bool:
        return self.config.kind == "dt_net"

    def initial_state(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.projection(x))  # (batch, width, *spatial)

    def step(self, state: torch.Tensor, x: torch.Tensor, i: int = 0) -> torch.Tensor:
        """One iteration; the feed-forward net uses block i (the last one past its depth)."""
        block = self.recur[0] if self.recurrent else self.recur[min(i, len(self.recur) - 1)]
        return block(state, x)

    def readout(self, state: torch.Tensor) -> torch.Tensor:
        return self.head(state)  # (batch, 2, *spatial)

    def forward(
        self, x: torch.Tensor, iters: int, state: torch.Tensor | None = None, offset: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run `iters` iterations from `state` (default: the projection); (logits, state)."""
        if state is None:
            state = self.initial_state(x)
        for i in range(iters):
            state = self.step(state, x, offset + i)
        return self.readout(state), state

    def trajectory(self, x: torch.Tensor, iters: int):
        """Yield (iteration, state) for 1..iters, without building a graph."""
        with torch.no_grad():
            state = self.initial_state(x)
            for i in range(iters):
                state = self.step(state, x, i)
                yield i + 1, state


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
