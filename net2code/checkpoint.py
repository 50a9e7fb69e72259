"""Run folders: `model.safetensors` (weights) plus `config.json` (architecture, training record),
and the one registry that rebuilds any of net2code's architectures from its config.

Never pickles. Loading validates the config, then that every weight has the name and shape the
config implies, then hands the module to the family that presents it (`Architecture.wrap`).
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._util import atomic_write_json, umask_mode
from .errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from torch import nn

    from .network import Network

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "net2code-checkpoint/1"


def _resolve(target: str) -> Any:
    """'package.module:name' -> the object (imported on first use)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Architecture:
    """How to rebuild one of net2code's architectures: its config class (with `from_dict`),
    the builder of the module, and the family function that presents the loaded module as a
    Network. Targets are 'module:name' strings, imported only when a run of this kind loads."""

    config: str
    build: str
    wrap: str

    def load_config(self, raw: dict[str, Any]) -> Any:
        return _resolve(self.config).from_dict(raw)

    def build_module(self, config: Any) -> nn.Module:
        return _resolve(self.build)(config)

    def network(self, module: nn.Module, config: Any, run: RunFolder) -> Network:
        return _resolve(self.wrap)(module, config, run)


_MODULAR = Architecture(
    config="net2code.zoo.modular.models:ModelConfig",
    build="net2code.zoo.modular.models:build_model",
    wrap="net2code.families.feedforward:from_run",
)
_DTNET = Architecture(
    config="net2code.zoo.thinking.model:DTNetConfig",
    build="net2code.zoo.thinking.model:DTNet",
    wrap="net2code.families.iterated:from_run",
)
ARCHITECTURES: dict[str, Architecture] = {
    "transformer": _MODULAR,
    "mlp": _MODULAR,
    "mlp-concat": _MODULAR,
    "rnn": Architecture(
        config="net2code.zoo.sequence.model:RNNConfig",
        build="net2code.zoo.sequence.model:SequenceRNN",
        wrap="net2code.families.recurrent:from_run",
    ),
    "bilinear": Architecture(
        config="net2code.zoo.matmul.model:BilinearConfig",
        build="net2code.zoo.matmul.model:BilinearModule",
        wrap="net2code.families.bilinear:from_run",
    ),
    "dt_net": _DTNET,
    "ff_net": _DTNET,
}


@dataclass(frozen=True)
class RunFolder:
    """A run folder and its config.json (the architecture under 'model', the rest is the
    training record)."""

    path: Path
    config: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.config["model"]["kind"])

    @property
    def training(self) -> dict[str, Any]:
        value = self.config.get("training")
        return value if isinstance(value, dict) else {}


def save_checkpoint(folder: Path, model: nn.Module, config: Any, meta: dict[str, Any]) -> None:
    """Write weights and config into `folder` (each file atomically)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"format": FORMAT})
        os.chmod(tmp, umask_mode())
        os.replace(tmp, folder / WEIGHTS_FILE)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    atomic_write_json(folder / CONFIG_FILE, {"format": FORMAT, "model": config.to_dict(), **meta})


def read_run(path: Path | str) -> RunFolder:
    """The run folder holding `path` (a folder, its model.safetensors or its config.json), with
    its config.json read and checked to name an architecture."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    if not folder.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    config_file = folder / CONFIG_FILE
    if not config_file.is_file():
        raise CheckpointError(f"checkpoint {str(folder)!r} has no {CONFIG_FILE}")
    try:
        raw = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{config_file} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), dict):
        raise CheckpointError(f"{config_file} has no 'model' section")
    kind = raw["model"].get("kind")
    if not isinstance(kind, str) or kind not in ARCHITECTURES:
        raise CheckpointError(
            f"{config_file}: model kind {kind!r} is unknown; known: {', '.join(ARCHITECTURES)}"
        )
    return RunFolder(folder, raw)


def load_run(path: Path | str) -> Network:
    """Rebuild the network of a run folder, whatever its architecture."""
    run = read_run(path)
    architecture = ARCHITECTURES[run.kind]
    config_file, weights = run.path / CONFIG_FILE, run.path / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"checkpoint {str(run.path)!r} has no {WEIGHTS_FILE}")
    try:
        config = architecture.load_config(run.config["model"])
        module = architecture.build_module(config)
    except (ConfigError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{config_file}: {exc}") from None
    load_weights(module, weights, config_file, run.kind)
    return architecture.network(module, config, run)


def load_weights(module: nn.Module, weights: Path, config_file: Path, kind: str) -> None:
    """Read `weights` (safetensors) into `module` after checking every name and shape against
    what `config_file` describes; one CheckpointError otherwise. Leaves the module in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"{weights} is not a readable safetensors file: {first}") from None
    upgrade = getattr(module, "upgrade_state_dict", None)
    if callable(upgrade):  # names of an older layout of the same architecture
        state = upgrade(state)
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{weights} does not match {config_file} ({kind}): "
            f"missing {missing[:3]}, unexpected {extra[:3]}"
        )
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{weights}: weight {name!r} has shape {tuple(state[name].shape)} but "
                f"{config_file} implies {tuple(tensor.shape)}"
            )
        if state[name].dtype != tensor.dtype:
            raise CheckpointError(
                f"{weights}: weight {name!r} has dtype {state[name].dtype}; "
                f"{config_file} implies {tensor.dtype}"
            )
    module.load_state_dict(state)
    module.eval()
