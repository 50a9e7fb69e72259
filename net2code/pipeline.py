"""The pipeline, in order: load -> domain -> probe -> extract -> verify -> emit (-> bench/report).

`extract()` runs it on an in-memory network; `extract_path()` starts from a file or run folder.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from ._util import Timer, atomic_write_json, provenance, staged_dir
from .domain import Domain
from .emit import emit_numpy, emit_python, load_function
from .extract.base import Behaviour, Candidate, Strategy
from .extract.dsl import DSLSearch
from .network import Network, load
from .probe import probe
from .program import Program
from .verify import Verification, verify, verify_scalar

PROGRAM_FILE = "program.py"
NUMPY_FILE = "program_numpy.py"
RESULT_FILE = "result.json"
REPORT_FILE = "report.md"


def default_strategies() -> list[Strategy]:
    return [DSLSearch()]


@dataclass
class Extraction:
    """Everything one extraction produced. `verified` is true only at 100% agreement."""

    network: Network
    domain: Domain
    candidate: Candidate
    verification: Verification
    scalar_check: dict[str, Any]
    python_source: str | None
    numpy_source: str | None
    timings: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    @property
    def program(self) -> Program | None:
        return self.candidate.program

    @property
    def verified(self) -> bool:
        return self.verification.verified

    @property
    def agreement(self) -> float:
        return self.verification.agreement

    @property
    def strategy(self) -> str:
        return self.candidate.strategy

    def summary_line(self) -> str:
        v = self.verification
        status = "verified" if self.verified else "NOT verified"
        expression = self.program.source if self.program else "(none)"
        return (
            f"{expression}  [{status}: {v.n_agree:,}/{v.n_points:,} points agree "
            f"({100 * v.agreement:.2f}%), strategy {self.strategy}]"
        )

    def to_dict(self) -> dict[str, Any]:
        v = self.verification
        return {
            "verified": self.verified,
            "agreement": v.agreement,
            "domain": self.domain.spec(),
            "domain_size": self.domain.size,
            "strategy": self.strategy,
            "program": PROGRAM_FILE if self.python_source else None,
            "program_numpy": NUMPY_FILE if self.numpy_source else None,
            "expression": self.program.source if self.program else None,
            "program_size": self.program.size if self.program else None,
            "network": {
                "description": self.network.description,
                "source": self.network.source,
                "n_inputs": self.network.n_inputs,
                "n_classes": self.network.n_classes,
                "parameters": sum(p.numel() for p in self.network.module.parameters()),
            },
            "verification": {**v.to_dict(), "scalar_program": self.scalar_check},
            "search": self.candidate.stats,
            "timings": self.timings,
            **provenance(self.seed),
        }

    def save(self, folder: Path | str) -> Path:
        """Write program.py, program_numpy.py, result.json and report.md; all or nothing."""
        from .report import render_markdown

        folder = Path(folder)
        with staged_dir(folder) as tmp:
            if self.python_source:
                (tmp / PROGRAM_FILE).write_text(self.python_source, encoding="utf-8")
            if self.numpy_source:
                (tmp / NUMPY_FILE).write_text(self.numpy_source, encoding="utf-8")
            atomic_write_json(tmp / RESULT_FILE, self.to_dict())
            (tmp / REPORT_FILE).write_text(render_markdown(self), encoding="utf-8")
        return folder


def _header(
    network: Network, domain: Domain, candidate: Candidate, v: Verification | None
) -> list[str]:
    where = f" ({network.source})" if network.source else ""
    lines = [
        f"Extracted by net2code {__version__} from the network {network.description}{where}.",
        f"Strategy: {candidate.strategy}. Domain: {domain.spec()} ({domain.size:,} points).",
    ]
    if v is not None:
        if v.verified:
            lines.append(
                f"Agreement with the network: {v.n_agree:,}/{v.n_points:,} points (100%): "
                "verified on every point of the domain."
            )
        else:
            lines.append(
                f"NOT VERIFIED. Agreement with the network: {v.n_agree:,}/{v.n_points:,} points "
                f"({100 * v.agreement:.2f}%); result.json lists the inputs that disagree."
            )
    return lines


def extract(
    network: Network,
    domain: Domain | str | None = None,
    *,
    strategies: Sequence[Strategy] | None = None,
    timeout: float = 120.0,
    progress: bool = False,
) -> Extraction:
    """Extract the smallest program that reproduces `network` on every point of `domain`.

    The extractor sees only the network and the domain. When no program agrees everywhere,
    the best one found is returned with its exact agreement, and `verified` is False.
    """
    timer = Timer()
    with timer("domain"):
        if domain is None:
            domain = network.natural_domain
        elif isinstance(domain, str):
            domain = Domain.parse(domain)
        domain.check_size()
        network.check_domain(domain)
    with timer("probe"):
        behaviour: Behaviour = probe(network, domain)
    deadline = time.perf_counter() + timeout
    best: Candidate | None = None
    with timer("search"):
        for strategy in strategies or default_strategies():
            left = max(1.0, deadline - time.perf_counter())
            candidate = strategy.search(behaviour, timeout=left, progress=progress)
            if candidate.exact:
                best = candidate
                break
            if best is None or (best.program is None and candidate.program is not None):
                best = candidate
    assert best is not None
    with timer("verify"):
        verification = verify(None, behaviour)
        scalar: dict[str, Any] = {}
        if best.program is not None:
            bare_numpy = load_function(emit_numpy(best.program, []))
            verification = verify(bare_numpy, behaviour)
    with timer("emit"):
        python_source = numpy_source = None
        if best.program is not None:
            header = _header(network, domain, best, verification)
            python_source = emit_python(best.program, header)
            numpy_source = emit_numpy(best.program, header)
    with timer("verify"):
        if python_source is not None and numpy_source is not None:
            # Re-check the final artefacts themselves: the vectorised file on every point,
            # and the plain-Python file point by point.
            verification = verify(load_function(numpy_source), behaviour)
            scalar = verify_scalar(load_function(python_source), behaviour)
    return Extraction(
        network=network,
        domain=domain,
        candidate=best,
        verification=verification,
        scalar_check=scalar,
        python_source=python_source,
        numpy_source=numpy_source,
        timings=timer.timings,
    )


def extract_path(
    path: Path | str,
    domain: Domain | str | None = None,
    **kwargs: Any,
) -> Extraction:
    """Load a network from a run folder or checkpoint file, then `extract` it."""
    return extract(load(path), domain, **kwargs)
