"""Checkpoints: `model.safetensors` (weights) plus `config.json` (architecture, task, training).

Never pickles. Loading validates the config and that every weight has the shape the config implies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ._util import _umask_mode, atomic_write_json
from .errors import CheckpointError, ConfigError
from .models import ModelConfig, build_model

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "net2code-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    model: nn.Module
    config: ModelConfig
    meta: dict[str, Any]  # task, training and provenance records; extractors do not read it
    path: Path


def save_checkpoint(
    folder: Path, model: nn.Module, config: ModelConfig, meta: dict[str, Any]
) -> None:
    """Write weights and config into `folder` (each file atomically)."""
    import os
    import tempfile

    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"format": FORMAT})
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, folder / WEIGHTS_FILE)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    atomic_write_json(folder / CONFIG_FILE, {"format": FORMAT, "model": config.to_dict(), **meta})


def load_checkpoint(path: Path | str) -> Checkpoint:
    """Load a run folder (or its `model.safetensors`) written by `save_checkpoint`."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    weights, config_file = folder / WEIGHTS_FILE, folder / CONFIG_FILE
    if not folder.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    for needed in (weights, config_file):
        if not needed.is_file():
            raise CheckpointError(f"checkpoint {str(folder)!r} has no {needed.name}")
    try:
        raw = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{config_file} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), dict):
        raise CheckpointError(f"{config_file} has no 'model' section")
    try:
        config = ModelConfig.from_dict(raw["model"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{config_file}: {exc}") from None

    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights} is not a readable safetensors file: {exc}") from None
    model = build_model(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{weights} does not match {config_file} ({config.kind}): "
            f"missing {missing[:3]}, unexpected {extra[:3]}"
        )
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{weights}: weight {name!r} has shape {tuple(state[name].shape)} but "
                f"{config_file} implies {tuple(tensor.shape)}"
            )
    model.load_state_dict(state)
    model.eval()
    meta = {k: v for k, v in raw.items() if k not in ("model", "format")}
    return Checkpoint(model=model, config=config, meta=meta, path=folder)


def load_weights_into(model: nn.Module, weights: Path, config_file: Path, what: str) -> None:
    """Read `weights` (safetensors) into `model` after checking every name and shape against
    what `config_file` describes; one CheckpointError otherwise. Leaves the model in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights} is not a readable safetensors file: {exc}") from None
    expected = model.state_dict()
    if set(state) != set(expected) or any(
        tuple(state[k].shape) != tuple(v.shape) for k, v in expected.items()
    ):
        raise CheckpointError(f"{weights} does not match the {what} described in {config_file}")
    model.load_state_dict(state)
    model.eval()
