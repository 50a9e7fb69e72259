"""Probe: run the network on the domain and record what it does."""

from __future__ import annotations

from .domain import Domain
from .extract.base import Behaviour
from .network import Network

BOX_SAMPLES = 20_000


def probe(
    network: Network, domain: Domain, *, samples: int = BOX_SAMPLES, seed: int = 0
) -> Behaviour:
    """The network's outputs, under the domain's readout, on every point of a finite domain
    or on `samples` uniform points of a real box."""
    network.check_domain(domain)
    readout = domain.readout or network.default_readout(domain)
    if domain.is_finite:
        points = domain.enumerate()  # (n, n_inputs) int64
    else:
        points = domain.sample(samples, seed=seed)  # (n, n_inputs) float64
    outputs = network.read(points, readout)
    return Behaviour(
        inputs=points,
        outputs=outputs,
        names=domain.names,
        n_classes=network.n_outputs if readout == "argmax" else None,
        domain=domain.with_readout(readout),
        readout=readout,
        exhaustive=domain.is_finite,
        layers=network.layers,
    )
