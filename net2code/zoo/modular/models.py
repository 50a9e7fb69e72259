"""Networks for binary operations on Z_p: the 1-layer transformer of "The Clock and the Pizza"
and two MLPs. Every model maps integer tokens (batch, 2) to logits (batch, n_out).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn

from ...errors import ConfigError

ModelKind = Literal["transformer", "mlp", "mlp-concat"]
MODEL_KINDS: tuple[str, ...] = ("transformer", "mlp", "mlp-concat")


LIMITS = {"vocab": 100_000, "n_out": 100_000, "n_inputs": 64, "d_model": 8192, "d_mlp": 32_768,
          "n_heads": 256}  # fmt: skip


@dataclass(frozen=True)
class ModelConfig:
    """Architecture only: nothing here says which task the network was trained on."""

    kind: str = "transformer"
    vocab: int = 59  # tokens per input position
    n_out: int = 59  # output classes
    n_inputs: int = 2
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512  # 4 * d_model for the transformer; the hidden width for MLPs
    attention_rate: float = 1.0  # alpha: 1 = softmax attention, 0 = constant all-ones attention
    activation: str = "relu"  # MLP nonlinearity: relu, or square (Gromov's closed-form networks)

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ConfigError(f"model kind {self.kind!r} is unknown; choose one of {MODEL_KINDS}")
        for name in ("vocab", "n_out", "n_inputs", "d_model", "d_mlp", "n_heads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"model {name}={value!r} must be a positive integer")
        if self.vocab < 2:
            raise ConfigError(f"model vocab={self.vocab} must be >= 2")
        for name, limit in LIMITS.items():
            if getattr(self, name) > limit:
                raise ConfigError(
                    f"model {name}={getattr(self, name)} is over the limit of {limit}"
                )
        if self.activation not in ("relu", "square"):
            raise ConfigError(f"activation {self.activation!r} is unknown; choose relu or square")
        if (
            not isinstance(self.attention_rate, int | float)
            or not 0.0 <= self.attention_rate <= 1.0
        ):
            raise ConfigError(f"attention_rate={self.attention_rate} must lie in [0, 1]")
        if self.kind == "transformer" and self.d_model % self.n_heads:
            raise ConfigError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"model config has unknown keys {unknown}; known: {sorted(known)}")
        return cls(**data)


class Attention(nn.Module):
    """Multi-head attention whose pattern is alpha*softmax(QK^T/sqrt(d_head)) + (1-alpha)*J."""

    def __init__(self, d_model: int, n_heads: int, attention_rate: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.attention_rate = attention_rate
        self.W_Q = nn.Linear(d_model, d_model, bias=False)
        self.W_K = nn.Linear(d_model, d_model, bias=False)
        self.W_V = nn.Linear(d_model, d_model, bias=False)
        self.W_O = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, pos, d_model)
        batch, pos, _ = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:  # -> (batch, head, pos, d_head)
            return t.view(batch, pos, self.n_heads, self.d_head).transpose(1, 2)

        q, k, v = heads(self.W_Q(x)), heads(self.W_K(x)), heads(self.W_V(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)  # (batch, head, pos, pos)
        pattern = self.attention_rate * scores.softmax(dim=-1) + (1.0 - self.attention_rate)
        z = (pattern @ v).transpose(1, 2).reshape(batch, pos, -1)  # (batch, pos, d_model)
        return self.W_O(z)


class Transformer(nn.Module):
    """One attention layer and one ReLU MLP, residual stream, no LayerNorm, no causal mask.

    The logits are read at the last position.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embed = nn.Embedding(config.vocab, d)
        self.pos_embed = nn.Parameter(torch.randn(config.n_inputs, d) / math.sqrt(d))
        self.attn = Attention(d, config.n_heads, config.attention_rate)
        self.mlp_in = nn.Linear(d, config.d_mlp)
        self.mlp_out = nn.Linear(config.d_mlp, d)
        self.unembed = nn.Linear(d, config.n_out, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # tokens: (batch, n_inputs)
        return self.forward_embedded(self.embed(tokens))

    def forward_embedded(self, e: torch.Tensor) -> torch.Tensor:  # e: (batch, pos, d_model)
        """Logits from token embeddings (so gradients with respect to E_a, E_b can be taken)."""
        return self.unembed(self._residual(e)[0][:, -1])  # (batch, n_out)

    def hidden_activations(self, tokens: torch.Tensor) -> torch.Tensor:
        """MLP activations at the last position.  # (batch, d_mlp)"""
        return self._residual(self.embed(tokens))[1][:, -1]

    def _residual(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = e + self.pos_embed  # (batch, pos, d_model)
        x = x + self.attn(x)
        h = torch.relu(self.mlp_in(x))  # (batch, pos, d_mlp)
        return x + self.mlp_out(h), h


class MLP(nn.Module):
    """ReLU(W(E_a + E_b)) -> unembed, or with `concat` ReLU(W[E_a; E_b]) -> unembed."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.concat = config.kind == "mlp-concat"
        self.embed = nn.Embedding(config.vocab, config.d_model)
        width_in = config.d_model * (config.n_inputs if self.concat else 1)
        self.hidden = nn.Linear(width_in, config.d_mlp)
        self.unembed = nn.Linear(config.d_mlp, config.n_out)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # tokens: (batch, n_inputs)
        return self.forward_embedded(self.embed(tokens))

    def forward_embedded(self, e: torch.Tensor) -> torch.Tensor:  # e: (batch, n_inputs, d_model)
        """Logits from token embeddings (so gradients with respect to E_a, E_b can be taken)."""
        return self.unembed(self._activations(e))  # (batch, n_out)

    def hidden_activations(self, tokens: torch.Tensor) -> torch.Tensor:
        """Hidden-layer activations.  # (batch, d_mlp)"""
        return self._activations(self.embed(tokens))

    def _activations(self, e: torch.Tensor) -> torch.Tensor:
        x = e.flatten(1) if self.concat else e.sum(dim=1)
        pre = self.hidden(x)
        return pre * pre if self.config.activation == "square" else torch.relu(pre)


def build_model(config: ModelConfig) -> nn.Module:
    return Transformer(config) if config.kind == "transformer" else MLP(config)
