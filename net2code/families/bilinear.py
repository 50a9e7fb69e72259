"""The bilinear family: networks c = W((U a) * (V b)) that multiply matrices.

Domain: every pair of matrices of the stated shape, `matmul(n,m,p)` (default: the shape the
factors imply). Observation: the factors themselves. Strategy `brent`: round the
coefficients, repair by exact rational solves, and keep the scheme. Checks: the Brent
equations in exact arithmetic (the proof, the defining check), the emitted files against
A @ B on random integer matrices, and the program against the network on random matrices
within a float tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bilinear import BilinearNetwork, MatmulDomain
from ..checks import Check
from ..emit import NUMPY_FILE, PROGRAM_FILE, load_function
from ..errors import ConfigError
from . import Options, Workload

if TYPE_CHECKING:
    from ..checkpoint import RunFolder
    from ..network import Network
    from ..strategies.base import Candidate

PROOF = "Brent equations, exact"
SAMPLES = 500  # random integer matrix pairs each file is run on
TOLERANCE = 1e-2  # program vs network, relative to the size of the network's terms


def from_run(module: Any, config: Any, run: RunFolder) -> BilinearNetwork:
    """A net2code matmul run (`net2code train matmul`) as a bilinear network."""
    from ..bilinear import from_factors

    u, v, w = (getattr(module, name).detach().double().numpy() for name in ("U", "V", "W"))
    n, m, p = config.shape
    return from_factors(
        u, v, w, tuple(config.shape), source=str(run.path), module=module,
        architecture="bilinear", run=run.config,
        description=f"bilinear network, rank {config.rank}, ({n}x{m})({m}x{p})",
    )  # fmt: skip


def _pairs(shape: tuple[int, int, int], count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random integer matrices in -9..9.  # (count, n, m), (count, m, p) int64"""
    n, m, p = shape
    rng = np.random.default_rng(seed)
    return rng.integers(-9, 10, (count, n, m)), rng.integers(-9, 10, (count, m, p))


class Bilinear:
    name = "bilinear"
    options = frozenset({"domain"})
    report_options: frozenset[str] = frozenset()

    def claims(self, network: Network) -> bool:
        return isinstance(network, BilinearNetwork)

    def domain(self, network: Network, options: Options) -> MatmulDomain:
        assert isinstance(network, BilinearNetwork)
        domain = options.domain
        if domain is None:
            return MatmulDomain(network.shape)
        if isinstance(domain, str):
            domain = MatmulDomain.parse(domain)
        if not isinstance(domain, MatmulDomain):
            raise ConfigError(f"a bilinear network's domain is matmul(n,m,p), not {domain!r}")
        if domain.shape != network.shape:
            n, m, p = network.shape
            raise ConfigError(
                f"the network is not a matrix-multiplication scheme of the stated shape "
                f"{domain.spec()}: its factors are {network.u.shape[1]} (U), {network.v.shape[1]} "
                f"(V) and {network.w.shape[0]} (W) wide, which fit matmul({n},{m},{p})"
            )
        return domain

    def strategies(self, domain: MatmulDomain) -> tuple[str, ...]:
        return ("brent",)

    def observe(
        self, network: Network, domain: MatmulDomain, options: Options, progress: bool
    ) -> BilinearNetwork:
        assert isinstance(network, BilinearNetwork)
        return network  # the factors are the observation: a scheme is read off the weights

    def screen(self, observation: BilinearNetwork, candidate: Candidate) -> float:
        from ..zoo.matmul.program import SchemeProgram

        program = candidate.program
        if not isinstance(program, SchemeProgram):
            return 0.0
        n, m, p = program.scheme.shape
        failing = len(program.scheme.failing_equations())
        total = n * m * m * p * n * p
        return (total - failing) / total

    def checks(
        self,
        network: Network,
        domain: MatmulDomain,
        files: dict[str, str],
        options: Options,
        *,
        evidence: dict[str, Any],
        quick: bool = False,
        progress: bool = False,
    ) -> list[Check]:
        from ..zoo.matmul.scheme import Scheme

        assert isinstance(network, BilinearNetwork)
        checks: list[Check] = []
        scheme_data = evidence.get("scheme")
        if scheme_data is None and PROGRAM_FILE in files:
            scheme_data = _scheme_from_source(files)
        if scheme_data is not None:
            scheme = Scheme.from_dict(scheme_data)
            failing = scheme.failing_equations()
            total = domain.equations
            checks.append(
                Check(
                    name="Brent equations",
                    against="truth",
                    scope="proved",
                    n=total,
                    n_agree=total - len(failing),
                    unit="Brent equations",
                    description=(
                        f"{PROOF}: sum_r U[r,i] V[r,j] W[k,r] = T[i,j,k] for every (i, j, k), "
                        "in rational arithmetic, so the scheme computes A @ B for all matrices"
                    ),
                    defining=True,
                    proof=PROOF if not failing else None,
                    disagreements=tuple({"i": i, "j": j, "k": k} for i, j, k in failing[:20]),
                )
            )
        a, b = _pairs(domain.shape, SAMPLES, seed=1 if not quick else 2)
        truth = a @ b  # (count, n, p) exact integers
        if PROGRAM_FILE in files:
            program = load_function(files[PROGRAM_FILE])
            outputs = np.array([program(x.tolist(), y.tolist()) for x, y in zip(a, b, strict=True)])
            exact = (outputs == truth).all(axis=(1, 2))
            checks.append(
                Check(
                    name="program.py",
                    against="truth",
                    scope="sampled",
                    n=SAMPLES,
                    n_agree=int(exact.sum()),
                    unit="matrix pairs",
                    description=f"{PROGRAM_FILE} against A @ B, exactly, on {SAMPLES} random "
                    "integer matrix pairs (entries -9..9, seed 1)",
                )
            )
            net = network.forward(a.astype(np.float64), b.astype(np.float64))
            scale = 1 + network.term_scale(a.astype(np.float64), b.astype(np.float64))
            close = np.abs(net - outputs).max(axis=(1, 2)) <= TOLERANCE * scale
            checks.append(
                Check(
                    name="network",
                    against="network",
                    scope="sampled",
                    n=SAMPLES,
                    n_agree=int(close.sum()),
                    unit="matrix pairs",
                    description=f"{PROGRAM_FILE} against the network's float output on the "
                    f"same pairs, within {TOLERANCE:g} x (1 + the largest sum of the network's "
                    "|W| |U a| |V b| terms)",
                    details={"max_abs_difference": float(np.abs(net - outputs).max())},
                )
            )
        if NUMPY_FILE in files and not quick:
            blocked = load_function(files[NUMPY_FILE])
            rng = np.random.default_rng(3)
            sizes = [(1, 1, 1), (7, 5, 3), (130, 129, 131), (256, 256, 256)]
            agree = 0
            for rows, inner, cols in sizes:
                x = rng.integers(-9, 10, (rows, inner))
                y = rng.integers(-9, 10, (inner, cols))
                agree += int(np.array_equal(blocked(x, y), x @ y))
            listed = ", ".join(f"({r}x{i})({i}x{c})" for r, i, c in sizes)
            checks.append(
                Check(
                    name="program_numpy.py",
                    against="truth",
                    scope="sampled",
                    n=len(sizes),
                    n_agree=agree,
                    unit="matrix pairs",
                    description=f"{NUMPY_FILE} (recursive blocks) against numpy.matmul, exactly, "
                    f"on integer matrices of sizes {listed}",
                )
            )
        return checks

    def section(
        self, network: Network, observation: Any, candidate: Candidate, options: Options
    ) -> dict[str, Any]:
        assert isinstance(network, BilinearNetwork)
        stats = candidate.stats
        return {
            "shape": list(network.shape),
            "rank": network.rank,
            "scheme": stats.get("scheme"),
            "failing_equations": stats.get("failing_equations"),
            "repairs": stats.get("repairs", []),
            "max_rounding_distance": stats.get("max_rounding_distance"),
        }

    def report(self, result: dict[str, Any]) -> list[str]:
        section = result.get("bilinear") or {}
        scheme = section.get("scheme")
        if not scheme:
            return []
        n, m, p = section["shape"]
        lines = [
            "## The scheme",
            "",
            f"Rank {scheme['rank']} for ({n}x{m})({m}x{p}) (naive: {n * m * p}); coefficients "
            f"{', '.join(scheme['coefficients'])}; {scheme['products']} products, "
            f"{scheme['additions']} additions, {scheme['scalings']} scalings.",
        ]
        if section.get("failing_equations"):
            lines.append(
                f"**Not exact**: {section['failing_equations']} Brent equations fail after "
                "rounding and repair."
            )
        return [*lines, ""]

    def figures(
        self, network: Network, result: dict[str, Any], folder: Path, **options: Any
    ) -> tuple[dict[str, bytes], list[str]]:
        return {}, []

    def workload(self, network: Network, result: dict[str, Any]) -> Workload:
        n, m, p = result["bilinear"]["shape"]
        a, b = _pairs((n, m, p), 1000, seed=4)
        return Workload(
            unit="matrix pairs",
            call="columns",
            items=[[x.tolist(), y.tolist()] for x, y in zip(a, b, strict=True)],
        )

    def runner(self, network: Network, result: dict[str, Any]) -> Callable[[Any], Any]:
        assert isinstance(network, BilinearNetwork)

        def run(batch: Any) -> Any:
            a = np.array([item[0] for item in batch], dtype=np.float64)
            b = np.array([item[1] for item in batch], dtype=np.float64)
            return network.forward(a, b)

        return run


def _scheme_from_source(files: dict[str, str]) -> dict[str, Any] | None:
    """`net2code verify` re-reads the scheme from program_numpy.py's tables."""
    source = files.get(NUMPY_FILE)
    if source is None:
        return None
    namespace: dict[str, Any] = {}
    exec(compile(source, NUMPY_FILE, "exec"), namespace)  # noqa: S102 - net2code's own output
    shape = namespace.get("SHAPE")
    if shape is None:
        return None
    return {
        "shape": list(shape),
        "U": [[str(x) for x in row] for row in namespace["U"]],
        "V": [[str(x) for x in row] for row in namespace["V"]],
        "W": [[str(x) for x in row] for row in namespace["W"]],
    }
