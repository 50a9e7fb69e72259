"""Networks for binary operations on Z_p: the transformer of "The Clock and the Pizza" (one
layer by default; n layers, any head width, ReLU/GeLU/Tanh, optional LayerNorm, separate
vocabularies for a and b and an "=" token, as the paper's and Nanda's code train them) and
MLPs (summed or concatenated embeddings; the paper's MLP-only "Linearformer" is the
concatenated one with no unembedding bias). Every model maps the inputs (batch, 2), a and b
in 0..vocab-1, to logits (batch, n_out); the token layout is the model's own business.
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
ACTIVATIONS: tuple[str, ...] = ("relu", "square", "gelu", "gelu_tanh", "tanh")


LIMITS = {"vocab": 100_000, "n_out": 100_000, "n_inputs": 64, "d_model": 8192, "d_mlp": 32_768,
          "n_heads": 256, "n_layers": 64, "d_head": 8192}  # fmt: skip


@dataclass(frozen=True)
class ModelConfig:
    """Architecture only: nothing here says which task the network was trained on.

    `vocab` is the range of each input (p); the embedding table holds `n_tokens` rows: a's p
    tokens, then b's p tokens when `diff_vocab`, then the "=" token when `eqn_sign` (read as
    the last of `n_ctx` positions, where the logits are read)."""

    kind: str = "transformer"
    vocab: int = 59  # tokens per input position
    n_out: int = 59  # output classes
    n_inputs: int = 2
    d_model: int = 128  # for mlp-concat: the embedding width of one position
    n_heads: int = 4
    d_mlp: int = 512  # 4 * d_model for the transformer; the hidden width for MLPs
    attention_rate: float = 1.0  # alpha: 1 = softmax attention, 0 = constant all-ones attention
    activation: str = "relu"  # relu, gelu, gelu_tanh, tanh, or square (Gromov's networks)
    n_layers: int = 1  # transformer blocks, or hidden layers of an MLP
    d_head: int = 0  # 0: d_model // n_heads
    layer_norm: bool = False  # LayerNorm before attention, MLP and unembedding (TransformerLens)
    attn_bias: bool = False
    unembed_bias: bool | None = None  # None: the MLPs have one, the transformer not
    diff_vocab: bool = False
    eqn_sign: bool = False
    causal: bool = False  # a causal mask (Nanda's code); the paper's attends everywhere

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ConfigError(f"model kind {self.kind!r} is unknown; choose one of {MODEL_KINDS}")
        for name in ("vocab", "n_out", "n_inputs", "d_model", "d_mlp", "n_heads", "n_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"model {name}={value!r} must be a positive integer")
        if not isinstance(self.d_head, int) or isinstance(self.d_head, bool) or self.d_head < 0:
            raise ConfigError(f"model d_head={self.d_head!r} must be a non-negative integer")
        if self.vocab < 2:
            raise ConfigError(f"model vocab={self.vocab} must be >= 2")
        for name, limit in LIMITS.items():
            if getattr(self, name) > limit:
                raise ConfigError(
                    f"model {name}={getattr(self, name)} is over the limit of {limit}"
                )
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"activation {self.activation!r} is unknown; choose one of {ACTIVATIONS}"
            )
        if (
            not isinstance(self.attention_rate, int | float)
            or not 0.0 <= self.attention_rate <= 1.0
        ):
            raise ConfigError(f"attention_rate={self.attention_rate} must lie in [0, 1]")
        if self.kind == "transformer" and not self.d_head and self.d_model % self.n_heads:
            raise ConfigError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if (self.diff_vocab or self.eqn_sign) and self.n_inputs != 2:
            raise ConfigError(
                f"diff_vocab and eqn_sign need two inputs; this model has {self.n_inputs}"
            )
        if self.kind == "mlp" and self.eqn_sign:
            raise ConfigError('an "=" token needs a transformer or mlp-concat, not a summed MLP')

    @property
    def head_width(self) -> int:
        return self.d_head or self.d_model // self.n_heads

    @property
    def n_tokens(self) -> int:
        """Rows of the embedding table."""
        return self.vocab * (2 if self.diff_vocab else 1) + int(self.eqn_sign)

    @property
    def n_ctx(self) -> int:
        return self.n_inputs + int(self.eqn_sign)

    @property
    def has_unembed_bias(self) -> bool:
        return self.kind != "transformer" if self.unembed_bias is None else self.unembed_bias

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"model config has unknown keys {unknown}; known: {sorted(known)}")
        return cls(**data)


def activate(x: torch.Tensor, name: str) -> torch.Tensor:
    if name == "relu":
        return torch.relu(x)
    if name == "square":
        return x * x
    if name == "gelu":
        return nn.functional.gelu(x)
    if name == "gelu_tanh":
        return nn.functional.gelu(x, approximate="tanh")
    return torch.tanh(x)


class Attention(nn.Module):
    """Multi-head attention whose pattern is alpha*softmax(QK^T/sqrt(d_head)) + (1-alpha)*J,
    over every position (no causal mask, as in the paper's code)."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        attention_rate: float,
        d_head: int = 0,
        bias: bool = False,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.causal = causal
        self.n_heads = n_heads
        self.d_head = d_head or d_model // n_heads
        self.attention_rate = attention_rate
        width = n_heads * self.d_head
        self.W_Q = nn.Linear(d_model, width, bias=bias)
        self.W_K = nn.Linear(d_model, width, bias=bias)
        self.W_V = nn.Linear(d_model, width, bias=bias)
        self.W_O = nn.Linear(width, d_model, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, pos, d_model)
        batch, pos, _ = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:  # -> (batch, head, pos, d_head)
            return t.view(batch, pos, self.n_heads, self.d_head).transpose(1, 2)

        q, k, v = heads(self.W_Q(x)), heads(self.W_K(x)), heads(self.W_V(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)  # (batch, head, pos, pos)
        uniform = torch.ones(pos, pos, dtype=x.dtype, device=x.device)
        if self.causal:
            uniform = torch.tril(uniform)
            scores = scores.masked_fill(uniform == 0, float("-inf"))
        pattern = (
            self.attention_rate * scores.softmax(dim=-1) + (1.0 - self.attention_rate) * uniform
        )
        z = (pattern @ v).transpose(1, 2).reshape(batch, pos, -1)  # (batch, pos, heads*d_head)
        return self.W_O(z)


class Block(nn.Module):
    """Attention then MLP, each added to the residual stream (pre-LayerNorm when asked)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        d = config.d_model
        self.activation = config.activation
        self.ln1 = nn.LayerNorm(d) if config.layer_norm else nn.Identity()
        self.attn = Attention(
            d, config.n_heads, config.attention_rate, config.d_head, config.attn_bias, config.causal
        )
        self.ln2 = nn.LayerNorm(d) if config.layer_norm else nn.Identity()
        self.mlp_in = nn.Linear(d, config.d_mlp)
        self.mlp_out = nn.Linear(config.d_mlp, d)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x + self.attn(self.ln1(x))  # (batch, pos, d_model)
        h = activate(self.mlp_in(self.ln2(x)), self.activation)  # (batch, pos, d_mlp)
        return x + self.mlp_out(h), h


class _Tokens(nn.Module):
    """What every modular model shares: inputs (a, b) -> embedded positions, with b's own
    vocabulary and the "=" token when the config has them."""

    config: ModelConfig
    embed: nn.Embedding

    def input_rows(self, p: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Embedding rows of a's and of b's first p tokens.  # each (p, d)"""
        offset = self.config.vocab if self.config.diff_vocab else 0
        weight = self.embed.weight
        return weight[:p], weight[offset : offset + p]

    def embed_inputs(self, inputs: torch.Tensor) -> torch.Tensor:  # (batch, 2) -> (batch, 2, d)
        if not self.config.diff_vocab:
            return self.embed(inputs)
        offsets = torch.arange(inputs.shape[1], device=inputs.device) * self.config.vocab
        return self.embed(inputs + offsets)

    def with_context(self, e: torch.Tensor) -> torch.Tensor:
        """Append the "=" token's embedding.  # (batch, 2, d) -> (batch, n_ctx, d)"""
        if not self.config.eqn_sign:
            return e
        eq = self.embed.weight[-1].to(e.dtype).expand(e.shape[0], 1, -1)
        return torch.cat([e, eq], dim=1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # tokens: (batch, n_inputs)
        return self.forward_embedded(self.embed_inputs(tokens))

    def forward_embedded(self, e: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Transformer(_Tokens):
    """n blocks of attention and MLP on a residual stream, no causal mask; the logits are read
    at the last position. One block, ReLU, no LayerNorm is the paper's alpha-model."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embed = nn.Embedding(config.n_tokens, d)
        self.pos_embed = nn.Parameter(torch.randn(config.n_ctx, d) / math.sqrt(d))
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_final = nn.LayerNorm(d) if config.layer_norm else nn.Identity()
        self.unembed = nn.Linear(d, config.n_out, bias=config.has_unembed_bias)
        self._register_load_state_dict_pre_hook(_upgrade_legacy_keys)

    @staticmethod
    def upgrade_state_dict(state: dict[str, Any]) -> dict[str, Any]:
        """Checkpoints written before n layers name the one block's weights without
        `blocks.0.`; they load unchanged."""
        upgraded = dict(state)
        _upgrade_legacy_keys(upgraded, "")
        return upgraded

    def forward_embedded(self, e: torch.Tensor) -> torch.Tensor:  # e: (batch, 2, d_model)
        """Logits from the inputs' embeddings (so gradients with respect to E_a, E_b can be
        taken).  # (batch, n_out)"""
        x, _ = self._residual(e)
        return self.unembed(self.ln_final(x[:, -1]))

    def hidden_activations(self, tokens: torch.Tensor) -> torch.Tensor:
        """The last block's MLP activations at the last position.  # (batch, d_mlp)"""
        return self.layer_activations(tokens)[-1]

    def layer_activations(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """Every block's MLP activations at the last position.  # n_layers x (batch, d_mlp)"""
        return self._residual(self.embed_inputs(tokens))[1]

    def _residual(self, e: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.with_context(e) + self.pos_embed  # (batch, n_ctx, d_model)
        hidden = []
        for block in self.blocks:
            x, h = block(x)
            hidden.append(h[:, -1])
        return x, hidden


def _upgrade_legacy_keys(state: dict[str, Any], prefix: str, *_: Any) -> None:
    """Checkpoints written before n layers name the one block's weights without `blocks.0.`."""
    for key in list(state):
        rest = key[len(prefix) :]
        if rest.startswith(("attn.", "mlp_in.", "mlp_out.")):
            state[f"{prefix}blocks.0.{rest}"] = state.pop(key)


class MLP(_Tokens):
    """act(W(E_a + E_b)) -> unembed, or with `mlp-concat` act(W[E_a; E_b(; E_=)]) -> unembed;
    `n_layers` hidden layers (d_mlp wide, no residual)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.concat = config.kind == "mlp-concat"
        self.embed = nn.Embedding(config.n_tokens, config.d_model)
        width_in = config.d_model * (config.n_ctx if self.concat else 1)
        self.hidden = nn.Linear(width_in, config.d_mlp)
        self.deeper = nn.ModuleList(
            nn.Linear(config.d_mlp, config.d_mlp) for _ in range(config.n_layers - 1)
        )
        self.unembed = nn.Linear(config.d_mlp, config.n_out, bias=config.has_unembed_bias)

    def forward_embedded(self, e: torch.Tensor) -> torch.Tensor:  # e: (batch, 2, d_model)
        """Logits from the inputs' embeddings (so gradients with respect to E_a, E_b can be
        taken).  # (batch, n_out)"""
        return self.unembed(self._activations(e)[-1])

    def hidden_activations(self, tokens: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations.  # (batch, d_mlp)"""
        return self.layer_activations(tokens)[-1]

    def layer_activations(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden layer's activations.  # n_layers x (batch, d_mlp)"""
        return self._activations(self.embed_inputs(tokens))

    def _activations(self, e: torch.Tensor) -> list[torch.Tensor]:
        x = self.with_context(e).flatten(1) if self.concat else e.sum(dim=1)
        h = activate(self.hidden(x), self.config.activation)
        layers = [h]
        for layer in self.deeper:
            h = activate(layer(h), self.config.activation)
            layers.append(h)
        return layers


def build_model(config: ModelConfig) -> nn.Module:
    return Transformer(config) if config.kind == "transformer" else MLP(config)
