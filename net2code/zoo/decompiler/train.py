"""Training the meta-model on a zoo: teacher-forced next-token cross-entropy on the prefix
tokens of each network's program, over the zoo's matched networks of the train split.

Renaming a boolean network's inputs (permuting the rows of its first layer) renames the
variables of its function: each example is shown under one of the k! renamings, with the renamed
function written in the zoo's form (canonical again, for a canonical zoo), which multiplies the
distinct (function, program) pairs by up to 24 at no cost in networks.

Networks of one width share a batch (no padding of the weights). Batches are cut from a pool
of `pool` batches sorted by program length, so the decoder spends few steps on padding.
Training stops at `steps` or `minutes`, whichever comes first, and records what it did (seed,
versions, device, zoo, losses, exact match on the validation split) in the saved model's
metadata.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import ConfigError
from .model import BOS, PAD, MetaModel, ModelConfig, vocabulary
from .programs import Space, input_permutations, renamed
from .zoo import LAYERS, read_manifest, zoo_form, zoo_recipe


@dataclass(frozen=True)
class TrainConfig:
    """How long and how hard to train."""

    steps: int = 7_000  # at most; the schedule ends at steps or minutes, whichever comes first
    minutes: float = 30.0  # wall-clock cap; the shipped model keeps to 30 minutes on 2 cores
    batch: int = 128
    lr: float = 1e-3
    warmup: int = 300
    seed: int = 0
    threads: int = 2
    validate_every: int = 2000
    pool: int = 16  # batches drawn at once and sorted by program length (1: no bucketing)
    device: str = "cpu"  # "cuda" for a bigger run on a GPU; the shipped model is CPU-trained

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.minutes <= 0 or self.pool < 1 or self.lr <= 0:
            raise ConfigError(
                f"steps={self.steps}, batch={self.batch}, minutes={self.minutes}, "
                f"pool={self.pool}, lr={self.lr} must be positive"
            )
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise ConfigError(f"device {self.device!r} must be cpu or cuda[:N]")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device {self.device!r} was asked for, but torch sees no CUDA GPU")


@dataclass
class Split:
    """The networks of one split, grouped by width: weights and token targets."""

    weights: dict[int, dict[str, torch.Tensor]]  # width -> name -> (n, ...)
    targets: dict[int, torch.Tensor]  # width -> (n, max_length) token ids, PAD after the end
    rows: dict[int, list[dict[str, Any]]]
    variants: dict[int, torch.Tensor] | None = None  # the targets under input renamings

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.targets.values())


def load_split(
    folders: Sequence[Path | str],
    space: Space,
    split: str | None,
    max_length: int,
    *,
    matched_only: bool = True,
) -> Split:
    """Every network of `split` (None: all) in the zoo folders whose program fits
    `max_length` tokens; only matched ones unless `matched_only` is False."""
    from safetensors.numpy import load_file

    index = {token: i for i, token in enumerate(vocabulary(space))}
    by_width: dict[int, dict[str, list[np.ndarray]]] = {}
    targets: dict[int, list[list[int]]] = {}
    rows: dict[int, list[dict[str, Any]]] = {}
    for folder in folders:
        manifest = read_manifest(folder)
        shards: dict[str, list[dict[str, Any]]] = {}
        for row in manifest:
            if row["space"] != space.spec:
                raise ConfigError(f"zoo {folder} holds {row['space']}, not {space.spec}")
            tokens = row["program"].split()
            wanted = (split is None or row["split"] == split) and len(tokens) <= max_length
            if wanted and (row["matched"] or not matched_only):
                shards.setdefault(row["shard"], []).append(row)
        for shard, chosen in shards.items():
            arrays = load_file(str(Path(folder) / shard))
            at = [row["index"] for row in chosen]
            width = int(chosen[0]["width"])
            group = by_width.setdefault(width, {name: [] for name in LAYERS})
            for name in LAYERS:
                group[name].append(arrays[name][at])
            for row in chosen:
                ids = [index[token] for token in row["program"].split()]
                targets.setdefault(width, []).append(ids + [PAD] * (max_length - len(ids)))
                rows.setdefault(width, []).append({**row, "zoo": str(folder)})
    return Split(
        {
            w: {name: torch.tensor(np.concatenate(parts)) for name, parts in group.items()}
            for w, group in by_width.items()
        },
        {w: torch.tensor(t) for w, t in targets.items()},
        rows,
    )


def augment(
    split: Split,
    space: Space,
    perms: Sequence[tuple[int, ...]],
    max_length: int,
    form: str = "shrunk",
) -> None:
    """Add `split.variants`: every program's tokens under each input renaming, in `form`;
    all padding where the renamed program is longer than `max_length` (a canonical program's
    length depends on the order of the inputs), and training leaves those out.
    # width -> (n_perms, n, max_length) uint8"""
    index = {token: i for i, token in enumerate(vocabulary(space))}
    cache: dict[str, list[list[int]]] = {}
    split.variants = {}
    for width, rows in split.rows.items():
        out = np.full((len(perms), len(rows), max_length), PAD, dtype=np.uint8)
        for n, row in enumerate(rows):
            program = row["program"]
            if program not in cache:
                cache[program] = [
                    [index[t] for t in renamed(program.split(), sigma, space, form)]
                    for sigma in perms
                ]
            for r, ids in enumerate(cache[program]):
                if len(ids) <= max_length:
                    out[r, n, : len(ids)] = ids
        split.variants[width] = torch.tensor(out)


def bucketed(
    lengths: dict[int, np.ndarray],
    widths: Sequence[int],
    share: np.ndarray,
    batch: int,
    pool: int,
    rng: np.random.Generator,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """`pool` batches of one width, in random order: (width, networks, renamings). Each
    example is a random network under a random renaming (one that fits); the pool is sorted
    by program length before it is cut into batches, so a batch spends few decoder steps on
    padding (the decoder runs to the longest program in its batch).
    # lengths: width -> (n_perms, n) tokens, 0 where the renamed program does not fit"""
    width = widths[int(rng.choice(len(widths), p=share / share.sum()))]
    n_perms, n = lengths[width].shape
    at = rng.integers(0, n, batch * pool)
    r = rng.integers(0, n_perms, batch * pool)
    size = lengths[width][r, at]
    keep = size > 0
    at, r, size = at[keep], r[keep], size[keep]
    order = np.argsort(size, kind="stable")
    batches = [(width, at[c], r[c]) for c in np.array_split(order, pool) if len(c)]
    rng.shuffle(batches)
    return batches


def batch_of(split: Split, width: int, at: torch.Tensor) -> dict[str, torch.Tensor]:
    return {name: tensor[at] for name, tensor in split.weights[width].items()}


def loss_of(model: MetaModel, weights: dict[str, torch.Tensor], target: torch.Tensor) -> Any:
    """Mean next-token cross-entropy.  # target (batch, max_length)"""
    longest = int((target != PAD).sum(1).max())
    target = target[:, :longest]  # no step is spent on padding only
    memory = model.encode(weights)
    inputs = torch.cat([torch.full((len(target), 1), BOS, device=target.device), target[:, :-1]], 1)
    logits = model.decode(memory, inputs)  # (batch, max_length, vocab)
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD
    )


def exact_rate(model: MetaModel, split: Split, limit: int = 512) -> float:
    """Share of networks whose greedy program is token-for-token theirs, over up to `limit`
    networks per width spread evenly over the split (which is sorted by program size)."""
    hits = total = 0
    for width, target in split.targets.items():
        at = torch.arange(0, len(target), max(1, len(target) // limit), device=target.device)
        at = at[:limit]
        found = model.greedy(batch_of(split, width, at))
        rows = [split.rows[width][i] for i in at.tolist()]
        for row, tokens in zip(rows, found, strict=True):
            hits += " ".join(tokens) == row["program"]
            total += 1
    return hits / max(total, 1)


def train(
    folders: Sequence[Path | str],
    space: Space,
    model_config: ModelConfig | None = None,
    config: TrainConfig | None = None,
    *,
    progress: bool = False,
    log: Any = None,
) -> tuple[MetaModel, dict[str, Any]]:
    """Train a meta-model on the zoo folders' train split. Returns the model and its
    training record (stored in the model file by `MetaModel.save`)."""
    from ..._util import provenance

    config = config or TrainConfig()
    model_config = model_config or ModelConfig()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    torch.set_flush_denormal(True)
    data = load_split(folders, space, "train", model_config.max_length)
    valid = load_split(folders, space, "validation", model_config.max_length)
    if data.size == 0:
        raise ConfigError(f"the zoo {', '.join(map(str, folders))} has no matched train networks")
    form = zoo_form(folders)
    perms = input_permutations(space, seed=config.seed)
    augment(data, space, perms, model_config.max_length, form)
    assert data.variants is not None
    inverse = torch.tensor(np.array([np.argsort(sigma) for sigma in perms]), device=config.device)
    lengths = {w: (t != PAD).sum(-1).numpy() for w, t in data.variants.items()}  # (n_perms, n)
    model = MetaModel(space, model_config).to(config.device)
    for split in (data, valid):
        split.weights = {
            w: {name: t.to(config.device) for name, t in group.items()}
            for w, group in split.weights.items()
        }
        split.targets = {w: t.to(config.device) for w, t in split.targets.items()}
    data.variants = {w: t.to(config.device) for w, t in data.variants.items()}
    optimizer = torch.optim.AdamW(  # fused: one kernel for all parameters (1.0 ms, not 4.2)
        model.parameters(), lr=config.lr, weight_decay=0.01, fused=True
    )

    start = time.perf_counter()

    def rate(step: int) -> float:
        """Warm-up, then a cosine to zero at whichever limit (steps or minutes) comes first."""
        if step < config.warmup:
            return (step + 1) / config.warmup
        done = max(step / config.steps, (time.perf_counter() - start) / (60 * config.minutes))
        return 0.5 * (1 + math.cos(math.pi * min(1.0, done)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    widths = sorted(data.targets)
    share = np.array([len(data.targets[w]) for w in widths], dtype=float)
    rng = np.random.default_rng(config.seed)
    queue: list[tuple[int, np.ndarray, np.ndarray]] = []
    history: list[dict[str, float]] = []
    running = first = float("nan")
    step = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=config.steps, desc="meta-model", unit="step")
    for step in range(config.steps):
        if time.perf_counter() - start > 60 * config.minutes:
            break
        model.train()
        if not queue:
            queue = bucketed(lengths, widths, share, config.batch, config.pool, rng)
        width, at_np, r_np = queue.pop()
        at = torch.tensor(at_np, device=config.device)
        r = torch.tensor(r_np, device=config.device)
        weights = batch_of(data, width, at)
        rows = torch.arange(len(at), device=config.device)[:, None]
        weights["w1"] = weights["w1"][rows, inverse[r]]  # input k is the original's sigma(k)
        loss = loss_of(model, weights, data.variants[width][r, at].long())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        value = loss.item()
        first = value if step == 0 else first
        running = value if math.isnan(running) else 0.98 * running + 0.02 * value
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{running:.3f}")
        if (step + 1) % config.validate_every == 0 and valid.size:
            point = {
                "step": step + 1,
                "minutes": round((time.perf_counter() - start) / 60, 2),
                "train_loss": round(running, 4),
                "validation_exact": round(exact_rate(model, valid, 256), 4),
            }
            history.append(point)
            if log is not None:
                log(point)
    if bar is not None:
        bar.close()
    minutes = (time.perf_counter() - start) / 60
    record = {
        **provenance(config.seed, config.device),
        "space": space.spec,
        "zoo": [str(folder) for folder in folders],
        "zoo_recipes": [zoo_recipe(folder) for folder in folders],
        "model_config": asdict(model.config),
        "train_networks": data.size,
        "validation_networks": valid.size,
        "widths": widths,
        "input_renamings": len(perms),
        "form": form,
        "train_config": asdict(config),
        "steps_run": step + 1,
        "minutes": round(minutes, 2),
        "initial_train_loss": round(first, 4),
        "final_train_loss": round(running, 4),
        "validation_exact": round(exact_rate(model, valid), 4) if valid.size else None,
        "history": history,
    }
    return model.cpu(), record
