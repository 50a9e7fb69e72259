"""The meta-model: it reads an MLP's weights as a set of neuron tokens and writes the MLP's
program as prefix tokens.

Encoder (invariant to any permutation of the hidden units; no positional encoding over them):

* every unit's incoming weights and bias are divided by their norm, and its outgoing weights
  multiplied by it. ReLU is positively homogeneous, so this removes a symmetry the network
  has and leaves its function unchanged;
* layer-1 units become tokens e1_j = relu(L1 [w_j; b_j]): a learned projection of the
  incoming weights (for token networks, of the embedding rows). Each row of L1 acts as a
  probe input pushed through the unit; the first rows start at points of the domain, so that
  the encoder starts out computing the network's logits there exactly (training may move
  them);
* layer-2 units aggregate what flows into them: e2_i = relu(sum_j W2[j, i] e1_j + b2_i beta),
  a sum over the set of layer-1 units, so their order cannot matter;
* output units (one per class) do the same over layer 2: o_c = sum_i W3[i, c] e2_i + b3_c gamma,
  scaled to unit RMS (signs kept) and tagged with the class;
* all tokens (layer 1, layer 2, outputs; a type embedding each) go through
  `encoder_layers` transformer layers without positions (the shipped 6-bit model has none:
  at a fixed CPU budget the decoder gains more from the steps they would cost).

Decoder: a transformer decoder over the program's prefix tokens, cross-attending to the
encoder's tokens. Beam search (`propose`) keeps only token sequences that can still spell one
program within `max_length` tokens, so every proposal parses. The verifier decides which, if any,
is the network's program.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...errors import ConfigError
from .programs import Space
from .zoo import LAYERS, io_sizes

SPECIALS = ("<pad>", "<bos>")
PAD, BOS = 0, 1


@dataclass(frozen=True)
class ModelConfig:
    """The meta-model's shape."""

    d_model: int = 128
    heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 3
    max_length: int = 32  # prefix tokens in the longest program it writes

    def __post_init__(self) -> None:
        if self.encoder_layers < 0:
            raise ConfigError(f"encoder_layers={self.encoder_layers} must be at least 0")
        if self.decoder_layers < 1:
            raise ConfigError(f"decoder_layers={self.decoder_layers} must be at least 1")
        if self.d_model % self.heads:
            raise ConfigError(f"d_model {self.d_model} must divide into {self.heads} heads")


def vocabulary(space: Space) -> tuple[str, ...]:
    return SPECIALS + space.vocabulary


class MetaModel(nn.Module):
    """Weights in, program tokens out (`encode`, then `decode` or `propose`)."""

    def __init__(self, space: Space, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.space = space
        self.config = config = config or ModelConfig()
        n_in, n_out = io_sizes(space)
        d = config.d_model
        self.vocab = vocabulary(space)
        self.probe = nn.Linear(n_in + 1, d)
        self.beta = nn.Parameter(torch.randn(d) * 0.5)
        self.gamma = nn.Parameter(torch.randn(d) * 0.5)
        self._probe_domain()
        self.read = nn.ModuleList([nn.Linear(d, d) for _ in range(3)])
        self.kind = nn.Embedding(3, d)
        self.label = nn.Embedding(n_out, d)
        self.encoder: nn.Module = (
            nn.TransformerEncoder(
                nn.TransformerEncoderLayer(d, config.heads, 4 * d, 0.0, batch_first=True),
                config.encoder_layers,
                enable_nested_tensor=False,
            )
            if config.encoder_layers
            else nn.Identity()
        )
        self.embed = nn.Embedding(len(self.vocab), d)
        self.position = nn.Embedding(config.max_length + 1, d)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d, config.heads, 4 * d, 0.0, batch_first=True),
            config.decoder_layers,
        )
        self.head = nn.Linear(d, len(self.vocab))

    def _probe_domain(self) -> None:
        """Start the first probes at points of the domain (as many as fit in half of d):
        then the encoder begins by computing the network's logits there, exactly, and training
        may move the probes anywhere."""
        from .zoo import features

        points = features(self.space)  # (n_points, in)
        n = min(len(points), self.config.d_model // 2)
        chosen = np.random.default_rng(0).choice(len(points), size=n, replace=False)
        with torch.no_grad():
            self.probe.weight[:n, :-1] = torch.tensor(points[np.sort(chosen)])
            self.probe.weight[:n, -1] = 1.0
            self.probe.bias[:n] = 0.0
            self.beta[:n] = 1.0
            self.gamma[:n] = 1.0

    # ------------------------------------------------------------------ encoder
    def encode(self, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        """Encoder tokens of a batch of same-width MLPs.  # (batch, 2*width + n_out, d)

        weights: w1 (batch, in, width), b1 (batch, width), w2 (batch, width, width),
        b2 (batch, width), w3 (batch, width, out), b3 (batch, out)."""
        w1, b1, w2, b2, w3, b3 = (weights[name] for name in LAYERS)
        incoming = torch.cat([w1.transpose(1, 2), b1[..., None]], -1)  # (batch, width, in+1)
        scale1 = incoming.norm(dim=-1).clamp_min(1e-8)  # (batch, width)
        e1 = torch.relu(self.probe(incoming / scale1[..., None]))  # (batch, width, d)
        w2 = w2 * scale1[..., None]  # (batch, width_in, width_out)
        scale2 = torch.cat([w2, b2[:, None, :]], 1).norm(dim=1).clamp_min(1e-8)  # (batch, width)
        w2, b2 = w2 / scale2[:, None, :], b2 / scale2
        e2 = torch.relu(torch.einsum("bji,bjd->bid", w2, e1) + b2[..., None] * self.beta)
        w3 = w3 * scale2[..., None]  # (batch, width, out)
        out = torch.einsum("bic,bid->bcd", w3, e2) + b3[..., None] * self.gamma  # (batch, out, d)
        out = out / out.pow(2).mean(-1, keepdim=True).add(1e-12).sqrt()
        labels = self.label.weight[None].expand(out.shape[0], -1, -1)
        tokens = torch.cat(
            [
                self.read[0](e1) + self.kind.weight[0],
                self.read[1](e2) + self.kind.weight[1],
                self.read[2](out) + self.kind.weight[2] + labels,
            ],
            1,
        )
        return self.encoder(tokens)

    # ------------------------------------------------------------------ decoder
    def decode(self, memory: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits after each prefix of `tokens` (which start with BOS).
        # memory (batch, n_tokens, d), tokens (batch, t) -> (batch, t, vocab)"""
        t = tokens.shape[1]
        x = self.embed(tokens) + self.position.weight[:t]
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device)
        return self.head(self.decoder(x, memory, tgt_mask=mask, tgt_is_causal=True))

    def arity(self) -> torch.Tensor:
        """How each token changes the number of open operand slots: +1 binary, 0 unary, -1
        leaf (specials never emitted).  # (vocab,)"""
        space = self.space
        change = [
            1 if tok in space.binary else 0 if tok in space.unary else -1 for tok in self.vocab
        ]
        return torch.tensor(change)

    @torch.no_grad()
    def propose(
        self, weights: dict[str, torch.Tensor], beam: int = 64
    ) -> list[tuple[tuple[str, ...], float]]:
        """Up to `beam` programs for one network (batch of 1), best first, with their log
        probabilities. Only sequences that spell exactly one program are kept."""
        if beam < 1:
            raise ConfigError(f"beam width {beam} must be at least 1")
        self.eval()
        memory = self.encode(weights)  # (1, n_tokens, d)
        device = memory.device
        change = self.arity().to(device)
        allowed_special = torch.arange(len(self.vocab), device=device) >= len(SPECIALS)
        max_length = self.config.max_length
        live = torch.full((1, 1), BOS, device=device)
        scores = torch.zeros(1, device=device)
        open_slots = torch.ones(1, dtype=torch.long, device=device)
        finished: list[tuple[tuple[str, ...], float]] = []
        for step in range(max_length):
            logits = self.decode(memory.expand(len(live), -1, -1), live)[:, -1]
            logp = torch.log_softmax(logits.float(), -1)  # (live, vocab)
            after = open_slots[:, None] + change[None]  # (live, vocab)
            remaining = max_length - step - 1
            ok = allowed_special[None] & (after <= remaining) & (after >= 0)
            logp = logp.masked_fill(~ok, -torch.inf)
            total = (scores[:, None] + logp).flatten()
            k = min(beam, int(torch.isfinite(total).sum()))
            if k == 0:
                break
            best, index = total.topk(k)
            rows, cols = index // len(self.vocab), index % len(self.vocab)
            live = torch.cat([live[rows], cols[:, None]], 1)
            scores, open_slots = best, after[rows, cols]
            done = open_slots == 0
            for row in torch.nonzero(done).flatten().tolist():
                names = tuple(self.vocab[i] for i in live[row, 1:].tolist())
                finished.append((names, float(scores[row])))
            keep = ~done
            live, scores, open_slots = live[keep], scores[keep], open_slots[keep]
            finished.sort(key=lambda item: -item[1])
            if len(live) == 0 or (
                len(finished) >= beam and float(scores.max()) < finished[beam - 1][1]
            ):
                break
        return finished[:beam]

    @torch.no_grad()
    def greedy(self, weights: dict[str, torch.Tensor]) -> list[tuple[str, ...]]:
        """The most likely token at each step, for a batch of networks (beam 1)."""
        self.eval()
        memory = self.encode(weights)
        n, device = memory.shape[0], memory.device
        change = self.arity().to(device)
        special = torch.arange(len(self.vocab), device=device) < len(SPECIALS)
        tokens = torch.full((n, 1), BOS, device=device)
        open_slots = torch.ones(n, dtype=torch.long, device=device)
        max_length = self.config.max_length
        for step in range(max_length):
            if bool((open_slots == 0).all()):
                break
            logits = self.decode(memory, tokens)[:, -1]  # (n, vocab)
            after = open_slots[:, None] + change[None]
            bad = special[None] | (after > max_length - step - 1) | (after < 0)
            choice = logits.masked_fill(bad, -torch.inf).argmax(-1)
            choice = torch.where(open_slots == 0, torch.full_like(choice, PAD), choice)
            tokens = torch.cat([tokens, choice[:, None]], 1)
            open_slots = torch.where(open_slots == 0, 0, open_slots + change[choice])
        return [tuple(self.vocab[i] for i in row[1:].tolist() if i != PAD) for row in tokens]

    @torch.no_grad()
    def renamed_greedy(self, weights: dict[str, torch.Tensor]) -> list[tuple[str, ...]]:
        """Test-time renaming: the greedy program of the network under each input renaming
        the model trained with, renamed back, in renaming order (identity first), repeats
        kept. One batched greedy pass."""
        from .programs import input_permutations, renamed

        perms = input_permutations(self.space)
        batch = {name: t.expand(len(perms), *t.shape[1:]) for name, t in weights.items()}
        inverse = torch.tensor(np.array([np.argsort(sigma) for sigma in perms]))
        batch["w1"] = weights["w1"][0][inverse]  # (n_perms, in, width)
        return [
            tuple(renamed(tokens, np.argsort(sigma).tolist(), self.space))
            for tokens, sigma in zip(self.greedy(batch), perms, strict=True)
        ]

    @torch.no_grad()
    def propose_renamed(self, weights: dict[str, torch.Tensor]) -> list[tuple[str, ...]]:
        """The distinct programs of `renamed_greedy`, in renaming order."""
        return list(dict.fromkeys(self.renamed_greedy(weights)))

    # ------------------------------------------------------------------ files
    def save(self, path: Path | str, record: dict[str, Any], *, half: bool = False) -> Path:
        """Weights as safetensors; the space, shape and `record` (training facts) as metadata.
        `half` stores the floats in 16 bits (half the bytes; loading widens them again)."""
        import os

        from safetensors.torch import save_file

        from ..._util import umask_mode

        path = Path(path)
        metadata = {
            "space": json.dumps(asdict(self.space)),
            "config": json.dumps(asdict(self.config)),
            "vocabulary": json.dumps(list(self.vocab)),
            "record": json.dumps(record),
            "dtype": "float16" if half else "float32",
        }
        tmp = path.with_name(path.name + ".part")
        narrow = torch.float16 if half else torch.float32
        state = {
            k: v.detach().cpu().to(narrow if v.is_floating_point() else v.dtype).contiguous()
            for k, v in self.state_dict().items()
        }
        save_file(state, str(tmp), metadata=metadata)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
        return path


def load_model(path: Path | str) -> tuple[MetaModel, dict[str, Any]]:
    """A saved meta-model and its training record."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"meta-model {path} does not exist")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if "space" not in metadata:
        raise ConfigError(f"{path} is not a net2code meta-model (no 'space' in its metadata)")
    space = Space.from_dict(json.loads(metadata["space"]))
    model = MetaModel(space, ModelConfig(**json.loads(metadata["config"])))
    model.load_state_dict(load_file(str(path)))  # 16-bit floats are widened on copy
    model.eval()
    return model, json.loads(metadata.get("record", "{}"))


def as_tensors(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """One network's numpy weights as a batch of one."""
    return {name: torch.tensor(np.asarray(weights[name], np.float32))[None] for name in LAYERS}
