"""Matrix multiplication as a bilinear network: trained networks become exact schemes, proved
by the Brent equations in rational arithmetic, emitted, and checked against A @ B."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import net2code
from net2code.emit import load_function
from net2code.zoo.matmul.scheme import Scheme, matmul_tensor, round_scheme, strassen
from net2code.zoo.matmul.train import MatmulConfig, train_seed


def test_the_brent_equations_prove_strassen_and_count_what_fails() -> None:
    scheme = strassen()
    assert scheme.is_exact() and scheme.rank == 7
    assert scheme.count_operations() == {"products": 7, "scalings": 0, "additions": 18}
    u, v, w = scheme.arrays()
    assert np.allclose(np.einsum("ri,rj,kr->ijk", u, v, w), matmul_tensor((2, 2, 2)))
    w[0, 0] = 0  # C[0,0] loses m0 = (a00 + a11)(b00 + b11): its four terms now fail
    broken = Scheme.from_arrays((2, 2, 2), u, v, w)
    assert broken.failing_equations() == [(0, 0, 0), (0, 3, 0), (3, 0, 0), (3, 3, 0)]
    repaired = round_scheme((2, 2, 2), u, v, w)  # W solved exactly given U and V
    assert repaired.exact and repaired.repairs[0].endswith("ok")
    assert repaired.scheme.W[0][0] == Fraction(1)


def test_rank_six_for_two_by_two_is_refused_by_the_equations() -> None:
    """Strassen without one product: no repair makes it exact (rank 7 is optimal)."""
    u, v, w = strassen().arrays()
    rounding = round_scheme((2, 2, 2), u[:6], v[:6], w[:, :6])
    assert not rounding.exact and rounding.failing > 0
    assert all("no solution" in r for r in rounding.repairs)


@pytest.mark.parametrize("seed", [0, 1])
def test_training_finds_strassens_rank_and_the_proof_holds(seed: int) -> None:
    result = train_seed(MatmulConfig(seed=seed, restarts=16, plain_steps=1000, snap_steps=1500))
    assert result.exact, result.summary()
    scheme = result.best.scheme
    assert scheme.rank == 7 and scheme.is_exact()
    assert set(scheme.coefficients()) <= {Fraction(-1), Fraction(0), Fraction(1)}
    rng = np.random.default_rng(seed)
    a, b = rng.integers(-50, 50, (2, 2)), rng.integers(-50, 50, (2, 2))
    u, v, w = scheme.arrays()
    c = w @ ((u @ a.reshape(-1)) * (v @ b.reshape(-1)))
    assert np.array_equal(c.reshape(2, 2), a @ b)


def test_train_extract_prove_and_emit(tmp_path: Path, cli, one_line_error) -> None:
    run = tmp_path / "mm222"
    proc = cli("train", "matmul", "--shape", "2,2,2", "--rank", "7", "--seeds", "0..1",
               "--restarts", "16", "--plain-steps", "1000", "--snap-steps", "1500",
               "--jobs", "2", "-o", str(run))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    config = json.loads((run / "config.json").read_text())
    assert [s["seed"] for s in config["training"]["seeds"]] == [0, 1]
    out = tmp_path / "out"
    proc = cli("extract", str(run), "-o", str(out), "--no-progress", "--strict")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["family"] == "bilinear" and result["verified"] is True
    assert "Brent equations, exact" in result["verified_by"][0]
    brent = next(c for c in result["checks"] if c["name"] == "Brent equations")
    assert brent["scope"] == "proved" and brent["n"] == 64 and brent["proof"]
    assert result["bilinear"]["scheme"]["rank"] == 7
    program = load_function((out / "program.py").read_text())
    rng = np.random.default_rng(7)
    for _ in range(200):  # exact on integers, with 7 multiplications
        a, b = rng.integers(-1000, 1000, (2, 2)), rng.integers(-1000, 1000, (2, 2))
        assert program(a.tolist(), b.tolist()) == (a @ b).tolist()
    blocked = load_function((out / "program_numpy.py").read_text())
    x, y = rng.integers(-9, 9, (300, 257)), rng.integers(-9, 9, (257, 200))
    assert np.array_equal(blocked(x, y), x @ y)
    one_line_error(cli("train", "matmul", "--shape", "2,2", "-o", str(tmp_path / "x")), "2 sides")
    one_line_error(
        cli("train", "matmul", "--rank", "0", "-o", str(tmp_path / "x")), "rank 0 is outside"
    )


def test_a_users_factors_that_are_not_exact_are_reported_not_verified(
    tmp_path: Path, cli, one_line_error
) -> None:
    """Three matrices in a safetensors file: Strassen with one product dropped is rounded and
    repaired in vain, and reported with its count of failing equations."""
    from safetensors.numpy import save_file

    u, v, w = strassen().arrays()
    save_file({"U": u[:6], "V": v[:6], "W": w[:, :6]}, str(tmp_path / "mine.safetensors"))
    network = net2code.load(tmp_path / "mine.safetensors")
    assert network.shape == (2, 2, 2) and network.rank == 6
    extraction = net2code.extract(network, figures=False)
    assert extraction.verified is False and extraction.verified_by == []
    assert extraction.section["failing_equations"] > 0
    brent = extraction.check("Brent equations")
    assert brent.n_agree < brent.n and brent.proof is None
    save_file({"U": u, "V": v, "W": w}, str(tmp_path / "strassen.safetensors"))
    one_line_error(
        cli(
            "extract",
            str(tmp_path / "strassen.safetensors"),
            "--domain",
            "matmul(2,2,3)",
            "-o",
            str(tmp_path / "o"),
        ),  # fmt: skip
        "not a matrix-multiplication scheme of the stated shape matmul(2,2,3)",
    )
    save_file({"U": u, "V": v[:, :3], "W": w}, str(tmp_path / "bad.safetensors"))
    one_line_error(
        cli("extract", str(tmp_path / "bad.safetensors"), "-o", str(tmp_path / "o")),
        "fit no n x m by m x p product",
    )


class _TwoInputs:
    """A torch module with Strassen's factors, or with a ReLU that breaks bilinearity."""

    @staticmethod
    def build(broken: bool):  # type: ignore[no-untyped-def]
        import torch

        from net2code.zoo.matmul.model import BilinearConfig, BilinearModule

        class Module(BilinearModule):
            def forward(self, a, b):  # type: ignore[no-untyped-def]
                out = super().forward(a, b)
                return torch.relu(out) if broken else out

        module = Module(BilinearConfig(shape=(2, 2, 2), rank=7)).float()
        u, v, w = strassen().arrays()
        with torch.no_grad():
            for name, value in zip("UVW", (u, v, w), strict=True):
                getattr(module, name).copy_(torch.tensor(value))
        return module


@pytest.mark.parametrize("form", ["onnx", "pt2"])
def test_a_users_bilinear_graph_is_read_by_its_behaviour(
    form: str, tmp_path: Path, cli, one_line_error
) -> None:
    import warnings

    import torch

    a, b = torch.randn(3, 4), torch.randn(3, 4)
    paths = {}
    for broken in (False, True):
        module = _TwoInputs.build(broken)
        path = tmp_path / f"{'relu' if broken else 'mm'}.{form}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if form == "onnx":
                axes = {"a": {0: "n"}, "b": {0: "n"}}
                torch.onnx.export(
                    module, (a, b), path, input_names=["a", "b"], dynamic_axes=axes, dynamo=False
                )
            else:
                torch.export.save(torch.export.export(module, (a, b)), path)
        paths[broken] = path
    network = net2code.load(paths[False])
    assert network.shape == (2, 2, 2) and network.rank == 7
    extraction = net2code.extract(network, figures=False)
    assert extraction.verified and extraction.program.summary.startswith("rank-7 scheme")
    one_line_error(
        cli("extract", str(paths[True]), "-o", str(tmp_path / "o")), "not a bilinear network"
    )
