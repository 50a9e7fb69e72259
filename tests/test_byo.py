"""Bring your own network: small networks trained or built here, exported to ONNX and to
torch.export `.pt2` inside the test, then loaded from the file and extracted."""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import net2code
from net2code.emit import load_function

FORMATS = ("onnx", "pt2")


def fit(x: np.ndarray, y: np.ndarray, hidden: tuple[int, ...] = (16,), seed: int = 0) -> nn.Module:
    """A ReLU MLP (or, with no hidden layer, a perceptron) fitted to 0/1 targets."""
    torch.manual_seed(seed)
    sizes = [x.shape[1], *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 1))
    inputs = torch.tensor(x, dtype=torch.float32)
    targets = torch.tensor(y, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(1500):
        loss = nn.functional.binary_cross_entropy_with_logits(model(inputs)[:, 0], targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        out = model(torch.tensor(x, dtype=torch.float32))[:, 0] > 0
    return float((out.numpy().astype(int) == y).mean())


def export(model: nn.Module, example: torch.Tensor, folder: Path, name: str, fmt: str) -> Path:
    path = folder / f"{name}.{fmt}"
    if fmt == "onnx":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, (example,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            )  # fmt: skip
    else:
        batch = torch.export.Dim("batch")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(program, str(path))
    return path


BOOLEAN_CASES = {
    "xor": ("x1:bit x2:bit", lambda x: x[:, 0] ^ x[:, 1], (8,), "x1 ^ x2"),
    "majority": ("x1:bit x2:bit x3:bit", lambda x: (x.sum(1) >= 2).astype(int), (8,),
                 "int(x1 + x2 + x3 >= 2)"),
    "parity4": ("x1:bit x2:bit x3:bit x4:bit", lambda x: x.sum(1) % 2, (16, 16),
                "x1 ^ x2 ^ x3 ^ x4"),
    "comparator": (
        "a2:bit a1:bit a0:bit b2:bit b1:bit b0:bit",
        lambda x: (x[:, :3] @ [4, 2, 1] > x[:, 3:] @ [4, 2, 1]).astype(int),
        (16, 16),
        "int(4 * a2 + 2 * a1 + a0 > 4 * b2 + 2 * b1 + b0)",
    ),
    "multiplexer": ("s:bit a:bit b:bit", lambda x: np.where(x[:, 0] == 1, x[:, 2], x[:, 1]), (8,),
                    "b if s else a"),
}  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(BOOLEAN_CASES))
def test_boolean_networks_from_files(case: str, fmt: str, tmp_path: Path) -> None:
    spec, truth, hidden, expected = BOOLEAN_CASES[case]
    domain = net2code.Domain.parse(spec)
    x = domain.enumerate()
    y = truth(x)
    model = fit(x, y, hidden)
    assert accuracy(model, x, y) == 1.0, "the oracle network must fit its truth table"
    path = export(model, torch.zeros(4, x.shape[1]), tmp_path, case, fmt)

    network = net2code.load(path)
    assert network.layers is not None, "a Linear/ReLU graph exposes its layers"
    extraction = net2code.extract(network, spec)

    assert extraction.strategy == "boolean"
    assert extraction.program is not None and extraction.program.source == expected
    assert extraction.verified and extraction.check("network").n == len(x)
    program = load_function(extraction.python_source)
    outputs = network(x)
    assert [program(*map(int, row)) for row in x] == outputs.tolist() == y.tolist()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_perceptron_cannot_fit_xor(fmt: str, tmp_path: Path) -> None:
    domain = net2code.Domain.parse("x1:bit x2:bit")
    x = domain.enumerate()
    xor = x[:, 0] ^ x[:, 1]
    perceptron = fit(x, xor, hidden=())
    assert accuracy(perceptron, x, xor) <= 0.75  # XOR is not linearly separable
    network = net2code.load(export(perceptron, torch.zeros(4, 2), tmp_path, "perceptron", fmt))

    extraction = net2code.extract(network, "x1:bit x2:bit")

    # The program is the perceptron's own (linearly separable) function, verified, and not XOR.
    assert extraction.verified
    values = load_function(extraction.numpy_source)(x[:, 0], x[:, 1])
    assert (values == network(x)).all()
    assert (values != xor).any()
    assert "^" not in extraction.program.source


class TokenMLP(nn.Module):
    """Two integer tokens in one (batch, 2) tensor -> embedding -> ReLU MLP -> p logits."""

    def __init__(self, p: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(p, 32)
        self.hidden = nn.Linear(64, 256)
        self.out = nn.Linear(256, p)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(self.embed(tokens).flatten(1))))


@pytest.mark.parametrize("fmt", FORMATS)
def test_embedding_network_on_zp_from_a_file(fmt: str, tmp_path: Path) -> None:
    p = 11
    torch.manual_seed(0)
    model = TokenMLP(p)
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss = nn.functional.cross_entropy(model(pairs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert (model(pairs).argmax(-1) == labels).all()
    path = export(model, pairs[:4], tmp_path, "token_mlp", fmt)

    network = net2code.load(path)
    assert network.vocab == p and network.n_inputs == 2

    extraction = net2code.extract(network)  # the natural domain: every token pair
    assert extraction.program.source == f"(a + b) % {p}"
    assert extraction.verified and extraction.check("network").n == p * p


def three_lines() -> nn.Module:
    """Hidden neurons ReLU(x), ReLU(y), ReLU(x - y): three lines through the origin cut the
    box [-1, 1]^2 into exactly 6 activation regions."""
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))
        model[0].bias.zero_()
        model[2].weight.copy_(torch.tensor([[1.0, 2.0, -3.0]]))
        model[2].bias.fill_(0.5)
    return model


@pytest.mark.parametrize("fmt", FORMATS)
def test_box_region_count_is_known(fmt: str, tmp_path: Path) -> None:
    network = net2code.load(export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", fmt))
    extraction = net2code.extract(network, "x:[-1,1] y:[-1,1]", strategies=["tree"])
    assert extraction.strategy == "tree"
    assert extraction.candidate.stats["activation_regions"] == 6
    assert extraction.candidate.stats["leaves"] == 6
    assert extraction.verified and extraction.check("network, per region").scope == "proved"


def test_an_exact_formula_beats_the_tree_and_is_proved(tmp_path: Path) -> None:
    """relu(x) + 2 relu(y) - 3 relu(x - y) + 0.5 has a formula equal to it on the whole box:
    the symbolic search finds one, and the per-region bound proves it exact."""
    network = net2code.load(export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", "onnx"))
    extraction = net2code.extract(network, "x:[-1,1] y:[-1,1]")
    assert extraction.strategy == "symbolic" and extraction.verified
    bound = extraction.check("network, bound")
    assert bound.scope == "proved" and bound.details["max_abs_error"] < 1e-5
    x, y = np.random.default_rng(0).uniform(-1, 1, size=(2, 1000))
    expected = np.maximum(x, 0) + 2 * np.maximum(y, 0) - 3 * np.maximum(x - y, 0) + 0.5
    assert np.allclose(load_function(extraction.numpy_source)(x, y), expected, atol=1e-5)
    assert extraction.to_dict()["fallback"]["leaves"] == 6


def test_tree_on_a_finite_domain_with_real_outputs(tmp_path: Path) -> None:
    network = net2code.load(export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", "pt2"))
    extraction = net2code.extract(network, "x:-3..3 y:-3..3 -> real")
    assert extraction.strategy == "tree"
    assert extraction.verified and extraction.check("network").n == 49
    assert extraction.candidate.stats["activation_regions"] == 6


def test_two_layer_relu_tree_is_exact_on_the_box(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(2000, 2))
    y = (x[:, 0] ** 2 + x[:, 1] ** 2 < 0.5).astype(int)  # a disc: curved, so many regions
    model = fit(x, y, hidden=(8, 8))
    network = net2code.load(export(model, torch.zeros(4, 2), tmp_path, "disc", "onnx"))

    extraction = net2code.extract(network, "x:[-1,1] y:[-1,1] -> real")

    stats = extraction.candidate.stats
    assert extraction.strategy == "tree" and extraction.verified
    proof = extraction.check("network, per region")
    assert proof.defining and "polygon" in (proof.proof or "")
    assert stats["leaves"] <= stats["activation_regions"]
    # Independently: zero disagreements on 10^5 fresh random points.
    points = np.random.default_rng(123).uniform(-1, 1, size=(100_000, 2))
    program = load_function(extraction.numpy_source)
    expected = network.raw(points)[:, 0]
    scale = max(1.0, float(np.abs(expected).max()))  # float32 network vs float64 program
    assert np.allclose(program(points[:, 0], points[:, 1]), expected, rtol=1e-4, atol=1e-5 * scale)
    # The thresholded readout is exact as a classifier too.
    classifier = net2code.extract(network, "x:[-1,1] y:[-1,1] -> bit")
    bits = load_function(classifier.numpy_source)(points[:, 0], points[:, 1])
    assert classifier.verified
    assert (bits == (expected > 0)).mean() > 0.9999


def test_approximate_tree_is_never_verified_on_a_box(tmp_path: Path) -> None:
    network = net2code.load(export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", "onnx"))
    extraction = net2code.extract(network, "x:[-1,1] y:[-1,1]", strategies=["approx-tree"])
    assert not extraction.verified
    assert extraction.candidate.stats["fidelity_measure"] == "R^2"
    assert "NOT VERIFIED" in extraction.python_source


def test_lookup_table_when_asked(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = net2code.Domain.parse("x1:bit x2:bit x3:bit x4:bit").enumerate()
    y = rng.integers(0, 2, size=len(x))
    model = fit(x, y, hidden=(32, 32))
    network = net2code.load(export(model, torch.zeros(4, 4), tmp_path, "random", "onnx"))
    extraction = net2code.extract(network, "x1:bit x2:bit x3:bit x4:bit", strategies=["lookup"])
    assert extraction.verified
    assert "TABLE" in extraction.python_source
    program = load_function(extraction.python_source)
    assert [program(*map(int, row)) for row in x] == network(x).tolist()


# ---------------------------------------------------------------------------- bad input
class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.makedirs, (str(self.marker),))


def test_pickled_full_model_is_refused_not_unpickled(tmp_path: Path, cli, one_line_error) -> None:
    marker = tmp_path / "was-unpickled"
    path = tmp_path / "model.pt"
    torch.save({"model": three_lines(), "payload": _Payload(marker)}, path)
    proc = cli("extract", str(path), "--domain", "x:[-1,1] y:[-1,1]")
    one_line_error(proc, "pickled full model")
    assert "torch.export" in proc.stderr
    assert not marker.exists()
    with open(tmp_path / "plain.pkl", "wb") as handle:
        pickle.dump(_Payload(marker), handle)
    one_line_error(cli("extract", str(tmp_path / "plain.pkl")), "pickled")
    assert not marker.exists()


def test_random_bytes(tmp_path: Path, cli, one_line_error) -> None:
    for name in ("noise.onnx", "noise.pt2", "noise.bin"):
        (tmp_path / name).write_bytes(os.urandom(4096))
        proc = cli("extract", str(tmp_path / name), "--domain", "x:[-1,1] y:[-1,1]")
        one_line_error(proc, name)


def test_pickle_that_stops_on_an_empty_stack(tmp_path: Path, cli, one_line_error) -> None:
    # The weights-only unpickler raises IndexError here; random bytes hit it now and then.
    path = tmp_path / "empty.bin"
    path.write_bytes(b"\x80\x02.")
    proc = cli("extract", str(path), "--domain", "x:[-1,1] y:[-1,1]")
    one_line_error(proc, "empty.bin is not a readable torch file")


def test_truncated_onnx(tmp_path: Path, cli, one_line_error) -> None:
    path = export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", "onnx")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    one_line_error(cli("extract", str(path), "--domain", "x:[-1,1] y:[-1,1]"), "ONNX")


def test_domain_that_does_not_match_the_network(tmp_path: Path, cli, one_line_error) -> None:
    path = export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", "onnx")
    proc = cli("extract", str(path), "--domain", "x1:bit x2:bit x3:bit")
    one_line_error(proc, "has 3 inputs but the network")
    proc = cli("extract", str(path), "--domain", "x:[-1,1] y:[-1,1] -> argmax")
    one_line_error(proc, "argmax needs several outputs")


def test_domain_of_a_billion_points(tmp_path: Path, cli, one_line_error) -> None:
    path = export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", "onnx")
    proc = cli("extract", str(path), "--domain", "a:0..31622 b:0..31622")
    one_line_error(proc, "over the enumeration limit of 10,000,000")


def test_cli_extracts_from_onnx_with_a_forced_strategy(tmp_path: Path, cli, one_line_error) -> None:
    path = export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", "onnx")
    out = tmp_path / "out"
    proc = cli("extract", str(path), "--domain", "x:[-1,1] y:[-1,1]", "--strategy", "tree",
                   "-o", str(out), "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    import json

    result = json.loads((out / "result.json").read_text())
    assert result["verified"] and result["strategy"] == "tree"
    assert result["domain"] == {"spec": "x:[-1,1] y:[-1,1] -> real", "kind": "box", "size": None}
    proved = [c for c in result["checks"] if c["scope"] == "proved"]
    assert len(proved) == 1 and proved[0]["proof"] and proved[0]["defining"]
    assert "proved" in result["verified_by"][0]
    one_line_error(cli("extract", str(path), "--strategy", "magic"), "magic")
    one_line_error(cli("extract", str(path), "--strategy", "formula"), "recurrent")


# ---------------------------------------------------------------------------- what a new user hit
def test_pt2_exported_with_a_fixed_batch_is_run_in_chunks(tmp_path: Path) -> None:
    # torch.export.export(model, (x,)) without dynamic_shapes bakes in the example's batch.
    model = three_lines()
    path = tmp_path / "fixed.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(4, 2),)), str(path))
    network = net2code.load(path)
    assert "traced at batch 4" in network.description
    extraction = net2code.extract(network, "x:-3..3 y:-3..3 -> real")  # 49 points: 12 x 4 + 1
    assert extraction.verified and extraction.strategy == "tree"
    assert extraction.candidate.stats["activation_regions"] == 6
    points = np.array([[x, y] for x in range(-3, 4) for y in range(-3, 4)], dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(points))[:, 0].numpy()
    assert np.allclose(network.raw(points)[:, 0], expected, atol=1e-6)


class PerStep(nn.Module):
    """(batch, L) tokens -> (batch, L, 2): a sequence network no feed-forward reading fits."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(2, 4)
        self.gru = nn.GRU(4, 8, batch_first=True)
        self.out = nn.Linear(8, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.gru(self.embed(tokens))[0])


@pytest.mark.parametrize("fmt", FORMATS)
def test_per_step_outputs_are_read_as_a_sequence_network_not_flattened(
    fmt: str, tmp_path: Path, cli, one_line_error
) -> None:
    """Traced at length 6: a sequence network whose lengths stop at 6, padded below it."""
    from net2code.sequence import SequenceNetwork

    model = PerStep()
    path = export(model, torch.zeros(4, 6, dtype=torch.int64), tmp_path, "gru", fmt)
    network = net2code.load(path)
    assert isinstance(network, SequenceNetwork)
    assert (network.n_outputs, network.fixed_length, network.vocab) == (2, 6, 2)
    domain = net2code.SequenceDomain.parse("seq(x:0..1) len:0..4 -> argmax")
    x = domain.enumerate(4)  # (16, 4, 1): padded to 6 inside, the 4 outputs read back
    with torch.no_grad():
        expected = model(torch.as_tensor(x[:, :, 0])).argmax(-1).numpy()
    assert np.array_equal(network.read(x, domain), expected)
    line = one_line_error(
        cli("extract", str(path), "--domain", "seq(x:0..1) len:0..8", "-o", str(tmp_path / "o")),
        "len:..8",
        "longest input the network takes (6)",
    )
    assert line
    assert not (tmp_path / "o").exists()


def test_empty_onnx_and_a_data_archive(tmp_path: Path, cli, one_line_error) -> None:
    (tmp_path / "empty.onnx").write_bytes(b"")
    one_line_error(cli("extract", str(tmp_path / "empty.onnx")), "empty or not")
    np.savez(tmp_path / "data.npz", x=np.zeros((20, 5)), y=np.zeros((20, 5)))
    proc = cli("extract", str(tmp_path / "data.npz"))
    one_line_error(proc, "NumPy data archive, not a network")


def test_weights_only_files_point_to_from_module(tmp_path: Path, cli, one_line_error) -> None:
    torch.save(three_lines().state_dict(), tmp_path / "weights.pt")
    line = one_line_error(cli("extract", str(tmp_path / "weights.pt")), "holds only weights")
    assert "net2code.from_module" in line


def test_onnxruntime_says_nothing_outside_the_one_line(capfd) -> None:
    """The onnx package's backend-test models: each one loads or is refused with a
    Net2CodeError, and onnxruntime's own logger writes nothing to stderr."""
    import onnx

    models = sorted(Path(onnx.__file__).parent.glob("backend/test/data/*/*/model.onnx"))
    assert len(models) >= 100
    refused = 0
    for path in models:
        try:
            net2code.load(path)
        except net2code.Net2CodeError as exc:
            refused += 1
            assert "\n" not in str(exc)
    captured = capfd.readouterr()
    assert captured.err == "", captured.err[:500]
    assert 0 < refused <= len(models)


def test_repr_is_short(tmp_path: Path) -> None:
    network = net2code.load(export(three_lines(), torch.zeros(4, 2), tmp_path, "lines", "onnx"))
    assert len(repr(network)) < 200 and "array" not in repr(network)
    extraction = net2code.extract(network, "x:[-1,1] y:[-1,1]")
    assert len(repr(extraction)) < 300 and "array" not in repr(extraction)


def test_from_module_checks_its_arguments() -> None:
    with pytest.raises(net2code.Net2CodeError, match="n_classes=0"):
        net2code.from_module(three_lines(), n_inputs=2, n_classes=0)


def test_the_default_onnx_exporter_works_with_the_onnx_extra(tmp_path: Path) -> None:
    # torch.onnx.export's default (dynamo) exporter needs onnxscript: the onnx extra has it.
    path = tmp_path / "default.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(three_lines(), (torch.zeros(4, 2),), str(path))
    network = net2code.load(path)
    extraction = net2code.extract(network, "x:-3..3 y:-3..3 -> real")
    assert extraction.verified and extraction.check("network").n == 49


def test_verify_and_bench_work_from_the_output_folder_of_a_file(tmp_path: Path, cli) -> None:
    x = net2code.Domain.parse("x1:bit x2:bit").enumerate()
    model = fit(x, x[:, 0] ^ x[:, 1], (8,))
    path = export(model, torch.zeros(4, 2), tmp_path, "xor", "onnx")
    out = tmp_path / "out"
    proc = cli("extract", str(path), "--domain", "x1:bit x2:bit", "-o", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    proc = cli("verify", str(out))  # result.json names the ONNX file
    assert proc.returncode == 0 and proc.stdout.strip().endswith(": verified"), proc.stdout
    proc = cli("bench", str(out), "--max-seconds", "0.2")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "bench.json").read_text())["workload_size"] == 4
