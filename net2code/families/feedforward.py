"""The feed-forward family: a network maps points to outputs, on a finite domain or a real box.

* Domain: `net2code.domain.Domain` (integer ranges, bits, or real intervals, and a readout); a
  token network's natural domain is every tuple of tokens.
* Observe: the network on every point of a finite domain, or on 20,000 uniform points of a box.
* Strategies: boolean, dsl, tree on a finite domain; tree then approx-tree on a box; lookup
  when asked for.
* Verified by: every point of a finite domain (exhaustive), or the per-region proof of a box
  (proved); program.py itself is also run point by point, and on a box 100,000 fresh points
  are compared too, so a counterexample anywhere withholds `verified`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks import Check, compare_points, compare_scalar, error_figures
from ..domain import Domain
from ..emit import NUMPY_FILE, PROGRAM_FILE, load_function, render
from ..errors import ConfigError
from ..network import FeedForwardNetwork, Network, torch_forward
from ..strategies.base import Behaviour, Candidate
from . import Options, Workload

if TYPE_CHECKING:
    from ..checkpoint import RunFolder

BOX_SAMPLES = 20_000  # points a box is observed on
BOX_CHECK_POINTS = 100_000  # fresh points a box program is compared on
DEFAULT_FINITE = ("boolean", "learned", "dsl", "tree")
DEFAULT_BOX = ("symbolic", "tree", "approx-tree")


def from_run(module: Any, config: Any, run: RunFolder) -> FeedForwardNetwork:
    """A net2code modular-arithmetic run (transformer or MLP) as a token network."""
    detail = f"d_model {config.d_model}, d_mlp {config.d_mlp}"
    if config.kind == "transformer":
        detail += f", {config.n_heads} heads, attention rate {config.attention_rate:g}"
    extras = [
        f"{config.n_layers} layers" if config.n_layers != 1 else "",
        config.activation if config.activation != "relu" else "",
        "LayerNorm" if config.layer_norm else "",
        "separate vocabularies" if config.diff_vocab else "",
        '"=" token' if config.eqn_sign else "",
    ]
    detail += "".join(f", {extra}" for extra in extras if extra)
    return FeedForwardNetwork(
        forward=torch_forward(module, integer=True),
        n_inputs=config.n_inputs,
        n_outputs=config.n_out,
        vocab=config.vocab,
        description=f"{config.kind} ({detail})",
        source=str(run.path),
        n_parameters=sum(p.numel() for p in module.parameters()),
        module=module,
        architecture=config.kind,
        run=run.config,
    )


def probe(
    network: FeedForwardNetwork, domain: Domain, *, samples: int = BOX_SAMPLES, seed: int = 0
) -> Behaviour:
    """The network's outputs, under the domain's readout, on every point of a finite domain
    or on `samples` uniform points of a real box."""
    readout = domain.readout or network.default_readout(domain)
    # (n, n_inputs): every point (int64) of a finite domain, or uniform samples (float64) of a box
    points = domain.enumerate() if domain.is_finite else domain.sample(samples, seed=seed)
    holdout = None
    if not domain.is_finite:  # fresh points the search compares candidates on
        fresh = domain.sample(BOX_CHECK_POINTS, seed=seed + 1)
        holdout = Behaviour(fresh, network.read(fresh, readout), domain.names, readout=readout)
    return Behaviour(
        inputs=points,
        outputs=network.read(points, readout),
        names=domain.names,
        n_classes=network.n_outputs if readout == "argmax" else None,
        domain=domain.with_readout(readout),
        readout=readout,
        exhaustive=domain.is_finite,
        layers=network.layers,
        holdout=holdout,
    )


def _prove_bound(
    network: FeedForwardNetwork, domain: Domain, source: str, reference: Any, timeout: float
) -> Check | None:
    """The exact max |network - program| over the box, when the network is a ReLU chain and
    program.py returns one piecewise-affine formula: read back from the file itself, split
    along both's kinks, maximised per piece (`net2code.regions`). None when either is not so,
    or the regions run out of time."""
    from .. import regions
    from ..checks import tolerance
    from ..program import from_python

    expr = from_python(source)
    if network.layers is None or expr is None:
        return None
    lows, highs = domain.bounds()
    try:
        bound = regions.max_abs_difference(
            network.layers, expr, domain.names, lows, highs, timeout=timeout,
            tolerance=tolerance(reference),
        )  # fmt: skip
    except (regions.NotPiecewiseAffine, regions.RegionTimeout):
        return None
    low, high = float(reference.min()), float(reference.max())
    error = bound.max_abs_error
    where = ", ".join(f"{n}={v:.4g}" for n, v in zip(domain.names, bound.where, strict=True))
    return Check(
        name="network, bound",
        against="network",
        scope="proved",
        n=bound.pieces,
        n_agree=bound.pieces_within_tolerance,
        unit="pieces",
        description=f"max |network - program| over the whole box {domain.spec()} is {error:.4g} "
        f"({100 * error / max(high - low, 1e-300):.2f}% of the output range); a piece agrees when "
        "it is within float tolerance",
        defining=True,
        proof=(
            f"{PROGRAM_FILE} read back as a formula; {bound.network_regions} activation regions "
            f"({bound.method}) split along its kinks into {bound.pieces} pieces on which network "
            f"and program are both affine, each maximised exactly at its vertices or by LP: max "
            f"|network - program| = {error:.6g}, reached at ({where})"
        ),
        details={
            "max_abs_error": error,
            "where": dict(zip(domain.names, bound.where, strict=True)),
            "output_range": [low, high],
        },
    )


class FeedForward:
    name = "feed-forward"
    options = frozenset({"domain"})
    report_options: frozenset[str] = frozenset()

    def claims(self, network: Network) -> bool:
        return isinstance(network, FeedForwardNetwork)

    def domain(self, network: Network, options: Options) -> Domain:
        assert isinstance(network, FeedForwardNetwork)
        domain = options.domain
        if domain is None:
            domain = network.natural_domain
        elif isinstance(domain, str):
            domain = Domain.parse(domain)
        domain.check_size()
        network.check_domain(domain)
        return domain.with_readout(domain.readout or network.default_readout(domain))

    def strategies(self, domain: Domain) -> tuple[str, ...]:
        return DEFAULT_FINITE if domain.is_finite else DEFAULT_BOX

    def observe(
        self, network: Network, domain: Domain, options: Options, progress: bool
    ) -> Behaviour:
        assert isinstance(network, FeedForwardNetwork)
        return probe(network, domain)

    def screen(self, observation: Behaviour, candidate: Candidate) -> float:
        """Agreement on every point of a finite domain, or on the box's fresh check points."""
        if candidate.program is None:
            return 0.0
        points = observation.holdout or observation
        code = candidate.program.numpy()
        assert code is not None
        function = load_function(render(code, [], ""))
        n_agree, _, _ = compare_points(function, points.inputs, points.outputs, points.names)
        return n_agree / max(1, len(points.outputs))

    def checks(
        self,
        network: Network,
        domain: Domain,
        files: dict[str, str],
        options: Options,
        *,
        evidence: dict[str, Any],
        quick: bool = False,
        progress: bool = False,
    ) -> list[Check]:
        assert isinstance(network, FeedForwardNetwork)
        readout = domain.readout or network.default_readout(domain)
        if domain.is_finite:
            points = domain.enumerate()  # (n, n_inputs)
            where = f"every point of {domain.spec()}"
            scope = "exhaustive"
        else:
            seed = 1 if not quick else 2
            points = domain.sample(BOX_CHECK_POINTS, seed=seed)
            where = f"{len(points):,} uniform random points of the box (seed {seed})"
            scope = "sampled"
        reference = network.read(points, readout)
        checks: list[Check] = []
        proof = evidence.get("proof")
        bound = None
        if not domain.is_finite and readout == "real" and PROGRAM_FILE in files:
            bound = _prove_bound(network, domain, files[PROGRAM_FILE], reference, options.timeout)
        if bound is not None:
            checks.append(bound)
        elif not domain.is_finite and proof:  # the exact tree's per-region proof
            regions = int(evidence.get("regions") or 0)
            checks.append(
                Check(
                    name="network, per region",
                    against="network",
                    scope="proved",
                    n=regions,
                    n_agree=regions,
                    unit="activation regions",
                    description=f"the whole box {domain.spec()}, split into activation regions",
                    defining=True,
                    proof=proof,
                    details={"max_abs_error": 0.0} if readout == "real" else {},
                )
            )
        if NUMPY_FILE in files:
            vectorised = load_function(files[NUMPY_FILE])
            n_agree, listed, failure = compare_points(vectorised, points, reference, domain.names)
            details: dict[str, Any] = {}
            if readout == "real" and failure is None:
                columns = [points[:, i] for i in range(points.shape[1])]
                values = np.broadcast_to(np.asarray(vectorised(*columns)), reference.shape)
                details = error_figures(values, reference)
                worst = details.pop("worst_index")
                details["where"] = dict(zip(domain.names, points[worst].tolist(), strict=True))
            checks.append(
                Check(
                    name="network",
                    against="network",
                    scope=scope,
                    n=len(reference),
                    n_agree=n_agree,
                    description=f"{NUMPY_FILE} on {where}" + (f"; {failure}" if failure else ""),
                    defining=domain.is_finite,
                    disagreements=listed,
                    details=details,
                )
            )
        if PROGRAM_FILE in files:
            alone = NUMPY_FILE not in files  # then program.py is the file that decides
            checked, agreeing, every = compare_scalar(
                load_function(files[PROGRAM_FILE]),
                points,
                reference,
                limit=len(points) if alone else 200_000,
            )
            checks.append(
                Check(
                    name="program.py",
                    against="network",
                    scope="exhaustive" if every and domain.is_finite else "sampled",
                    n=checked,
                    n_agree=agreeing,
                    description=f"{PROGRAM_FILE} run point by point on "
                    + (where if every else f"an even sample of {checked:,} of {where}"),
                    defining=alone and domain.is_finite,
                )
            )
        return checks

    def section(
        self, network: Network, observation: Behaviour, candidate: Candidate, options: Options
    ) -> dict[str, Any]:
        return {
            "readout": observation.readout,
            "observed_points": len(observation.outputs),
            "observed_exhaustively": observation.exhaustive,
        }

    def report(self, result: dict[str, Any]) -> list[str]:
        stats = result["search"]["stats"]
        lines: list[str] = []
        if stats.get("pareto_front"):
            lines += [
                "## Formulas: complexity against error",
                "",
                "The Pareto front of the symbolic search: each formula is the most accurate of "
                "its size, errors sampled on the check points (the chosen one's bound is "
                "above).",
                "",
                "| nodes | max \\|N - P\\| | RMS | formula | sympy |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {f['complexity']} | {f['max_abs_error']:.4g} | {f['rms_error']:.3g} | "
                f"`{f['python']}` | `{f['sympy']}` |"
                for f in stats["pareto_front"]
            ]
            lines.append("")
        if "activation_regions" not in stats:
            return lines
        return lines + [
            "## Activation regions",
            "",
            f"{stats['activation_regions']:,} activation regions reached by the domain, "
            f"{stats['leaves']:,} leaves after merging equal siblings "
            f"({stats.get('lps_solved', 0):,} LPs).",
            "",
        ]

    def figures(
        self, network: Network, result: dict[str, Any], folder: Path, **options: Any
    ) -> tuple[dict[str, bytes], list[str]]:
        return {}, []

    def workload(self, network: Network, result: dict[str, Any]) -> Workload:
        domain = Domain.parse(result["domain"]["spec"])
        if not domain.is_finite:
            raise ConfigError(f"bench needs a finite domain to sweep; {domain.spec()!r} is a box")
        ranges = [[int(r.lo), int(r.hi)] for r in domain.inputs]
        return Workload(unit="points", call="columns", ranges=ranges)

    def runner(self, network: Network, result: dict[str, Any]) -> Callable[[Any], Any]:
        assert isinstance(network, FeedForwardNetwork)
        readout = Domain.parse(result["domain"]["spec"]).readout or "argmax"
        return lambda batch: network.read(batch, readout)
