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
program within `max_length` tokens, so every proposal parses; given the network's truth table
it also keeps only those whose leaves agree with it (`guide.py`). The verifier decides which,
if any, is the network's program.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
        self, weights: dict[str, torch.Tensor], beam: int = 64, truth: int | None = None
    ) -> list[tuple[tuple[str, ...], float]]:
        """Up to `beam` programs for one network (batch of 1), best first, with their log
        probabilities. Only sequences that spell exactly one program are kept; with the
        network's `truth` table (boolean spaces; `guide.py`), only those whose leaves agree
        with it, so every program returned equals it, and the search stops once the most
        probable of them is certain."""
        found = self._beam(self.encode(weights), [self._guide(truth)], beam)
        return [(tokens, score) for _, tokens, score in found]

    @torch.no_grad()
    def propose_pooled(
        self, weights: dict[str, torch.Tensor], beam: int = 64, truth: int | None = None
    ) -> list[tuple[tuple[str, ...], float]]:
        """One beam of width `beam` over the network seen under each input renaming the model
        trained with (`renamed_greedy`'s views): it starts from all of them and keeps the
        `beam` most probable sequences whichever view they come from; programs are renamed
        back, repeats dropped. Guided by `truth` as `propose` is."""
        from .programs import renamed

        batch, perms, truths = self._renamed_views(weights, truth)
        guides = [self._guide(t) for t in truths] if truths else [None] * len(perms)
        out: dict[tuple[str, ...], float] = {}
        for view, tokens, score in self._beam(self.encode(batch), guides, beam):
            back = tuple(renamed(tokens, np.argsort(perms[view]).tolist(), self.space))
            out.setdefault(back, score)
        return list(out.items())

    def _beam(
        self, memory: torch.Tensor, guides: Sequence[Any], beam: int
    ) -> list[tuple[int, tuple[str, ...], float]]:
        """Beam search from every view (a network as `encode` read it) at once: (view,
        tokens, log probability) of up to `beam` programs, best first.
        # memory (views, n_tokens, d); guides: one Guide or None per view"""
        if beam < 1:
            raise ConfigError(f"beam width {beam} must be at least 1")
        self.eval()
        views, device = memory.shape[0], memory.device
        guided = all(g is not None for g in guides)
        change = self.arity().to(device)
        allowed_special = torch.arange(len(self.vocab), device=device) >= len(SPECIALS)
        max_length = self.config.max_length
        view = torch.arange(views, device=device)  # (live,) the view each sequence reads
        live = torch.full((views, 1), BOS, device=device)
        scores = torch.zeros(views, device=device)
        open_slots = torch.ones(views, dtype=torch.long, device=device)
        states = [g.start() for g in guides] if guided else []
        finished: list[tuple[int, tuple[str, ...], float]] = []
        for step in range(max_length):
            logits = self.decode(memory[view], live)[:, -1]
            logp = torch.log_softmax(logits.float(), -1)  # (live, vocab)
            after = open_slots[:, None] + change[None]  # (live, vocab)
            remaining = max_length - step - 1
            ok = allowed_special[None] & (after <= remaining) & (after >= 0)
            if guided:
                row_guides = [guides[v] for v in view.tolist()]
                ok = ok & self._admitted(row_guides, states, open_slots.tolist(), remaining, device)
            logp = logp.masked_fill(~ok, -torch.inf)
            total = (scores[:, None] + logp).flatten()
            k = min(beam, int(torch.isfinite(total).sum()))
            if k == 0:
                break
            best, index = total.topk(k)
            rows, cols = index // len(self.vocab), index % len(self.vocab)
            live = torch.cat([live[rows], cols[:, None]], 1)
            scores, open_slots, view = best, after[rows, cols], view[rows]
            if guided:
                states = [
                    guides[v].advance(states[r], self.vocab[c])
                    for r, c, v in zip(rows.tolist(), cols.tolist(), view.tolist(), strict=True)
                ]
            done = open_slots == 0
            for row in torch.nonzero(done).flatten().tolist():
                names = tuple(self.vocab[i] for i in live[row, 1:].tolist())
                finished.append((int(view[row]), names, float(scores[row])))
            keep = ~done
            live, scores, open_slots, view = live[keep], scores[keep], open_slots[keep], view[keep]
            if guided:
                states = [state for state, k in zip(states, keep.tolist(), strict=True) if k]
            finished.sort(key=lambda item: -item[2])
            if len(live) == 0:
                break
            # log probabilities only fall as a sequence grows: a finished program that beats
            # every live sequence stays ahead of all they can become (guided, every finished
            # program agrees with the network, so the first is the one wanted)
            enough = 1 if guided else beam
            if len(finished) >= enough and float(scores.max()) < finished[enough - 1][2]:
                break
        return finished[:beam]

    @torch.no_grad()
    def greedy(
        self, weights: dict[str, torch.Tensor], truths: Sequence[int] | None = None
    ) -> list[tuple[str, ...]]:
        """The most likely token at each step, for a batch of networks (beam 1); with each
        network's truth table, the most likely that agrees with it (`propose`). A guided
        row whose every continuation is ruled out ends as an empty program."""
        self.eval()
        memory = self.encode(weights)
        n, device = memory.shape[0], memory.device
        guides = [self._guide(t) for t in truths] if truths is not None else []
        states = [g.start() for g in guides if g is not None]
        if len(states) != len(guides):
            guides, states = [], []
        dead = torch.zeros(n, dtype=torch.bool, device=device)
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
            if guides:
                slots, left = open_slots.tolist(), max_length - step - 1
                bad = bad | ~self._admitted(guides, states, slots, left, device)
            masked = logits.masked_fill(bad, -torch.inf)
            choice = masked.argmax(-1)
            dead |= (open_slots > 0) & ~torch.isfinite(masked.max(-1).values)
            finished = (open_slots == 0) | dead
            choice = torch.where(finished, torch.full_like(choice, PAD), choice)
            tokens = torch.cat([tokens, choice[:, None]], 1)
            open_slots = torch.where(finished, 0, open_slots + change[choice])
            if guides:
                states = [
                    state if stop else g.advance(state, self.vocab[c])
                    for g, state, c, stop in zip(
                        guides, states, choice.tolist(), finished.tolist(), strict=True
                    )
                ]
        dead |= open_slots > 0  # ran out of length
        return [
            () if gone else tuple(self.vocab[i] for i in row[1:].tolist() if i != PAD)
            for row, gone in zip(tokens, dead.tolist(), strict=True)
        ]

    def _guide(self, truth: int | None) -> Any:
        """A `Guide` for a boolean space's truth table; None without one."""
        if truth is None or self.space.kind != "boolean":
            return None
        from .guide import Guide

        return Guide(self.space, self.vocab, truth)

    def _admitted(
        self,
        guides: Sequence[Any],
        states: Sequence[Any],
        open_slots: Sequence[int],
        remaining: int,
        device: Any,
    ) -> torch.Tensor:
        """Which tokens each row admits next (row i by guides[i]): no leaf that disagrees
        with the truth table, and no token after which the holes left need more than the
        `remaining` tokens (the next one at least `Guide.least_tokens`, each other one at
        least one).  # (rows, vocab) bool"""
        change = self.arity().tolist()
        ok = torch.zeros(len(states), len(self.vocab), dtype=torch.bool)
        for row, (guide, state, slots) in enumerate(zip(guides, states, open_slots, strict=True)):
            if slots == 0:
                ok[row] = True  # finished: nothing to decide
                continue
            banned = set(guide.banned(state))
            for token in range(len(SPECIALS), len(self.vocab)):
                after = slots + change[token]
                if token in banned or after > remaining:
                    continue
                if after == 0:
                    ok[row, token] = True
                    continue
                following = guide.advance(state, self.vocab[token])
                ok[row, token] = guide.least_tokens(following) + after - 1 <= remaining
        return ok.to(device)

    @torch.no_grad()
    def renamed_greedy(
        self, weights: dict[str, torch.Tensor], truth: int | None = None
    ) -> list[tuple[str, ...]]:
        """Test-time renaming: the greedy program of the network under each input renaming
        the model trained with, renamed back, in renaming order (identity first), repeats
        kept (a guided row that found nothing: an empty program). One batched greedy pass;
        with the network's `truth` table, guided (each renamed network by its renamed table)."""
        from .programs import renamed

        batch, perms, truths = self._renamed_views(weights, truth)
        return [
            tuple(renamed(tokens, np.argsort(sigma).tolist(), self.space)) if tokens else ()
            for tokens, sigma in zip(self.greedy(batch, truths or None), perms, strict=True)
        ]

    def _renamed_views(
        self, weights: dict[str, torch.Tensor], truth: int | None
    ) -> tuple[dict[str, torch.Tensor], list[tuple[int, ...]], list[int]]:
        """One network (batch of 1) under each renaming the model trained with: the batch of
        renamed weights, the renamings, and the renamed truth tables (empty without a truth
        table or outside boolean spaces)."""
        from .programs import input_permutations

        perms = input_permutations(self.space)
        batch = {name: t.expand(len(perms), *t.shape[1:]) for name, t in weights.items()}
        inverse = torch.tensor(np.array([np.argsort(sigma) for sigma in perms]))
        batch["w1"] = weights["w1"][0][inverse]  # (n_perms, in, width)
        truths = []
        if truth is not None and self.space.kind == "boolean":
            truths = [renamed_table(self.space, truth, sigma) for sigma in perms]
        return batch, perms, truths

    @torch.no_grad()
    def propose_renamed(
        self, weights: dict[str, torch.Tensor], truth: int | None = None
    ) -> list[tuple[str, ...]]:
        """The distinct programs of `renamed_greedy`, in renaming order."""
        return [t for t in dict.fromkeys(self.renamed_greedy(weights, truth)) if t]

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


def renamed_table(space: Space, truth: int, sigma: Sequence[int]) -> int:
    """The truth table of the network whose first-layer rows are the original's taken in the
    order argsort(sigma) (as `renamed_greedy` builds it): at point x it says what the
    original says at x[sigma]."""
    points = space.points  # (n_points, k)
    weights = 1 << np.arange(space.k - 1, -1, -1)
    source = (points[:, list(sigma)] @ weights).tolist()  # (n_points,)
    return sum(1 << i for i, j in enumerate(source) if (truth >> j) & 1)


def as_tensors(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """One network's numpy weights as a batch of one."""
    return {name: torch.tensor(np.asarray(weights[name], np.float32))[None] for name in LAYERS}
