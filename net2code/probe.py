"""Probe: run the network on every point of the domain and record what it does."""

from __future__ import annotations

import numpy as np

from .domain import Domain
from .extract.base import Behaviour
from .network import Network


def probe(network: Network, domain: Domain) -> Behaviour:
    """The network's argmax output on every point of `domain`, in the domain's order."""
    network.check_domain(domain)
    points = domain.enumerate()  # (n, n_inputs)
    outputs = network(points)  # (n,)
    return Behaviour(
        inputs=points,
        outputs=outputs.astype(np.int64),
        names=domain.names,
        n_classes=network.n_classes,
    )
