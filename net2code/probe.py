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
    # (n, n_inputs): every point (int64) of a finite domain, or uniform samples (float64) of a box
    points = domain.enumerate() if domain.is_finite else domain.sample(samples, seed=seed)
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
