"""Stand-ins for a user's own sequence networks: plain-PyTorch Elman RNNs, GRUs, LSTMs and
causal transformers, with a minimal training loop on a language's per-prefix labels.

They exist so that the tests and `benchmarks/sequence_bench.py` have networks that net2code did
not build: nothing here touches net2code's own RNN (`model.py`) or its trainer, and extraction
sees them only through `from_module`, `.pt2`, ONNX or a Hugging Face folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .languages import Language

ARCHITECTURES = ("rnn", "gru", "lstm", "transformer")


class RecurrentNet(nn.Module):
    """tokens (batch, L) -> embedding -> nn.RNN / nn.GRU / nn.LSTM -> linear (batch, L, k)."""

    def __init__(self, kind: str, vocab: int = 2, hidden: int = 16, outputs: int = 2) -> None:
        super().__init__()
        layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
        self.embed = nn.Embedding(vocab, 8)
        self.rnn = layer(8, hidden, batch_first=True)
        self.out = nn.Linear(hidden, outputs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(self.embed(tokens))[0])


class CausalTransformer(nn.Module):
    """A pre-LN causal transformer encoder with learned positions (at most `max_length`)."""

    def __init__(
        self,
        vocab: int = 2,
        d_model: int = 32,
        heads: int = 2,
        layers: int = 1,
        outputs: int = 2,
        max_length: int = 64,
    ) -> None:
        super().__init__()
        self.max_length = max_length
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(max_length, d_model)
        block = nn.TransformerEncoderLayer(
            d_model, heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.out = nn.Linear(d_model, outputs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        length = tokens.shape[1]
        positions = torch.arange(length, device=tokens.device)
        h = self.embed(tokens) + self.pos(positions)  # (batch, L, d_model)
        mask = nn.Transformer.generate_square_subsequent_mask(length)
        return self.out(self.blocks(h, mask=mask, is_causal=True))


def build(kind: str, outputs: int = 2, **options: int) -> nn.Module:
    if kind == "transformer":
        return CausalTransformer(outputs=outputs, **options)
    return RecurrentNet(kind, outputs=outputs, **options)


@dataclass(frozen=True)
class Trained:
    model: nn.Module
    accuracy: float  # per sequence, every step right, on held-out sequences of the train length
    seconds: float


def targets(language: Language, y: np.ndarray) -> tuple[torch.Tensor, int]:
    """Per-step training targets: classes for argmax languages, bits for bits ones."""
    if language.readout == "bits":
        bits = np.stack([y & 1, y >> 1 & 1], -1)
        return torch.as_tensor(bits, dtype=torch.float32), 2
    return torch.as_tensor(y), 2


def readout(language: Language, out: torch.Tensor) -> np.ndarray:
    if language.readout == "bits":
        bits = (out > 0).long()
        return (bits[..., 0] + 2 * bits[..., 1]).numpy()
    return out.argmax(-1).numpy()


def sample(n: int, length: int, rng: np.random.Generator, language: Language) -> np.ndarray:
    """Uniform bits, plus biased halves so that long runs and deep brackets are seen."""
    x = rng.integers(0, 2, size=(n, length))
    quarter = n // 4
    x[:quarter] = (rng.random((quarter, length)) < 0.85).astype(np.int64)
    x[quarter : 2 * quarter] = (rng.random((quarter, length)) < 0.15).astype(np.int64)
    if not language.regular:  # brackets: bias towards opening so that depth builds up
        x[2 * quarter : 3 * quarter] = (rng.random((quarter, length)) < 0.42).astype(np.int64)
    return x


def train(
    language: Language,
    kind: str,
    *,
    steps: int = 600,
    length: int = 24,
    batch: int = 128,
    lr: float = 1e-2,
    seed: int = 0,
    **options: int,
) -> Trained:
    """Adam on per-step cross-entropy (or BCE for bits), plain PyTorch."""
    torch.manual_seed(seed)
    torch.set_flush_denormal(True)
    rng = np.random.default_rng(seed)
    model = build(kind, **options)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr if kind != "transformer" else 3e-3)
    start = time.perf_counter()
    model.train()
    for _ in range(steps):
        x = sample(batch, length, rng, language)
        target, _ = targets(language, language.truth(x))
        out = model(torch.as_tensor(x))
        if language.readout == "bits":
            loss = nn.functional.binary_cross_entropy_with_logits(out, target)
        else:
            loss = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    x = sample(1000, length, rng, language)
    with torch.no_grad():
        predicted = readout(language, model(torch.as_tensor(x)))
    accuracy = float((predicted == language.truth(x)).all(1).mean())
    return Trained(model, accuracy, time.perf_counter() - start)
