"""Extraction with the network as the oracle: train, extract, assert the exact program."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import net2code
from net2code.emit import load_function

CASES = [
    ("add", 13, "(a + b) % 13"),
    ("sub", 13, "(a - b) % 13"),
    ("mul", 13, "a * b % 13"),
    ("a*a + b", 11, "(a * a + b) % 11"),
    ("2*a + 3*b", 11, "(2 * a + 3 * b) % 11"),
    ("a*b + a + b", 7, "(a * b + (a + b)) % 7"),
    ("max(a, b)", 13, "max(a, b)"),
]


@pytest.mark.parametrize(("op", "p", "expected"), CASES)
def test_recovers_the_program_a_network_learned(
    op: str, p: int, expected: str, mlp_trainer
) -> None:
    result = mlp_trainer(op, p)
    assert result.full_accuracy == 1.0, "the oracle network must be exact for this test"
    network = net2code.from_module(result.model, n_inputs=2, n_classes=p, vocab=p)

    extraction = net2code.extract(network, timeout=60)

    assert extraction.program is not None
    assert extraction.program.source == expected
    assert extraction.verified
    assert extraction.check("network").n == p * p and extraction.check("network").scope == (
        "exhaustive"
    )
    assert extraction.agreement == 1.0
    # Independently: the emitted plain-Python program equals the network on every pair.
    program = load_function(extraction.python_source)
    grid = np.array([(a, b) for a in range(p) for b in range(p)])
    outputs = network(grid)
    assert all(program(int(a), int(b)) == int(y) for (a, b), y in zip(grid, outputs, strict=True))


class _PermutedOutputs(torch.nn.Module):
    """Class c of this network is class perm[c] of the inner one."""

    def __init__(self, inner: torch.nn.Module, perm: list[int]) -> None:
        super().__init__()
        self.inner = inner
        self.perm = perm

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.inner(tokens)[:, self.perm]


def test_extractor_follows_the_network_not_the_task(mlp_trainer) -> None:
    """Trained on a + b, but with its output classes relabelled c -> -c: the program must be
    the network's function, -(a + b) mod 7, which no training label ever showed."""
    result = mlp_trainer("add", 7)
    relabelled = _PermutedOutputs(result.model, [(-c) % 7 for c in range(7)])
    network = net2code.from_module(relabelled, n_inputs=2, n_classes=7, vocab=7)

    extraction = net2code.extract(network)

    assert extraction.verified
    a, b = np.meshgrid(np.arange(7), np.arange(7), indexing="ij")
    values = load_function(extraction.numpy_source)(a, b)
    assert (values == (-(a + b)) % 7).all()
    assert extraction.program.source != "(a + b) % 7"


def test_under_trained_network_is_reported_not_verified_with_true_agreement(mlp_trainer) -> None:
    p = 11
    result = mlp_trainer("add", p, max_steps=3)
    network = net2code.from_module(result.model, n_inputs=2, n_classes=p, vocab=p)
    grid = np.array([(a, b) for a in range(p) for b in range(p)])
    outputs = network(grid)
    assert result.full_accuracy < 1.0

    extraction = net2code.extract(network, timeout=20)

    assert not extraction.verified
    assert extraction.program is not None
    values = load_function(extraction.numpy_source)(grid[:, 0], grid[:, 1])
    true_agree = int((values == outputs).sum())
    assert true_agree < p * p
    check = extraction.check("network")
    assert check.n_agree == true_agree and not check.passed
    assert extraction.agreement == pytest.approx(true_agree / (p * p))
    assert extraction.verified_by == []
    listed = check.disagreements
    assert 0 < len(listed) <= 20
    for row in listed:
        a, b = row["input"]["a"], row["input"]["b"]
        assert row["network"] == outputs[a * p + b] != row["program"]
    assert "NOT VERIFIED" in extraction.python_source


def test_restricted_domain_is_respected(mlp_trainer) -> None:
    result = mlp_trainer("max(a, b)", 13)
    network = net2code.from_module(result.model, n_inputs=2, n_classes=13, vocab=13)
    extraction = net2code.extract(network, "a:0..5 b:3..9")
    assert extraction.check("network").n == 6 * 7
    assert extraction.verified
    assert extraction.program.source == "max(a, b)"
