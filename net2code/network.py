"""A trained network as net2code sees it: a callable from integer points to output classes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import domain_spec_for, load_checkpoint
from .domain import Domain
from .errors import DomainError


@dataclass
class Network:
    """Wraps a module mapping integer tokens (batch, n_inputs) to logits (batch, n_classes).

    The output is read as the argmax class. `vocab` bounds the token values it accepts.
    """

    module: nn.Module
    n_inputs: int
    n_classes: int
    vocab: int
    description: str
    source: str | None = None

    @property
    def natural_domain(self) -> Domain:
        return Domain.parse(_natural_spec(self.n_inputs, self.vocab))

    def check_domain(self, domain: Domain) -> None:
        """Fail fast, naming both sides, when the domain cannot be fed to this network."""
        if len(domain.inputs) != self.n_inputs:
            raise DomainError(
                f"domain {domain.spec()!r} has {len(domain.inputs)} inputs but the network takes "
                f"{self.n_inputs} tokens"
            )
        for r in domain.inputs:
            if r.lo < 0 or r.hi >= self.vocab:
                raise DomainError(
                    f"domain input {r.spec()!r} leaves the network's token range "
                    f"0..{self.vocab - 1}"
                )

    @torch.no_grad()
    def logits(self, points: np.ndarray, batch_size: int = 65_536) -> np.ndarray:
        """Logits on points.  # (n, n_inputs) int64 -> (n, n_classes) float32"""
        self.module.eval()
        chunks = [
            self.module(torch.from_numpy(np.ascontiguousarray(points[i : i + batch_size])))
            for i in range(0, len(points), batch_size)
        ]
        return torch.cat(chunks).numpy() if chunks else np.zeros((0, self.n_classes), np.float32)

    def __call__(self, points: np.ndarray, batch_size: int = 65_536) -> np.ndarray:
        """Output classes on points.  # (n, n_inputs) int64 -> (n,) int64"""
        self.module.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(points), batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(points[i : i + batch_size]))
                out.append(self.module(chunk).argmax(-1).numpy())
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)

    def parameter_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.module.parameters())


def _natural_spec(n_inputs: int, vocab: int) -> str:
    from .models import ModelConfig

    return domain_spec_for(ModelConfig(kind="mlp", vocab=vocab, n_out=2, n_inputs=n_inputs))


def load(path: Path | str) -> Network:
    """Load a network from a net2code run folder or its `model.safetensors` (config beside it)."""
    checkpoint = load_checkpoint(path)
    config = checkpoint.config
    detail = f"d_model {config.d_model}, d_mlp {config.d_mlp}"
    if config.kind == "transformer":
        detail += f", {config.n_heads} heads, attention rate {config.attention_rate:g}"
    return Network(
        module=checkpoint.model,
        n_inputs=config.n_inputs,
        n_classes=config.n_out,
        vocab=config.vocab,
        description=f"{config.kind} ({detail})",
        source=str(checkpoint.path),
    )


def from_module(
    module: nn.Module, n_inputs: int, n_classes: int, vocab: int, description: str = ""
) -> Network:
    """Wrap an in-memory module (as tests and notebooks do)."""
    return Network(module, n_inputs, n_classes, vocab, description or type(module).__name__)
