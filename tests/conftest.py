"""Shared fixtures: small networks trained in seconds, used as the oracle."""

from __future__ import annotations

import pytest
import torch

from net2code import TrainConfig, train
from net2code.train import TrainResult

torch.set_num_threads(2)


def train_mlp(op: str, p: int, *, max_steps: int = 3000, seed: int = 0) -> TrainResult:
    """A concatenated-embedding MLP fitted to op(a, b) mod p on all p*p pairs (under a second)."""
    config = TrainConfig(
        p=p,
        op=op,
        model="mlp-concat",
        d_model=32,
        d_mlp=256,
        lr=3e-3,
        weight_decay=0.1,
        train_fraction=1.0,
        max_steps=max_steps,
        seed=seed,
    )
    return train(config, progress=False)


@pytest.fixture(scope="session")
def add_run(tmp_path_factory: pytest.TempPathFactory):
    """A saved run folder: the MLP trained on (a + b) mod 11."""
    from net2code import save_run

    folder = tmp_path_factory.mktemp("runs") / "add11"
    result = train_mlp("add", 11)
    assert result.full_accuracy == 1.0
    save_run(result, folder)
    return folder
