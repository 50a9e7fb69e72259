"""Shared fixtures: the command line, small networks trained in seconds, and one hand-built
network per family whose program is known (the oracle the conformance tests extract from)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)

Run = Callable[..., subprocess.CompletedProcess[str]]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "net2code", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="session")
def cli() -> Run:
    """Run `net2code ARGS...` in a subprocess; returns the CompletedProcess."""
    return _run


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("net2code: error:"), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="session")
def one_line_error() -> Callable[..., str]:
    """Assert a refusal: exit 2 and one line on stderr holding every needle; returns it."""
    return _one_line_error


def train_mlp(op: str, p: int, *, max_steps: int = 3000, seed: int = 0):  # type: ignore[no-untyped-def]
    """A concatenated-embedding MLP fitted to op(a, b) mod p on all p*p pairs (under a second)."""
    from net2code.zoo.modular.train import TrainConfig, train

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
def mlp_trainer() -> Callable[..., object]:
    """train_mlp(op, p, max_steps=..., seed=...) -> TrainResult."""
    return train_mlp


@pytest.fixture(scope="session")
def add_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved run folder: the MLP trained on (a + b) mod 11."""
    from net2code.zoo.modular.train import save_run

    folder = tmp_path_factory.mktemp("runs") / "add11"
    result = train_mlp("add", 11)
    assert result.full_accuracy == 1.0
    save_run(result, folder)
    return folder


# ------------------------------------------------------- one hand-built network per family
@pytest.fixture(scope="session")
def clock_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Feed-forward: a closed-form Clock network on Z_23 (frequencies 3, 7) as a run folder."""
    from net2code.checkpoint import save_checkpoint
    from net2code.zoo.modular.handbuilt import clock_network

    folder = tmp_path_factory.mktemp("runs") / "clock23"
    model = clock_network(23, [3, 7])
    save_checkpoint(folder, model, model.config, {"training": {"hand_built": "clock"}})
    return folder


@pytest.fixture(scope="session")
def strassen_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bilinear: Strassen's rank-7 scheme as the weights of a bilinear network, a run folder."""
    from net2code.zoo.matmul.model import BilinearConfig, save_matmul_run
    from net2code.zoo.matmul.scheme import strassen

    folder = tmp_path_factory.mktemp("runs") / "strassen"
    scheme = strassen()
    save_matmul_run(folder, scheme.arrays(), BilinearConfig(shape=(2, 2, 2), rank=7), {}, 0)
    return folder


@pytest.fixture(scope="session")
def parity_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recurrent: a hidden-size-1 RNN computing running parity, as a run folder."""
    from net2code.zoo.sequence.handbuilt import save_parity_run

    return save_parity_run(tmp_path_factory.mktemp("runs") / "parity")


@pytest.fixture(scope="session")
def dead_end_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Iterated: a DT-net whose weights run dead-end filling, as a run folder."""
    from net2code.zoo.thinking.handbuilt import save_dead_end_filling_run

    return save_dead_end_filling_run(tmp_path_factory.mktemp("runs") / "dead-end")


@pytest.fixture(scope="session")
def parity_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recurrent, from a file: a causal network computing running parity with an embedding and
    a cumulative sum, exported to ONNX with a dynamic length axis (folder/model.onnx)."""
    import warnings

    from torch import nn

    class RunningParity(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(2, 1)
            with torch.no_grad():
                self.embed.weight.copy_(torch.tensor([[0.0], [1.0]]))

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            odd = torch.remainder(torch.cumsum(self.embed(tokens)[..., 0], 1), 2)  # (batch, L)
            return torch.stack([1 - odd, odd], -1)  # (batch, L, 2)

    folder = tmp_path_factory.mktemp("runs") / "parity-onnx"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            RunningParity(), (torch.zeros(2, 5, dtype=torch.int64),), str(folder / "model.onnx"),
            dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch", 1: "length"}},
        )  # fmt: skip
    return folder
