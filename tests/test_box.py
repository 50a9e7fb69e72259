"""Real-valued networks on a box become formulas with an error bound: proved for ReLU networks
(exact max |N - P| per region), sampled for the others. Every network is trained here, on the
box only; the extractor sees the network and the box, never the target."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch
from torch import nn

import net2code
from net2code import regions
from net2code.emit import count_lines
from net2code.network import AffineLayer
from net2code.program import binary, call, const, to_sympy, var

BOX = "x:[-1,1] y:[-1,1]"
X, Y = sympy.symbols("x y", real=True)
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
TARGETS = {
    "abs(x) + abs(y)": (lambda x, y: x.abs() + y.abs(), sympy.Abs(X) + sympy.Abs(Y)),
    "max(x, y)": (torch.maximum, sympy.Max(X, Y)),
    "min(x, y) + x/2": (lambda x, y: torch.minimum(x, y) + x / 2, sympy.Min(X, Y) + X / 2),
    "relu(x - y)": (lambda x, y: torch.relu(x - y), sympy.Max(X - Y, 0)),
    "x*y": (lambda x, y: x * y, X * Y),
    "x**2 + y": (lambda x, y: x**2 + y, X**2 + Y),
    "sin(pi x)/2": (lambda x, y: torch.sin(torch.pi * x) / 2, sympy.sin(sympy.pi * X) / 2),
}


@functools.cache
def trained(activation: str, targets: tuple[str, ...], steps: int = 3000) -> dict[str, nn.Module]:
    """2-16-16-1 MLPs, one per target, fitted on [-1, 1]^2 as one batched model (a leading
    network dimension): fresh uniform points each step plus a 41x41 grid that reaches the
    edges, Adam with a cosine schedule. Returned as ordinary nn.Sequential modules."""
    torch.manual_seed(0)
    torch.set_flush_denormal(True)
    k, width = len(targets), 16
    act = ACTIVATIONS[activation]()
    shapes = [(2, width), (width, width), (width, 1)]
    initial = [[nn.Linear(a, b) for a, b in shapes] for _ in targets]  # torch's default init
    weights = [
        nn.Parameter(torch.stack([net[i].weight.detach().T for net in initial]))
        for i in range(len(shapes))
    ]  # (k, in, out) each
    biases = [
        nn.Parameter(torch.stack([net[i].bias.detach()[None, :] for net in initial]))
        for i in range(len(shapes))
    ]  # (k, 1, out) each
    optimizer = torch.optim.Adam([*weights, *biases], lr=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    axis = torch.linspace(-1, 1, 41)
    grid = torch.cartesian_prod(axis, axis)
    for _ in range(steps):
        x = torch.cat([torch.rand(1024, 2) * 2 - 1, grid])  # (batch, 2)
        goal = torch.stack([TARGETS[t][0](x[:, 0], x[:, 1]) for t in targets])  # (k, batch)
        h = x.expand(k, -1, -1)  # (k, batch, 2)
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            h = act(h) if i < 2 else h
        loss = ((h[..., 0] - goal) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    models = {}
    for n, target in enumerate(targets):
        model = nn.Sequential(
            nn.Linear(2, width), ACTIVATIONS[activation](), nn.Linear(width, width),
            ACTIVATIONS[activation](), nn.Linear(width, 1),
        )  # fmt: skip
        linear = [m for m in model if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for layer, w, b in zip(linear, weights, biases, strict=True):
                layer.weight.copy_(w[n].T)
                layer.bias.copy_(b[n, 0])
        models[target] = model
    return models


RELU_TARGETS = ("abs(x) + abs(y)", "max(x, y)", "min(x, y) + x/2", "relu(x - y)")
TANH_TARGETS = ("x*y", "x**2 + y", "sin(pi x)/2")


def fit_relu(n_inputs: int, width: int, target, steps: int, batch: int) -> nn.Module:
    """A n_inputs-width-width-1 ReLU MLP fitted to target(x) on fresh uniform points of
    [-1, 1]^n_inputs each step."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(n_inputs, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
        nn.Linear(width, 1),
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        x = torch.rand(batch, n_inputs) * 2 - 1
        loss = ((model(x)[:, 0] - target(x)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def equivalent(found: sympy.Expr, expected: sympy.Expr) -> bool:
    """sympy equality, through Piecewise for max, min and abs."""
    difference = (found - expected).rewrite(sympy.Piecewise)
    return sympy.simplify(sympy.piecewise_fold(difference)) == 0


def layers_of(model: nn.Module) -> tuple[AffineLayer, ...]:
    linear = [m for m in model if isinstance(m, nn.Linear)]
    return tuple(
        AffineLayer(m.weight.detach().double().numpy(), m.bias.detach().double().numpy(), i < 2)
        for i, m in enumerate(linear)
    )


@pytest.mark.parametrize("target", RELU_TARGETS)
def test_relu_network_becomes_its_formula_with_a_proved_bound(target: str, tmp_path: Path) -> None:
    model = trained("relu", RELU_TARGETS)[target]
    network = net2code.from_module(model, n_inputs=2, n_classes=1)

    extraction = net2code.extract(network, BOX, timeout=60)
    folder = extraction.save(tmp_path / "out")

    assert extraction.strategy == "symbolic"
    assert equivalent(to_sympy(extraction.program.expr), TARGETS[target][1]), extraction.program
    result = json.loads((folder / "result.json").read_text())
    error = result["error"]
    low, high = error["output_range"]
    assert error["kind"] == "proved" and 0 < error["max_abs_error"] <= 0.05 * (high - low)
    # The proof is a bound: no fresh point is further from the formula than it says.
    points = np.random.default_rng(7).uniform(-1, 1, size=(50_000, 2))
    gap = np.abs(network.raw(points)[:, 0] - extraction.program(points)).max()
    assert gap <= error["max_abs_error"] + 1e-6
    assert not result["verified"]  # within epsilon, not at float tolerance
    assert "proved within" in extraction.summary_line()
    assert count_lines((folder / "program.py").read_text()) <= 5
    # The exact tree stays beside it, verified, and both sizes are reported.
    fallback = result["fallback"]
    assert fallback["verified"] and fallback["strategy"] == "tree"
    assert fallback["size"] > result["program"]["size"]
    written = (folder / "program_exact.py").is_file()
    assert written or any("program_exact.py withheld" in note for note in result["notes"])


@pytest.mark.parametrize("target", TANH_TARGETS)
def test_tanh_network_becomes_its_formula_with_a_sampled_bound(target: str) -> None:
    model = trained("tanh", TANH_TARGETS, steps=5000)[target]
    network = net2code.from_module(model, n_inputs=2, n_classes=1)

    extraction = net2code.extract(network, BOX, timeout=60, analyses=False)

    assert extraction.strategy == "symbolic"
    assert equivalent(to_sympy(extraction.program.expr), TARGETS[target][1]), extraction.program
    error = extraction.to_dict()["error"]
    low, high = error["output_range"]
    assert error["kind"] == "sampled" and error["samples"] == 100_000
    assert error["max_abs_error"] <= 0.01 * (high - low)
    assert error["rms_error"] < error["max_abs_error"]
    front = extraction.candidate.stats["pareto_front"]
    assert [f["complexity"] for f in front] == sorted(f["complexity"] for f in front)
    assert all({"python", "numpy", "sympy", "latex"} <= set(f) for f in front)


def test_sigmoid_max_is_a_formula_not_a_megabyte_tree(tmp_path: Path) -> None:
    model = trained("sigmoid", ("max(x, y)",), steps=5000)["max(x, y)"]
    network = net2code.from_module(model, n_inputs=2, n_classes=1)

    extraction = net2code.extract(network, BOX, timeout=60, analyses=False)
    folder = extraction.save(tmp_path / "out")

    assert extraction.program.summary == "max(x, y)"
    error = extraction.to_dict()["error"]
    assert error["kind"] == "sampled" and error["max_abs_error"] > 0
    assert "sampled max |N - P|" in extraction.summary_line()
    assert (folder / "program.py").stat().st_size < 2_000
    # Asked for the fitted tree instead, it stops at its leaf cap.
    approx = net2code.extract(network, BOX, strategies=["approx-tree"], analyses=False)
    assert approx.candidate.stats["leaves"] <= 256 and "capped" in approx.candidate.stats


def random_relu(widths: tuple[int, ...], seed: int) -> tuple[AffineLayer, ...]:
    rng = np.random.default_rng(seed)
    sizes = [2, *widths, 1]
    pairs = list(zip(sizes, sizes[1:], strict=False))
    weights = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in pairs]
    biases = [rng.standard_normal(b) * 0.3 for _, b in pairs]
    return tuple(
        AffineLayer(w, c, i < len(widths))
        for i, (w, c) in enumerate(zip(weights, biases, strict=True))
    )


def forward(layers: tuple[AffineLayer, ...], points: np.ndarray) -> np.ndarray:
    h = points.T
    for layer in layers:
        h = layer.weight @ h + layer.bias[:, None]
        h = np.maximum(h, 0) if layer.relu else h
    return h[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_bound_is_exact_and_both_region_methods_agree(seed: int) -> None:
    """The proved max |N - P| is reached (a point attains it) and never beaten by sampling;
    polygon clipping and one LP per split find the same regions and the same bound."""
    layers = random_relu((8, 8), seed)
    formula = binary(
        "+", call("max", var("x"), var("y")), call("abs", binary("-", var("x"), const(0.5)))
    )
    lows, highs = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    bounds = [
        regions.max_abs_difference(layers, formula, ("x", "y"), lows, highs, method=method)
        for method in ("polygon", "lp")
    ]  # fmt: skip
    assert bounds[0].network_regions == bounds[1].network_regions
    assert bounds[0].max_abs_error == pytest.approx(bounds[1].max_abs_error, rel=1e-6)
    bound = bounds[0]
    points = np.random.default_rng(seed).uniform(-1, 1, size=(100_000, 2))
    exact = np.maximum(points[:, 0], points[:, 1]) + np.abs(points[:, 0] - 0.5)
    sampled = np.abs(forward(layers, points) - exact).max()
    assert sampled <= bound.max_abs_error + 1e-9
    where = np.array([bound.where])
    at = np.abs(
        forward(layers, where) - (np.maximum(where[:, 0], where[:, 1]) + np.abs(where[:, 0] - 0.5))
    )
    assert at[0] == pytest.approx(bound.max_abs_error, rel=1e-6)


def test_regions_in_three_dimensions_match_a_dense_sample() -> None:
    """n-D polytopes (interval pruning, one LP per split): every sampled activation pattern
    is a region found, and the bound holds."""
    rng = np.random.default_rng(3)
    layers = (
        AffineLayer(rng.standard_normal((6, 3)), rng.standard_normal(6) * 0.3, True),
        AffineLayer(rng.standard_normal((1, 6)), rng.standard_normal(1), False),
    )
    lows, highs = -np.ones(3), np.ones(3)
    pieces, stats = regions.affine_pieces(layers, lows, highs)
    points = rng.uniform(-1, 1, size=(100_000, 3))
    patterns = {tuple(row) for row in (layers[0].weight @ points.T + layers[0].bias[:, None] > 0).T}
    assert len(pieces) >= len(patterns) and stats["lps_solved"] > 0
    formula = call("abs", var("a"))
    bound = regions.max_abs_difference(layers, formula, ("a", "b", "c"), lows, highs)
    sampled = np.abs(forward(layers, points) - np.abs(points[:, 0])).max()
    assert sampled <= bound.max_abs_error + 1e-9


def test_cli_large_network_caps_and_no_silent_empty_result(
    tmp_path: Path, cli, one_line_error
) -> None:
    """2-32-32-1 on |x - y| + y/2: a formula and its bound; the exact tree over 100 KB is
    withheld unless --allow-large. A strategy that finds nothing says so, and --strict exits 1."""
    model = fit_relu(2, 32, lambda x: (x[:, 0] - x[:, 1]).abs() + x[:, 1] / 2, 1000, 2048)
    path = tmp_path / "net.pt2"
    batch = torch.export.Dim("batch")
    torch.export.save(
        torch.export.export(model, (torch.zeros(4, 2),), dynamic_shapes=({0: batch},)), path
    )

    out = tmp_path / "out"
    proc = cli("extract", str(path), "--domain", BOX, "-o", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    expected = sympy.Abs(X - Y) + Y / 2
    program = result["program"]["summary"]
    assert equivalent(
        sympy.sympify(program.replace("abs", "Abs"), locals={"x": X, "y": Y}), expected
    )
    assert result["error"]["kind"] == "proved"
    tree = result["search"]["stats"]["exact_tree"]
    assert tree["activation_regions"] > 100
    # Its exact tree is over 100 KB: withheld, said so, written with --allow-large.
    assert result["fallback"]["file"] is None and not (out / "program_exact.py").exists()
    assert any("withheld" in note and "--allow-large" in note for note in result["notes"])
    assert "withheld" in proc.stderr
    forced = tmp_path / "forced"
    proc = cli("extract", str(path), "--domain", BOX, "--strategy", "tree", "--allow-large",
               "-o", str(forced), "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (forced / "program.py").stat().st_size > 100_000

    # A sigmoid network on noise: no formula is within the budget, so no program; says why.
    torch.manual_seed(1)
    noisy = nn.Sequential(nn.Linear(2, 64), nn.Sigmoid(), nn.Linear(64, 1))
    with torch.no_grad():
        noisy[0].weight.mul_(20)
    path = tmp_path / "noise.pt2"
    torch.export.save(
        torch.export.export(noisy, (torch.zeros(4, 2),), dynamic_shapes=({0: batch},)), path
    )
    proc = cli("extract", str(path), "--domain", BOX, "--strategy", "symbolic", "--strict",
               "-o", str(tmp_path / "none"), "--no-progress")  # fmt: skip
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.startswith("no program")]
    assert len(lines) == 1 and "symbolic: no formula within 5%" in lines[0]


def test_verify_proves_the_bound_again_from_the_file(tmp_path: Path, cli) -> None:
    """`net2code verify` reads program.py back as a formula and proves its bound afresh; a
    formula edited by hand gets its own, larger bound, never the recorded one."""
    model = trained("relu", RELU_TARGETS)["max(x, y)"]
    path = tmp_path / "max.pt2"
    batch = torch.export.Dim("batch")
    exported = torch.export.export(model, (torch.zeros(4, 2),), dynamic_shapes=({0: batch},))
    torch.export.save(exported, path)
    out = tmp_path / "out"
    assert (
        cli("extract", str(path), "--domain", BOX, "-o", str(out), "--no-progress").returncode == 0
    )
    recorded = json.loads((out / "result.json").read_text())["error"]["max_abs_error"]
    proc = cli("verify", str(out), "--no-progress")
    assert proc.returncode == 1  # proved within epsilon is not verified
    assert "network, bound" in proc.stdout and "per region" not in proc.stdout
    assert f"{recorded:.4g}" in proc.stdout
    program = out / "program.py"
    program.write_text(program.read_text().replace("return max(x, y)", "return max(x, y) + 0.25"))
    proc = cli("verify", str(out), "--no-progress")
    assert (
        proc.returncode == 1
        and f"{recorded:.4g}" not in proc.stdout.split("network, bound")[1][:80]
    )


def test_a_kink_away_from_zero_is_found_in_one_dimension() -> None:
    """|x - 1/2|: the kink's place is fitted (abs(g - c)), snapped to 1/2, and proved."""
    model = fit_relu(1, 16, lambda x: (x[:, 0] - 0.5).abs(), 1500, 512)
    network = net2code.from_module(model, n_inputs=1, n_classes=1)
    extraction = net2code.extract(network, "x:[-1,1]", analyses=False)
    x = sympy.Symbol("x", real=True)
    assert equivalent(to_sympy(extraction.program.expr), sympy.Abs(x - sympy.Rational(1, 2)))
    error = extraction.to_dict()["error"]
    assert error["kind"] == "proved" and error["max_abs_error"] < 0.05 * 1.5
