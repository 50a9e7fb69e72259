"""Thinking networks: maze and prefix-sum data, the DT-net, and the rule extracted from it,
checked against the network (a hand-built dead-end-filling net, and a tiny net trained here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli import assert_one_line_error, run

from net2code.emit import load_function
from net2code.errors import ConfigError
from net2code.thinking.data import (
    END,
    START,
    WALL,
    enlarge,
    is_tree,
    is_valid_path,
    make_mazes,
    make_prefix_sums,
)
from net2code.thinking.evaluate import (
    accuracy_by_iterations,
    confidence_stop,
    held_out,
    iteration_curve,
)
from net2code.thinking.handbuilt import dead_end_filling_net, save_dead_end_filling_run
from net2code.thinking.model import DTNet, DTNetConfig, parameter_count
from net2code.thinking.rule import emit_rule, learn_rule, select_rule
from net2code.thinking.run import ExtractConfig, extract_run
from net2code.thinking.scan import fit_scan


@pytest.mark.parametrize("size", [3, 5, 9, 21])
def test_mazes_are_trees_with_a_valid_shortest_path(size: int) -> None:
    mazes = make_mazes(40, size, seed=1)
    assert mazes.kinds.shape == (40, size + 2, size + 2)
    for kinds, label in zip(mazes.kinds, mazes.labels, strict=True):
        assert is_tree(kinds)
        assert is_valid_path(kinds, label)
        assert (kinds == START).sum() == 1 and (kinds == END).sum() == 1
        assert (kinds[0] == WALL).all() and (kinds[:, -1] == WALL).all()
    again = make_mazes(40, size, seed=1)
    assert np.array_equal(mazes.kinds, again.kinds)
    assert not np.array_equal(mazes.kinds, make_mazes(40, size, seed=2).kinds)


def test_path_check_rejects_broken_labels() -> None:
    mazes = make_mazes(1, 9, seed=0)
    kinds, label = mazes.kinds[0], mazes.labels[0].copy()
    assert is_valid_path(kinds, label)
    inner = np.argwhere((label == 1) & (kinds != START) & (kinds != END))[0]
    label[tuple(inner)] = 0
    assert not is_valid_path(kinds, label)


def test_enlarged_format_is_the_papers() -> None:
    mazes = make_mazes(2, 9, seed=0)
    assert enlarge(mazes.kinds).shape == (2, 24, 24)  # 9x9 -> 24 px, as in the paper


def test_prefix_sums_are_running_parity() -> None:
    data = make_prefix_sums(5, 16, seed=0)
    assert np.array_equal(data.labels, np.cumsum(data.bits, axis=1) % 2)
    assert data.inputs().shape == (5, 1, 16)


def test_bad_sizes_fail_with_the_value() -> None:
    with pytest.raises(ConfigError, match="maze size 8 must be an odd integer"):
        make_mazes(1, 8)
    with pytest.raises(ConfigError, match="width 0"):
        DTNetConfig(width=0)


def test_dtnet_has_the_papers_parameter_count() -> None:
    assert parameter_count(DTNet(DTNetConfig(width=128))) == 783_504  # maze model, width 128
    net = DTNet(DTNetConfig(dim=1, in_channels=1, width=16, recall=False))
    logits, _ = net(torch.zeros(2, 1, 40), iters=3)
    assert logits.shape == (2, 2, 40)


def test_hand_built_net_runs_dead_end_filling() -> None:
    net = dead_end_filling_net()
    x, y, mask, _ = held_out("maze", 13, 30)
    curve = accuracy_by_iterations(net, x, y, mask, [3, 200])
    assert curve[3] < 0.5 and curve[200] == 1.0  # it needs the iterations, then it is exact
    _, kinds = iteration_curve(net, x, y, mask, [3, 200])
    # dead-end filling never cuts the path: early failures are dead ends not yet filled
    assert kinds[3] == {"missing": 0, "extra": round(30 * (1 - curve[3])), "both": 0}
    assert kinds[200] == {"missing": 0, "extra": 0, "both": 0}
    stop, stops, answers = confidence_stop(net, x, y, mask, max_iters=200)
    assert stop.accuracy == 1.0 and stop.hit_limit == 0 and stops.max() < 200
    assert np.array_equal(answers * mask.numpy(), y.numpy())


def test_extraction_recovers_dead_end_filling(tmp_path: Path) -> None:
    net = dead_end_filling_net()
    learned = learn_rule(net, sizes=(9,), count=40)
    assert learned.is_dead_end_filling() and learned.consistency() == 1.0
    assert learned.totalistic() is not None
    x, y, mask, mazes = held_out("maze", 13, 20, seed=5)
    _, _, answers = confidence_stop(net, x, y, mask, max_iters=200)
    rule, info = select_rule(learned, mazes.kinds, answers)
    assert rule.name == "dead-end filling"
    assert info["same_answers_as_dead_end_filling"] == 1.0
    assert max(info["candidates_agreement"].values()) == 1.0
    source = emit_rule(rule)
    assert "Dead-end filling" in source
    solve = load_function(source, "solve")
    table_solve = load_function(emit_rule(rule, simplified=False), "solve")
    mazes = make_mazes(10, 31, seed=3)
    for kinds, label in zip(mazes.kinds, mazes.labels, strict=True):
        assert np.array_equal(solve(kinds), label)
        assert np.array_equal(table_solve(kinds), label)

    run_dir = save_dead_end_filling_run(tmp_path / "def")
    config = ExtractConfig(sizes=(9, 13), count=20, learn_count=30, rule_only_count=2)
    result = extract_run(run_dir, config=config, progress=False)
    assert result["rule"]["name"] == "dead-end filling"
    assert result["verified"]
    for row in result["sizes"]:
        assert row["agreement"] == 1.0 and row["network_solved"] == 1.0
    assert result["program_only"][0]["size"] == 201
    assert result["program_only"][0]["program_solved"] == 1.0
    assert (run_dir / "program.py").is_file() and (run_dir / "extract.md").is_file()


def test_scan_fit_names_running_parity() -> None:
    data = make_prefix_sums(50, 20, seed=0)
    scan = fit_scan(data.bits, data.labels)
    assert scan.name == "running-parity scan (prefix sum mod 2)" and scan.consistency == 1.0
    assert np.array_equal(scan.run(data.bits), data.labels)
    reverse = fit_scan(data.bits, np.cumsum(data.bits[:, ::-1], axis=1)[:, ::-1] % 2)
    assert reverse.direction == "right-to-left" and reverse.consistency == 1.0


def test_cli_rejects_bad_input(tmp_path: Path) -> None:
    assert_one_line_error(
        run("train", "maze", "-o", str(tmp_path / "m"), "--size", "8"), "maze size 8"
    )
    assert not (tmp_path / "m").exists()
    assert_one_line_error(
        run("train", "maze", "-o", str(tmp_path / "m"), "--alpha", "1.5"), "alpha 1.5"
    )
    assert_one_line_error(run("evaluate", str(tmp_path)), "not a DT-net run folder")
    save_dead_end_filling_run(tmp_path / "def")
    assert_one_line_error(run("evaluate", str(tmp_path / "def"), "--sizes", "9,x"), "--sizes '9,x'")
    assert_one_line_error(run("evaluate", str(tmp_path / "def"), "--sizes", "10"), "maze size 10")


def test_tiny_trained_net_is_dead_end_filling_via_the_cli(tmp_path: Path) -> None:
    # A width-16 DT-net trained for 400 steps on 5x5 mazes (about 30 s), then the four commands.
    folder = tmp_path / "tiny"
    args = ["--size", "5", "--width", "16", "--max-iters", "10", "--lr", "3e-3"]
    proc = run(
        "train",
        "maze",
        "-o",
        str(folder),
        *args,
        "--warmup",
        "20",
        "--steps",
        "400",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    training = json.loads((folder / "train.json").read_text())
    assert training["history"][-1]["accuracy"] >= 0.9  # exact match on 200 held-out 5x5 mazes
    assert training["seed"] == 0 and "torch" in training["versions"]
    assert training["training"]["warmup"] == 20 and training["training"]["max_iters"] == 10

    proc = run(
        "evaluate",
        str(folder),
        "--sizes",
        "5,7",
        "--iters",
        "5,10,40",
        "--count",
        "40",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    evaluation = json.loads((folder / "eval.json").read_text())
    at_5 = evaluation["sizes"][0]
    assert at_5["size"] == 5 and at_5["accuracy"]["10"] >= 0.9
    assert 0.0 <= at_5["confidence_stop"]["accuracy"] <= 1.0
    corrections = evaluation["error_correction"]
    assert set(corrections) >= {"noise_added_half_way", "state_replaced_half_way"}
    assert corrections["state_replaced_half_way"]["just_corrupted"] < 0.5  # the noise does harm
    assert "after_moving_end" in corrections["move_end_after_solving"]

    proc = run("extract", str(folder), "--sizes", "5,7", "--count", "40", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((folder / "result.json").read_text())
    assert result["rule"]["name"] == "dead-end filling"
    for row in result["sizes"]:
        # the rule gives the network's answer on every maze the network solves ...
        assert row["agreement_on_solved"] == 1.0
        # ... and disagrees exactly where the network is wrong, since the rule is always right
        assert row["agreement"] == pytest.approx(row["network_solved"])
        assert row["program_solved"] == 1.0
    assert result["verified"] == all(r["network_solved"] == 1.0 for r in result["sizes"])
    solve = load_function((folder / "program.py").read_text(), "solve")
    big = make_mazes(2, 61, seed=9)
    assert all(np.array_equal(solve(k), lab) for k, lab in zip(big.kinds, big.labels, strict=True))

    proc = run("report", str(folder))
    assert proc.returncode == 0, proc.stderr
    report = (folder / "report" / "report.md").read_text()
    for picture in ("maze.png", "thinking.png", "thinking.gif", "prediction.png", "accuracy.png"):
        assert (folder / "report" / picture).stat().st_size > 500
        assert picture in report
