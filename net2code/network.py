"""Networks as net2code sees them.

`Network` is what every loader returns: a description, where it came from and, for networks
net2code can open up, the torch module. Each family of networks adds its own signature; the
family registry (`net2code.families`) claims a network by that type. `FeedForwardNetwork`, a
function from points to raw outputs, is the feed-forward family's; wherever it is a chain of
affine layers and ReLUs, `layers` exposes that chain for the white-box strategies.

torch is imported only when a module is wrapped or run, so `import net2code` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .domain import Domain, IntRange
from .errors import ConfigError, DomainError

if TYPE_CHECKING:
    from torch import nn

NAMES = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, repr=False)
class AffineLayer:
    """y = weight @ x + bias, then ReLU if `relu`."""

    weight: np.ndarray  # (out, in) float64
    bias: np.ndarray  # (out,) float64
    relu: bool

    def __repr__(self) -> str:
        out, inputs = self.weight.shape
        return f"AffineLayer({inputs} -> {out}{', relu' if self.relu else ''})"


@dataclass(repr=False, kw_only=True)
class Network:
    """A loaded network. `run` is the run folder's config.json (architecture, training record);
    strategies never read it."""

    description: str
    source: str | None = None
    n_parameters: int = 0
    module: Any = None  # the torch module, when there is one (white-box analyses)
    architecture: str | None = None  # net2code's architecture kind, for its own networks
    run: dict[str, Any] = field(default_factory=dict)

    def signature(self) -> dict[str, Any]:
        """The input/output contract, for result.json."""
        return {}

    def __repr__(self) -> str:
        where = f", source={self.source!r}" if self.source else ""
        return (
            f"{type(self).__name__}({self.description!r}{where}, parameters={self.n_parameters:,})"
        )


@dataclass(repr=False, kw_only=True)
class FeedForwardNetwork(Network):
    """`forward` maps points (n, n_inputs) to raw outputs (n, n_outputs).

    A token network (`vocab` set) takes integer tokens 0..vocab-1; any other takes reals.
    """

    forward: Callable[[np.ndarray], np.ndarray]
    n_inputs: int
    n_outputs: int
    vocab: int | None = None
    layers: tuple[AffineLayer, ...] | None = None

    @property
    def n_classes(self) -> int:
        return self.n_outputs

    def signature(self) -> dict[str, Any]:
        return {
            "inputs": self.n_inputs,
            "outputs": self.n_outputs,
            "vocab": self.vocab,
            "white_box_layers": None
            if self.layers is None
            else [list(layer.weight.shape) for layer in self.layers],
        }

    @property
    def natural_domain(self) -> Domain:
        if self.vocab is None:
            raise DomainError(
                f"the network ({self.description}) takes {self.n_inputs} real inputs and has no "
                'natural domain: pass one, e.g. --domain "x1:bit x2:bit"'
            )
        if self.n_inputs > len(NAMES):
            raise DomainError(f"{self.n_inputs} inputs exceed the {len(NAMES)} default names")
        return Domain(tuple(IntRange(NAMES[i], 0, self.vocab - 1) for i in range(self.n_inputs)))

    def default_readout(self, domain: Domain) -> str:
        if self.n_outputs > 1:
            return "argmax"
        return "bit" if domain.is_finite else "real"

    def check_domain(self, domain: Domain) -> None:
        """Fail fast, naming both sides, when the domain cannot be fed to this network."""
        if len(domain.inputs) != self.n_inputs:
            raise DomainError(
                f"domain {domain.spec()!r} has {len(domain.inputs)} inputs but the network "
                f"({self.description}) takes {self.n_inputs}"
            )
        if self.vocab is not None:
            for r in domain.inputs:
                if not isinstance(r, IntRange) or r.lo < 0 or r.hi >= self.vocab:
                    raise DomainError(
                        f"domain input {r.spec()!r} leaves the network's token range "
                        f"0..{self.vocab - 1}"
                    )
        readout = domain.readout
        if readout == "argmax" and self.n_outputs < 2:
            raise DomainError(
                f"readout argmax needs several outputs; the network has {self.n_outputs}"
            )
        if readout in ("bit", "round", "real") and self.n_outputs != 1:
            raise DomainError(
                f"readout {readout} needs one output; the network has {self.n_outputs} (use argmax)"
            )

    def raw(self, points: np.ndarray, batch_size: int = 65_536) -> np.ndarray:
        """Raw outputs.  # (n, n_inputs) -> (n, n_outputs) float64"""
        chunks = [
            np.asarray(self.forward(points[i : i + batch_size]), dtype=np.float64).reshape(
                -1, self.n_outputs
            )
            for i in range(0, len(points), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.n_outputs))

    def read(self, points: np.ndarray, readout: str) -> np.ndarray:
        """The values a program must reproduce.  # (n, n_inputs) -> (n,)"""
        raw = self.raw(points)
        if readout == "argmax":
            return raw.argmax(-1).astype(np.int64)
        if readout == "bit":
            return (raw[:, 0] > 0).astype(np.int64)
        if readout == "round":
            return np.rint(raw[:, 0]).astype(np.int64)
        return raw[:, 0]

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Outputs under the default readout (argmax, or bit for one output)."""
        return self.read(points, "argmax" if self.n_outputs > 1 else "bit")


def torch_forward(module: nn.Module, integer: bool) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy-in, NumPy-out forward pass of `module` in eval mode, without gradients."""
    import torch

    module.eval()
    dtype = torch.int64 if integer else torch.float32

    def forward(points: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.as_tensor(np.ascontiguousarray(points), dtype=dtype)).numpy()

    return forward


def sequential_layers(module: nn.Module) -> tuple[AffineLayer, ...] | None:
    """The affine/ReLU chain of an nn.Sequential of Linear and ReLU modules, else None."""
    from torch import nn

    if not isinstance(module, nn.Sequential):
        return None
    ops: list[tuple[str, object]] = []
    for layer in module:
        if isinstance(layer, nn.Linear):
            bias = (
                np.zeros(layer.out_features)
                if layer.bias is None
                else layer.bias.detach().double().numpy()
            )
            ops.append(("linear", (layer.weight.detach().double().numpy(), bias)))
        elif isinstance(layer, nn.ReLU):
            ops.append(("relu", None))
        elif not isinstance(layer, nn.Flatten | nn.Identity):
            ops.append(("other", None))
    return layers_from_ops(ops)


def layers_from_ops(ops: Sequence[tuple[str, object]]) -> tuple[AffineLayer, ...] | None:
    """Fold a list of ("linear", (W, b)) / ("relu", None) ops into AffineLayers.

    Anything else, or a ReLU not preceded by an affine map, means no white-box form.
    """
    layers: list[AffineLayer] = []
    pending: tuple[np.ndarray, np.ndarray] | None = None
    for kind, payload in ops:
        if kind == "linear":
            weight, bias = (np.asarray(t, np.float64) for t in payload)  # type: ignore[attr-defined]
            if pending is not None:  # two affine maps in a row compose into one
                weight, bias = weight @ pending[0], weight @ pending[1] + bias
            pending = (weight, bias)
        elif kind == "relu":
            if pending is None:
                return None
            layers.append(AffineLayer(pending[0], pending[1], relu=True))
            pending = None
        else:
            return None
    if pending is None:
        return None
    layers.append(AffineLayer(pending[0], pending[1], relu=False))
    return tuple(layers)


def from_module(
    module: nn.Module,
    n_inputs: int | None = None,
    n_classes: int | None = None,
    vocab: int | None = None,
    description: str = "",
    source: str | None = None,
    *,
    sequence: bool | None = None,
    inputs_per_step: int | None = None,
    max_length: int | None = None,
) -> Network:
    """Wrap an in-memory torch module.

    Feed-forward (give `n_inputs` and `n_classes`): (batch, n_inputs) -> (batch, n_classes);
    with `vocab` it takes integer tokens 0..vocab-1, else reals.

    Sequence (`sequence=True`, the default when neither size is given): a causal module from
    (batch, length) tokens, or (batch, length, inputs_per_step) values, to per-step outputs
    (batch, length, k); nn.RNN/GRU/LSTM-based modules, causal transformers, Hugging Face models.
    `max_length`: the longest input it takes (its position embeddings).
    """
    if sequence is None:
        sequence = n_inputs is None and n_classes is None
    if sequence:
        from .sequence import from_sequence_module

        return from_sequence_module(
            module,
            vocab=vocab,
            inputs_per_step=inputs_per_step,
            max_length=max_length,
            description=description,
            source=source,
        )
    for name, value in (("n_inputs", n_inputs), ("n_classes", n_classes)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"from_module: {name}={value!r} must be a positive integer")
    if vocab is not None and (not isinstance(vocab, int) or vocab < 1):
        raise ConfigError(f"from_module: vocab={vocab!r} must be a positive integer or None")
    assert n_inputs is not None and n_classes is not None
    return FeedForwardNetwork(
        forward=torch_forward(module, integer=vocab is not None),
        n_inputs=n_inputs,
        n_outputs=n_classes,
        description=description or type(module).__name__,
        vocab=vocab,
        source=source,
        layers=sequential_layers(module) if vocab is None else None,
        n_parameters=sum(p.numel() for p in module.parameters()),
        module=module,
    )


def load(path: object, config: object = None) -> Network:
    """Load a network from a file or run folder; see `net2code.loaders`."""
    from .loaders import load as _load

    return _load(path, config)  # type: ignore[arg-type]
