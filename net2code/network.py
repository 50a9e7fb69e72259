"""A trained network as net2code sees it: a function from points to raw outputs.

Wherever the network is a chain of affine layers and ReLUs, `layers` exposes that chain for
the white-box strategies (the exact decision tree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .domain import Domain, IntRange
from .errors import DomainError

NAMES = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class AffineLayer:
    """y = weight @ x + bias, then ReLU if `relu`."""

    weight: np.ndarray  # (out, in) float64
    bias: np.ndarray  # (out,) float64
    relu: bool


@dataclass
class Network:
    """`forward` maps points (n, n_inputs) to raw outputs (n, n_outputs).

    A token network (`vocab` set) takes integer tokens 0..vocab-1; any other takes reals.
    """

    forward: Callable[[np.ndarray], np.ndarray]
    n_inputs: int
    n_outputs: int
    description: str
    vocab: int | None = None
    source: str | None = None
    layers: tuple[AffineLayer, ...] | None = None
    n_parameters: int = 0
    module: nn.Module | None = None  # the torch module, when there is one (white-box analyses)

    @property
    def n_classes(self) -> int:
        return self.n_outputs

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


def _torch_forward(module: nn.Module, dtype: torch.dtype) -> Callable[[np.ndarray], np.ndarray]:
    module.eval()

    def forward(points: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.as_tensor(np.ascontiguousarray(points), dtype=dtype)).numpy()

    return forward


def sequential_layers(module: nn.Module) -> tuple[AffineLayer, ...] | None:
    """The affine/ReLU chain of an nn.Sequential of Linear and ReLU modules, else None."""
    if not isinstance(module, nn.Sequential):
        return None
    ops: list[tuple[str, object]] = []
    for layer in module:
        if isinstance(layer, nn.Linear):
            ops.append(("linear", (layer.weight.detach().double().numpy(), _bias(layer))))
        elif isinstance(layer, nn.ReLU):
            ops.append(("relu", None))
        elif not isinstance(layer, nn.Flatten | nn.Identity):
            ops.append(("other", None))
    return layers_from_ops(ops)


def _bias(linear: nn.Linear) -> np.ndarray:
    if linear.bias is None:
        return np.zeros(linear.out_features)
    return linear.bias.detach().double().numpy()


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
    n_inputs: int,
    n_classes: int,
    vocab: int | None = None,
    description: str = "",
    source: str | None = None,
) -> Network:
    """Wrap an in-memory torch module. With `vocab` it takes integer tokens, else reals."""
    dtype = torch.int64 if vocab is not None else torch.float32
    return Network(
        forward=_torch_forward(module, dtype),
        n_inputs=n_inputs,
        n_outputs=n_classes,
        description=description or type(module).__name__,
        vocab=vocab,
        source=source,
        layers=sequential_layers(module) if vocab is None else None,
        n_parameters=sum(p.numel() for p in module.parameters()),
        module=module,
    )


def load(path: object) -> Network:
    """Load a network from a file or run folder; see `net2code.loaders`."""
    from .loaders import load as _load

    return _load(path)  # type: ignore[arg-type]
