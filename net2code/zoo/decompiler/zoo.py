"""A network zoo for the learned decompiler: many small networks trained to imitate sampled
programs, stored as a dataset (safetensors shards and a JSON-lines manifest).

Every network is a 3-layer ReLU MLP `in -> width -> width -> out`:

* boolean space: the k input bits in, one logit out (readout `bit`);
* modular space: one-hot(a) and one-hot(b) concatenated in (2p), p logits out (`argmax`); as
  a net2code network it takes the tokens and one-hots them itself (`as_module`).

All networks of a shard train at once as one batched model (a leading network dimension,
`torch.baddbmm`), full batch on the whole domain, Adam (or SGD). A network is kept as `matched`
only when it reproduces its program on every point; the others are recorded with their
accuracy (against the program). `flips` teaches each network a few wrong labels on purpose:
imperfect networks, for robustness tests.

Shards are built in parallel through joblib on all local cores; under
`joblib.parallel_config(backend="dask")` (or "ray") the same call runs on a cluster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from .programs import SampledProgram, Space, from_prefix

MANIFEST = "manifest.jsonl"
LAYERS = ("w1", "b1", "w2", "b2", "w3", "b3")


@dataclass(frozen=True)
class ZooConfig:
    """What to train: each program imitated by `seeds` networks at each width."""

    widths: tuple[int, ...] = (16, 32)
    seeds: tuple[int, ...] = (0, 1)
    steps: int = 600
    lr: float = 1e-2
    shard_size: int = 256  # networks per shard (one batched model each)
    optimizer: str = "adam"  # or "sgd": momentum 0.9 at 10 x lr (robustness tests)
    flips: int = 0  # points whose label each network is taught wrong (imperfect networks)

    def __post_init__(self) -> None:
        if not self.widths or min(self.widths) < 1:
            raise ConfigError(f"zoo widths {self.widths} must be positive")
        if self.steps < 1 or self.shard_size < 1:
            raise ConfigError(f"zoo steps={self.steps}, shard_size={self.shard_size} must be >= 1")
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"zoo optimizer {self.optimizer!r} is not adam or sgd")
        if self.flips < 0:
            raise ConfigError(f"zoo flips={self.flips} must be >= 0")


def io_sizes(space: Space) -> tuple[int, int]:
    """(inputs, outputs) of the space's MLPs."""
    return (space.k, 1) if space.kind == "boolean" else (2 * space.p, space.p)


def features(space: Space) -> np.ndarray:
    """The MLP's input on every point of the domain.  # (n_points, inputs) float32"""
    points = space.points
    if space.kind == "boolean":
        return points.astype(np.float32)
    eye = np.eye(space.p, dtype=np.float32)
    return np.concatenate([eye[points[:, 0]], eye[points[:, 1]]], axis=1)


def train_shard(
    space: Space,
    programs: Sequence[SampledProgram],
    width: int,
    seeds: Sequence[int],
    config: ZooConfig,
    *,
    threads: int = 1,
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Train every (program, seed) pair at `width` as one batched model. Returns the stacked
    weights and one manifest row per network."""
    import torch

    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    jobs = [(program, seed) for program in programs for seed in seeds]
    n = len(jobs)
    n_in, n_out = io_sizes(space)
    x = torch.tensor(features(space))  # (points, n_in)
    tables = np.stack([space.table(from_prefix(program.prefix, space)) for program, _ in jobs])
    taught = tables.copy()  # (n, points): the program's table, with `flips` labels changed
    flipped: list[list[int]] = []
    for i, (program, seed) in enumerate(jobs):
        rng = np.random.default_rng([seed, 7919, int(program.key, 16) % 2**32])
        at = rng.choice(tables.shape[1], size=min(config.flips, tables.shape[1]), replace=False)
        shift = 1 if space.kind == "boolean" else rng.integers(1, space.p, size=len(at))
        taught[i, at] = (taught[i, at] + shift) % (2 if space.kind == "boolean" else space.p)
        flipped.append(sorted(int(a) for a in at))
    targets = torch.tensor(taught)  # (n, points)
    params = []
    for a, b in ((n_in, width), (width, width), (width, n_out)):
        weights = np.empty((n, a, b), dtype=np.float32)
        for i, (_, seed) in enumerate(jobs):  # each network's init from its own seed
            rng = np.random.default_rng([seed, a, b])
            weights[i] = rng.uniform(-1, 1, size=(a, b)) / np.sqrt(a)
        params += [
            torch.nn.Parameter(torch.tensor(weights)),
            torch.nn.Parameter(torch.zeros(n, 1, b)),
        ]
    if config.optimizer == "adam":
        optimizer: Any = torch.optim.Adam(params, lr=config.lr)
    else:
        optimizer = torch.optim.SGD(params, lr=10 * config.lr, momentum=0.9)
    start = time.perf_counter()
    for _ in range(config.steps):
        logits = _forward(params, x)  # (n, points, n_out)
        if space.kind == "boolean":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits[..., 0], targets.float()
            )
        else:
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, n_out), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        logits = _forward(params, x)
        predicted = (logits[..., 0] > 0).long() if space.kind == "boolean" else logits.argmax(-1)
        accuracy = (predicted == torch.tensor(tables)).float().mean(dim=1).numpy()
    arrays = {
        name: p.detach().numpy().reshape(n, *p.shape[1:])
        for name, p in zip(LAYERS, params, strict=True)
    }
    arrays = {k: (v[:, 0] if k.startswith("b") else v) for k, v in arrays.items()}  # b: (n, out)
    rows = [
        {
            "program": " ".join(program.prefix),
            "size": program.size,
            "key": program.key,
            "split": program.split,
            "space": space.spec,
            "architecture": f"mlp {n_in}-{width}-{width}-{n_out} relu",
            "width": width,
            "seed": seed,
            "steps": config.steps,
            "optimizer": config.optimizer,
            "flipped": flipped[i],
            "accuracy": float(accuracy[i]),
            "matched": bool(accuracy[i] == 1.0),
            "seconds_per_shard": round(seconds, 3),
        }
        for i, (program, seed) in enumerate(jobs)
    ]
    return arrays, rows


def _forward(params: list[Any], x: Any) -> Any:
    import torch

    h = x.expand(params[0].shape[0], -1, -1)  # (n, points, n_in)
    for i in range(3):
        h = torch.baddbmm(params[2 * i + 1], h, params[2 * i])
        if i < 2:
            h = torch.relu(h)
    return h


def build_zoo(
    space: Space,
    programs: Sequence[SampledProgram],
    folder: Path | str,
    config: ZooConfig | None = None,
    *,
    jobs: int = -1,
    progress: bool = False,
    sampler: dict[str, Any] | None = None,
) -> Path:
    """Train the zoo into `folder`: shards/NNNNN.safetensors and manifest.jsonl, where each
    row names its shard and index. Shards run in parallel under joblib. `sampler` (how the
    programs were drawn) is recorded in zoo.json, so the programs can be drawn again, and so
    is the programs' form (training renames programs in it)."""
    from joblib import Parallel, delayed
    from safetensors.numpy import save_file

    from ..._util import atomic_write_text, staged_dir

    config = config or ZooConfig()
    if not programs:
        raise ConfigError("the zoo needs at least one program")
    forms = sorted({program.form for program in programs})
    if len(forms) != 1:
        raise ConfigError(f"the programs mix forms {forms}; a zoo holds one form")
    per_shard = max(1, config.shard_size // len(config.seeds))
    tasks = [
        (width, programs[i : i + per_shard])
        for width in config.widths
        for i in range(0, len(programs), per_shard)
    ]
    results = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(train_shard)(space, chunk, width, config.seeds, config) for width, chunk in tasks
    )
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(tasks), desc="zoo shards", unit="shard")
    folder = Path(folder)
    with staged_dir(folder) as tmp:
        (tmp / "shards").mkdir()
        lines = []
        for number, (arrays, rows) in enumerate(results):
            name = f"shards/{number:05d}.safetensors"
            save_file(arrays, str(tmp / name), metadata={"space": space.spec})
            for index, row in enumerate(rows):
                lines.append(json.dumps({**row, "shard": name, "index": index}))
        atomic_write_text(tmp / MANIFEST, "\n".join(lines) + "\n")
        summary = {
            "space": asdict(space),
            "config": asdict(config),
            "sampler": sampler,
            "form": forms[0],
            "networks": len(lines),
        }
        atomic_write_text(tmp / "zoo.json", json.dumps(summary, indent=1) + "\n")
    return folder


def zoo_recipe(folder: Path | str) -> dict[str, Any]:
    """How a zoo was made (zoo.json without its counts), so its programs can be drawn again."""
    path = Path(folder) / "zoo.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def zoo_form(folders: Sequence[Path | str]) -> str:
    """The one program form the zoos are written in (a zoo made before forms: shrunk)."""
    forms = {zoo_recipe(folder).get("form", "shrunk") for folder in folders}
    if len(forms) != 1:
        raise ConfigError(f"the zoos mix program forms {sorted(forms)}; train on one form")
    return forms.pop()


def read_manifest(folder: Path | str) -> list[dict[str, Any]]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{path} is missing: build the zoo first")
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def load_network(folder: Path | str, row: dict[str, Any]) -> dict[str, np.ndarray]:
    """One network's weights from its shard: w1 (in, width), b1 (width), ..."""
    from safetensors.numpy import load_file

    arrays = load_file(str(Path(folder) / row["shard"]))
    return {name: arrays[name][row["index"]] for name in LAYERS}


def as_module(space: Space, weights: dict[str, np.ndarray]) -> Any:
    """The network as a torch module net2code can extract: bits in for the boolean space,
    tokens (a, b) in for the modular one."""
    import torch
    from torch import nn

    if space.kind == "boolean":  # a plain Sequential: white-box strategies see its layers
        linear = [nn.Linear(*weights[f"w{i}"].shape) for i in (1, 2, 3)]
        with torch.no_grad():
            for i, layer in enumerate(linear, 1):
                layer.weight.copy_(torch.tensor(weights[f"w{i}"]).T)
                layer.bias.copy_(torch.tensor(weights[f"b{i}"]))
        return nn.Sequential(linear[0], nn.ReLU(), linear[1], nn.ReLU(), linear[2])

    class ZooMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            shapes = [weights["w1"].shape, weights["w2"].shape, weights["w3"].shape]
            linear = [nn.Linear(a, b) for a, b in shapes]
            self.layers = nn.ModuleList(linear)
            with torch.no_grad():
                for i, layer in enumerate(linear):
                    layer.weight.copy_(torch.tensor(weights[f"w{i + 1}"]).T)
                    layer.bias.copy_(torch.tensor(weights[f"b{i + 1}"]))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if space.kind == "modular":  # tokens (batch, 2) -> one-hot (batch, 2p)
                x = torch.cat(
                    [nn.functional.one_hot(x[:, i].long(), space.p) for i in range(2)], dim=1
                ).float()
            for i, layer in enumerate(self.layers):
                x = layer(x.float())
                if i < 2:
                    x = torch.relu(x)
            return x

    return ZooMLP()
