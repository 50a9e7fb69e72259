"""Surgery: move a modular-addition network's algorithm to another modulus p'.

The program: the faithful program's circle angles 2*pi*k/p become 2*pi*k/p' (the same integer
frequencies k; those with k >= p'/2 are dropped). The network: the embedding and unembedding
are refit as mean + sum_k (cos(w_k x) u_k + sin(w_k x) v_k) over the key frequencies, then
re-evaluated at the new angles for x in Z_p'; every weight in between is kept.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...analyses.mechanism.faithful import FaithfulProgram
from ...errors import ConfigError
from .models import MLP, ModelConfig, Transformer, build_model


@dataclass
class SurgeryResult:
    p: int
    p_new: int
    program: FaithfulProgram
    program_agreement: float  # against (a + b) mod p' on all p'^2 pairs
    network: nn.Module
    network_accuracy: float  # the rebuilt network on Z_p'
    program_failures: list[dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "p_new": self.p_new,
            "program_agreement": self.program_agreement,
            "network_accuracy": self.network_accuracy,
            "frequencies": self.program.frequencies,
            "program_failures": self.program_failures[:20],
        }


def _refit(matrix: np.ndarray, p: int, p_new: int, frequencies: list[int]) -> np.ndarray:
    """Rows indexed by x in Z_p -> rows at x in Z_p', through the key Fourier components."""
    x, x_new = np.arange(p), np.arange(p_new)
    columns, new_columns = [np.ones(p)], [np.ones(p_new)]
    for k in frequencies:
        columns += [np.cos(2 * math.pi * k * x / p), np.sin(2 * math.pi * k * x / p)]
        new_columns += [
            np.cos(2 * math.pi * k * x_new / p_new),
            np.sin(2 * math.pi * k * x_new / p_new),
        ]
    basis, new_basis = np.stack(columns, axis=1), np.stack(new_columns, axis=1)
    coefficients, *_ = np.linalg.lstsq(basis, matrix, rcond=None)
    return new_basis @ coefficients


def rebuild_network(module: nn.Module, p: int, p_new: int, frequencies: list[int]) -> nn.Module:
    config: ModelConfig = module.config  # type: ignore[assignment]
    if config.n_inputs != 2 or config.vocab != p or config.n_out != p:
        raise ConfigError(f"surgery needs a two-token network on Z_{p}; got {config}")
    new_config = ModelConfig(**{**config.to_dict(), "vocab": p_new, "n_out": p_new})
    rebuilt = build_model(new_config)
    state = copy.deepcopy(module.state_dict())
    keys = [k for k in frequencies if k < p_new / 2]
    embed = state["embed.weight"].double().numpy()  # a's rows[, b's rows][, the "=" row]
    blocks = [_refit(embed[:p], p, p_new, keys)]
    if config.diff_vocab:
        blocks.append(_refit(embed[p : 2 * p], p, p_new, keys))
    if config.eqn_sign:
        blocks.append(embed[-1:])
    state["embed.weight"] = torch.from_numpy(np.concatenate(blocks)).float()
    unembed = state["unembed.weight"].double().numpy()  # (p, width)
    state["unembed.weight"] = torch.from_numpy(_refit(unembed, p, p_new, keys)).float()
    if "unembed.bias" in state:
        bias = state["unembed.bias"].double().numpy()[:, None]
        state["unembed.bias"] = torch.from_numpy(_refit(bias, p, p_new, keys)[:, 0]).float()
    rebuilt.load_state_dict(state)
    rebuilt.eval()
    assert isinstance(rebuilt, Transformer | MLP)
    return rebuilt


def surgery(program: FaithfulProgram, module: nn.Module, p_new: int) -> SurgeryResult:
    """Transplant the program and rebuild the network for Z_p'; score both on all pairs."""
    if p_new < 2:
        raise ConfigError(f"p'={p_new} is invalid: the new modulus must be >= 2")
    if p_new * p_new > 10_000_000:
        raise ConfigError(f"p'={p_new} gives {p_new**2:,} pairs, over the limit of 10,000,000")
    p = program.p
    moved = program.transplant(p_new)
    if not moved.terms:
        raise ConfigError(
            f"no key frequency of {program.frequencies} fits below p'/2 = {p_new / 2}"
        )
    a, b = np.meshgrid(np.arange(p_new), np.arange(p_new), indexing="ij")
    truth = (a + b) % p_new
    predicted = moved.predict()
    good = predicted == truth
    failures = [
        {"a": int(x), "b": int(y), "program": int(predicted[x, y]), "truth": int(truth[x, y])}
        for x, y in zip(*np.nonzero(~good), strict=True)
    ]
    network = rebuild_network(module, p, p_new, program.frequencies)
    with torch.no_grad():
        tokens = torch.from_numpy(np.stack([a.reshape(-1), b.reshape(-1)], axis=1))
        answers = network(tokens).argmax(-1).numpy().reshape(p_new, p_new)
    return SurgeryResult(
        p=p,
        p_new=p_new,
        program=moved,
        program_agreement=float(good.mean()),
        network=network,
        network_accuracy=float((answers == truth).mean()),
        program_failures=failures,
    )


def run_surgery(path: str | Path, p_new: int, output: str | Path) -> dict[str, Any]:
    """`net2code surgery`: extract and analyse the network in `path`, move its algorithm to
    Z_p', and write program.py, result.json (the one schema) and the rebuilt network/."""
    from ..._util import atomic_write_json, provenance, staged_dir
    from ...analyses.mechanism.analysis import analyse, logit_tensor
    from ...analyses.mechanism.faithful import emit_faithful, fit_faithful
    from ...analyses.mechanism.run import is_addition
    from ...checkpoint import save_checkpoint
    from ...checks import Check, is_verified, verified_by
    from ...domain import MAX_DOMAIN_POINTS, Domain, IntRange
    from ...emit import count_lines, load_function
    from ...network import FeedForwardNetwork, load
    from ...pipeline import extract

    if p_new < 2:
        raise ConfigError(f"--p {p_new} is invalid: the new modulus must be >= 2")
    if p_new * p_new > MAX_DOMAIN_POINTS:
        raise ConfigError(
            f"--p {p_new} gives {p_new * p_new:,} pairs, over the limit of {MAX_DOMAIN_POINTS:,}"
        )
    network = load(path)
    if not isinstance(network, FeedForwardNetwork):
        raise ConfigError(f"{path} is not a modular-arithmetic network ({network.description})")
    extraction = extract(network, analyses=False)
    if not (extraction.verified and is_addition(extraction.program, network.vocab or 0)):
        summary = extraction.program.summary if extraction.program else "none"
        raise ConfigError(
            f"{path} does not compute (a + b) mod p (its program: {summary}); "
            "surgery needs addition"
        )
    assert network.module is not None and network.vocab is not None
    p_old = network.vocab
    mechanism = analyse(network.module, p_old)
    faithful = fit_faithful(mechanism, logit_tensor(network.module, p_old))
    moved = surgery(faithful, network.module, p_new)
    n = p_new * p_new
    correct = round(moved.program_agreement * n)
    header = [
        f"The {mechanism.kind} algorithm of {path} (p = {p_old}), moved to p' = {p_new}",
        "",
        f"Surgery by net2code: circle angles 2*pi*k/{p_old} became 2*pi*k/{p_new}.",
        f"Correct on {correct:,}/{n:,} pairs of Z_{p_new} (against (a + b) mod p').",
    ]
    source = emit_faithful(moved.program, header)
    function = load_function(source)
    a, b = np.meshgrid(np.arange(p_new), np.arange(p_new), indexing="ij")
    emitted = np.array([function(x, y) for x, y in zip(a.ravel(), b.ravel(), strict=True)])
    with torch.no_grad():
        tokens = torch.from_numpy(np.stack([a.reshape(-1), b.reshape(-1)], axis=1))
        answers = moved.network(tokens).argmax(-1).numpy()
    domain = Domain((IntRange("a", 0, p_new - 1), IntRange("b", 0, p_new - 1)), "argmax")
    checks = [
        Check(
            name="rebuilt network",
            against="network",
            scope="exhaustive",
            n=n,
            n_agree=int((emitted == answers).sum()),
            description=f"program.py on every pair of Z_{p_new}, against the rebuilt network",
            defining=True,
        ),
        Check(
            name="truth",
            against="truth",
            scope="exhaustive",
            n=n,
            n_agree=int((emitted == (a + b).ravel() % p_new).sum()),
            description=f"program.py on every pair of Z_{p_new}, against (a + b) mod {p_new}",
        ),
    ]
    rebuilt = f"{output}/network"
    summary = {
        "schema": 1,
        "family": "feed-forward",
        "network": {
            "description": f"{network.description}, rebuilt for p' = {p_new} (embedding and "
            "unembedding refit at the new angles)",
            "source": rebuilt,
            "architecture": network.architecture,
            "parameters": sum(t.numel() for t in moved.network.parameters()),
            "signature": {"inputs": 2, "outputs": p_new, "vocab": p_new},
        },
        "domain": domain.to_dict(),
        "strategy": "surgery",
        "program": {
            "file": "program.py",
            "numpy_file": None,
            "entry": "program",
            "kind": "faithful",
            "summary": f"the {mechanism.kind} algorithm for p' = {p_new}",
            "size": count_lines(source),
            "size_unit": "lines",
        },
        "verified": is_verified(checks),
        "verified_by": verified_by(checks),
        "agreement": checks[0].agreement,
        "checks": [c.to_dict() for c in checks],
        "search": {"strategies_tried": [{"strategy": "surgery"}], "stats": {}},
        "options": {"p": p_new, "source": str(path)},
        "timings": {},
        "provenance": provenance(None),
        "feed-forward": {
            "surgery": moved.to_dict(),
            "from_p": p_old,
            "mechanism": {"class": mechanism.kind, "frequencies": mechanism.frequencies},
        },
        "analyses": {},
    }
    from ...result import validate

    validate(summary)
    module = moved.network
    with staged_dir(Path(output)) as tmp:
        (tmp / "program.py").write_text(source, encoding="utf-8")
        atomic_write_json(tmp / "result.json", summary)
        save_checkpoint(tmp / "network", module, module.config, {"surgery": moved.to_dict()})
    return summary
