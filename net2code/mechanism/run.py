"""The mechanism step of the pipeline: when the extracted program is modular addition on a
net2code token network, read how the network does it and emit the faithful program."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..emit import load_function
from ..network import Network
from ..program import Program
from .analysis import Mechanism, analyse, logit_tensor
from .faithful import FaithfulProgram, emit_faithful, fit_faithful

MECHANISM_FILE = "mechanism.py"


@dataclass
class MechanismResult:
    mechanism: Mechanism
    faithful: FaithfulProgram
    source: str
    scalar_agree: int
    scalar_checked: int
    figures: dict[str, bytes] = field(default_factory=dict)

    @property
    def agreement(self) -> float:
        return self.scalar_agree / self.scalar_checked if self.scalar_checked else 0.0

    def to_dict(self) -> dict[str, Any]:
        m = self.mechanism
        return {
            "class": m.kind,
            "frequencies": m.frequencies,
            "metrics": m.metrics,
            "agreement": self.agreement,
            "n_agree": self.scalar_agree,
            "n_points": self.scalar_checked,
            "reasons": m.reasons,
            "program": MECHANISM_FILE,
            "terms": self.faithful.to_dict()["terms"],
            "steps": self.faithful.history,
            "per_circle_fve": m.per_circle_fve,
            "circles": m.circles,
            "neuron_frequencies": m.neuron_frequencies,
            "embedding_spectrum": m.embedding_spectrum,
        }


def applies(network: Network, program: Program | None) -> bool:
    """A two-token net2code network on Z_p whose extracted program is (a + b) mod p."""
    module = network.module
    if module is None or program is None or network.vocab is None:
        return False
    if not (hasattr(module, "embed") and hasattr(module, "forward_embedded")):
        return False
    p = network.vocab
    if network.n_inputs != 2 or network.n_outputs != p or p < 3:
        return False
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    points = np.stack([a.reshape(-1), b.reshape(-1)], axis=1)
    try:
        return bool((program(points) == (points[:, 0] + points[:, 1]) % p).all())
    except (ArithmeticError, ValueError):
        return False


def run_mechanism(network: Network, header: list[str], figures: bool = True) -> MechanismResult:
    assert network.module is not None and network.vocab is not None
    module: Any = network.module
    p = network.vocab
    mechanism = analyse(module, p)
    logits = logit_tensor(module, p)
    faithful = fit_faithful(mechanism, logits)
    lines = [
        *header,
        f"Mechanism: {mechanism.kind}; key frequencies {mechanism.frequencies}.",
        f"Agreement of this program's argmax with the network: {faithful.n_agree:,}/"
        f"{faithful.n_points:,} pairs.",
    ]
    source = emit_faithful(faithful, lines)
    program = load_function(source)
    answers = logits.argmax(-1)
    agree = sum(
        int(program(a, b) == answers[a, b]) for a in range(p) for b in range(p)
    )  # the emitted file itself, on every pair
    pictures: dict[str, bytes] = {}
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # figures are optional: pip install 'net2code[report]'
        figures = False
    if figures:
        from .figures import circles_figure, logit_pattern_figure, spectrum_figure

        embedding = module.embed.weight.detach().double().numpy()[:p]
        pictures = {
            "spectrum": spectrum_figure(mechanism),
            "logits": logit_pattern_figure(logits),
            "circles": circles_figure(embedding, mechanism),
        }
    return MechanismResult(mechanism, faithful, source, agree, p * p, pictures)
