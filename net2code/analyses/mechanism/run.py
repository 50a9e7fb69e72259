"""The Clock/Pizza analysis as a plug-in: when the verified program is modular addition on a
net2code token network, read how the network does it and emit the faithful program
(`mechanism.py`), with figures for the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...emit import load_function
from .analysis import Mechanism, analyse, input_rows, logit_tensor
from .faithful import FaithfulProgram, emit_faithful, fit_faithful

if TYPE_CHECKING:
    from ...network import FeedForwardNetwork, Network
    from ...program import Program

MECHANISM_FILE = "mechanism.py"


@dataclass(repr=False)
class MechanismResult:
    mechanism: Mechanism
    faithful: FaithfulProgram
    source: str
    scalar_agree: int
    scalar_checked: int
    figures: dict[str, bytes] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.mechanism.kind

    @property
    def files(self) -> dict[str, str]:
        return {MECHANISM_FILE: self.source}

    @property
    def agreement(self) -> float:
        return self.scalar_agree / self.scalar_checked if self.scalar_checked else 0.0

    def summary(self) -> str:
        m = self.mechanism
        return f"mechanism: {m.kind} (key frequencies {m.frequencies}; {'; '.join(m.reasons)})"

    def __repr__(self) -> str:
        return f"MechanismResult({self.mechanism.kind}, frequencies {self.mechanism.frequencies})"

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
            "per_circle_fve": {str(k): v for k, v in m.per_circle_fve.items()},
            "per_circle_fve_pca": {str(k): v for k, v in m.per_circle_fve_pca.items()},
            "circles": m.circles,
            "neuron_frequencies": {str(k): v for k, v in m.neuron_frequencies.items()},
            "neuron_census": [
                {**layer, "neurons": {str(k): v for k, v in layer["neurons"].items()}}
                for layer in m.neuron_census
            ],
            "embedding_spectrum": m.embedding_spectrum,
        }


IMPERFECT_FLOOR = 0.5  # below this share of pairs the network is not doing addition at all


def addition_agreement(network: FeedForwardNetwork) -> float:
    """The share of the p*p pairs on which the network's own answer is (a + b) mod p."""
    p = network.vocab or 0
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    points = np.stack([a.reshape(-1), b.reshape(-1)], axis=1)
    answers = network.read(points, "argmax")
    return float((np.asarray(answers).reshape(-1) == (points[:, 0] + points[:, 1]) % p).mean())


def is_addition(program: Program | None, p: int) -> bool:
    """Whether the program is exactly (a + b) mod p on Z_p x Z_p."""
    if program is None or p < 2 or not callable(program):
        return False
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    points = np.stack([a.reshape(-1), b.reshape(-1)], axis=1)
    try:
        return bool((program(points) == (points[:, 0] + points[:, 1]) % p).all())
    except (ArithmeticError, ValueError):
        return False


def applies_to(network: Network, program: Program | None = None) -> bool:
    """A two-token net2code network on Z_p whose answers are (a + b) mod p on at least half of
    the pairs. The extracted program need not be exactly that: an imperfect network is
    analysed too, and marked so."""
    from ...network import FeedForwardNetwork

    if not isinstance(network, FeedForwardNetwork):
        return False
    module = network.module
    if module is None or network.vocab is None:
        return False
    if not hasattr(module, "forward_embedded"):
        return False
    if not (hasattr(module, "embed") or hasattr(module, "input_rows")):
        return False
    p = network.vocab
    if network.n_inputs != 2 or network.n_outputs != p or p < 3:
        return False
    try:
        return addition_agreement(network) >= IMPERFECT_FLOOR
    except (ArithmeticError, ValueError, RuntimeError):
        return False


def run_mechanism(network: Network, header: list[str], figures: bool = True) -> MechanismResult:
    module: Any = network.module
    p = network.vocab  # type: ignore[attr-defined]
    mechanism = analyse(module, p)
    logits = logit_tensor(module, p)
    addition = addition_agreement(network)  # type: ignore[arg-type]
    mechanism.metrics["addition_agreement"] = addition
    if addition < 1.0:
        mechanism.reasons.insert(
            0,
            f"an analysis of an imperfect network: its answers are (a + b) mod {p} on "
            f"{100 * addition:.2f}% of the pairs",
        )
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

        embedding = input_rows(module, p)[0]
        pictures = {
            "spectrum": spectrum_figure(mechanism),
            "logits": logit_pattern_figure(logits),
            "circles": circles_figure(embedding, mechanism),
        }
    return MechanismResult(mechanism, faithful, source, agree, p * p, pictures)


FIGURE_TITLES = {
    "spectrum": "The embedding's Fourier spectrum",
    "logits": "The correct-class logit over (s, d)",
    "circles": "Circles: principal-component planes of the embedding, labelled by token",
}


class ClockPizza:
    """Clock or Pizza (Nanda et al. 2023; Zhong et al. 2023), read from the weights."""

    name = "mechanism"
    needs_verified = False  # an imperfect addition network is analysed too, and marked so

    def applies(self, network: Network, family: str, program: Program | None) -> bool:
        return family == "feed-forward" and applies_to(network, program)

    def run(self, network: Network, header: list[str], *, figures: bool = True) -> MechanismResult:
        return run_mechanism(network, header, figures=figures)

    def report(self, data: dict[str, Any]) -> list[str]:
        lines = [
            f"## Mechanism: {data['class']}",
            "",
            f"Key frequencies: {data['frequencies']}.",
            "",
        ]
        lines += [f"- {reason}" for reason in data["reasons"]]
        lines += ["", "| metric | value |", "|---|---|"]
        lines += [f"| {k.replace('_', ' ')} | {v:.4g} |" for k, v in data["metrics"].items()]
        census = data.get("neuron_census") or []
        if len(census) > 1:
            lines += ["", "| layer | neurons per frequency (top 5) | one frequency explains |"]
            lines += ["|---|---|---|"]
            lines += [
                f"| {layer['layer']} | "
                + ", ".join(f"{k}: {n}" for k, n in list(layer["neurons"].items())[:5])
                + f" | {100 * layer['one_frequency']:.0f}% |"
                for layer in census
            ]
        circles = data.get("per_circle_fve") or {}
        if circles:
            lines += [
                "",
                "Logit FVE per circle, as the paper computes it: the embedding keeps only the "
                "circle (its projection on the circle's frequency), the network runs on every "
                "pair, and the z-scored logits are compared with each z-scored template (1 - "
                "Var(L - T) / Var(L), which is 2 x correlation - 1: -1 when the template is "
                "unrelated). Accompanying: the template of a circle that doubles another's "
                "angles. The paper's PCA-pair version is in result.json (per_circle_fve_pca).",
                "",
                "| frequency | share of the embedding | clock | pizza | accompanying |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {k} | {100 * v['variance']:.1f}% | {v['clock']:.2f} | "
                f"{v['pizza']:.2f} | {v['accompanying']:.2f} |"
                for k, v in circles.items()
            ]
        lines += [
            "",
            f"The faithful program `{MECHANISM_FILE}` agrees with the network on "
            f"{data['n_agree']:,} / {data['n_points']:,} pairs. Steps:",
            "",
            "| step | frequencies | forms | agreement | where it fails |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {h['step']} | {h['frequencies']} | {', '.join(h['forms'])} | "
            f"{100 * h['agreement']:.2f}% | {h['where']} |"
            for h in data["steps"]
        ]
        return [*lines, ""]
