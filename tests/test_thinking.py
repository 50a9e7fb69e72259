"""Thinking networks: maze and prefix-sum data, the DT-net, and the rule extracted from it,
checked against the network (a hand-built dead-end-filling net, and a tiny net trained here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import net2code
from net2code.emit import PROGRAM_FILE, emit, load_function
from net2code.errors import ConfigError
from net2code.families.iterated import encode
from net2code.strategies.rules import (
    ByCount,
    DeletionOnly,
    IterationBehaviour,
    RuleProgram,
    RuleTableStrategy,
    learn_rule,
)
from net2code.strategies.scan import fit_scan
from net2code.zoo.thinking.data import (
    END,
    START,
    WALL,
    all_bit_strings,
    all_mazes,
    enlarge,
    is_tree,
    is_valid_path,
    make_mazes,
    make_prefix_sums,
    maze_count,
)
from net2code.zoo.thinking.evaluate import (
    accuracy_by_iterations,
    confidence_stop,
    held_out,
    iteration_curve,
)
from net2code.zoo.thinking.handbuilt import dead_end_filling_net
from net2code.zoo.thinking.model import DTNet, DTNetConfig, parameter_count


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


def test_every_small_maze_and_bit_string_is_enumerated() -> None:
    mazes = all_mazes(5)
    assert len(mazes) == 13_824  # 192 spanning trees of the 3x3 cells x 72 start-end pairs
    assert len({m.tobytes() for m in mazes.kinds}) == 13_824
    assert all(
        is_tree(k) and is_valid_path(k, y)
        for k, y in zip(mazes.kinds[::97], mazes.labels[::97], strict=True)
    )
    assert len(all_mazes(3)) == 48 and maze_count(3) == 48 and maze_count(5) == 13_824
    with pytest.raises(ConfigError, match="too many mazes"):
        all_mazes(7)
    bits = all_bit_strings(4)
    assert bits.bits.shape == (16, 4) and len({b.tobytes() for b in bits.bits}) == 16


def _selection(net: DTNet, size: int, count: int, seed: int) -> IterationBehaviour:
    x, y, mask, mazes = held_out("maze", size, count, seed=seed)
    _, _, answers = confidence_stop(net, x, y, mask, max_iters=200)
    learned = learn_rule(net, [make_mazes(40, 9, seed=77).kinds], lambda k: encode("maze", k))
    return IterationBehaviour(net, "maze", mazes.kinds, answers, lambda: learned)


def test_the_rule_strategies_recover_dead_end_filling() -> None:
    net = dead_end_filling_net()
    observation = _selection(net, 13, 20, seed=5)
    learned = observation.learned
    assert learned.is_dead_end_filling() and learned.consistency() == 1.0
    assert learned.totalistic() is not None
    for strategy in (DeletionOnly(), ByCount(), RuleTableStrategy()):
        candidate = strategy.search(observation, timeout=60)
        assert candidate.exact and candidate.stats["agreement_with_network"] == 1.0
        assert candidate.program.summary == "dead-end filling"
        assert candidate.stats["same_answers_as_dead_end_filling"] == 1.0
    named = DeletionOnly().search(observation, timeout=60).program
    table = RuleProgram(learned)  # the table itself, not named
    assert table.summary != "dead-end filling"
    mazes = make_mazes(10, 31, seed=3)
    for program in (named, table):
        files = emit(program, ["test"])
        namespace: dict = {}
        exec(files[PROGRAM_FILE], namespace)
        solve, batch = namespace["program"], load_function(files["program_numpy.py"])
        assert namespace["solve"] is solve  # the old name, kept for one release
        assert np.array_equal(batch(mazes.kinds), mazes.labels)
        for kinds, label in zip(mazes.kinds, mazes.labels, strict=True):
            assert np.array_equal(solve(kinds), label)


def test_the_pipeline_verifies_dead_end_filling_on_every_5x5_maze(dead_end_run: Path) -> None:
    extraction = net2code.extract(net2code.load(dead_end_run), sizes=(9, 13), count=20)
    assert extraction.program.summary == "dead-end filling" and extraction.verified
    exhaustive = extraction.check("network")
    assert exhaustive.scope == "exhaustive" and exhaustive.n == 13_824 and exhaustive.passed
    for size in (9, 13):
        sampled = extraction.check(f"network at {size}")
        assert sampled.passed and sampled.details["network_solved"] == 1.0
    program_only = extraction.check("truth at 201")
    assert program_only.n == 20 and program_only.passed


def test_scan_fit_names_running_parity() -> None:
    data = make_prefix_sums(50, 20, seed=0)
    scan = fit_scan(data.bits, data.labels)
    assert scan.name == "running-parity scan (prefix sum mod 2)" and scan.consistency == 1.0
    assert np.array_equal(scan.run(data.bits), data.labels)
    reverse = fit_scan(data.bits, np.cumsum(data.bits[:, ::-1], axis=1)[:, ::-1] % 2)
    assert reverse.direction == "right-to-left" and reverse.consistency == 1.0


def test_cli_rejects_bad_input(tmp_path: Path, dead_end_run: Path, cli, one_line_error) -> None:
    one_line_error(cli("train", "maze", "-o", str(tmp_path / "m"), "--size", "8"), "maze size 8")
    assert not (tmp_path / "m").exists()
    one_line_error(cli("train", "maze", "-o", str(tmp_path / "m"), "--alpha", "1.5"), "alpha 1.5")
    one_line_error(cli("evaluate", str(tmp_path)), "has no config.json")
    one_line_error(cli("evaluate", str(dead_end_run), "--sizes", "9,x"), "--sizes '9,x'")
    one_line_error(cli("evaluate", str(dead_end_run), "--sizes", "10"), "maze size 10")
    one_line_error(cli("extract", str(dead_end_run), "--sizes", "8"), "maze size 8")
    one_line_error(cli("extract", str(dead_end_run), "--truth", "x"), "--truth is not used")


@pytest.mark.slow
def test_tiny_trained_net_is_dead_end_filling_via_the_cli(tmp_path: Path, cli) -> None:
    # A width-16 DT-net trained for 400 steps on 5x5 mazes (about 30 s), then the four commands.
    folder = tmp_path / "tiny"
    args = ["--size", "5", "--width", "16", "--max-iters", "10", "--lr", "3e-3"]
    proc = cli(
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

    proc = cli(
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
    assert at_5["confidence_stop"]["accuracy"] >= 0.9 and at_5["confidence_stop"]["hit_limit"] == 0
    corrections = evaluation["error_correction"]
    assert set(corrections) >= {"noise_added_half_way", "state_replaced_half_way"}
    assert corrections["state_replaced_half_way"]["just_corrupted"] < 0.5  # the noise does harm
    assert "after_moving_end" in corrections["move_end_after_solving"]

    proc = cli("extract", str(folder), "--sizes", "5,7", "--count", "40", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((folder / "result.json").read_text())
    assert result["family"] == "iterated" and result["program"]["summary"] == "dead-end filling"
    sampled = [c for c in result["checks"] if c["name"].startswith("network at ")]
    for check in sampled:
        # the rule gives the network's answer on every maze the network solves ...
        assert check["details"]["agreement_on_solved"] == 1.0
        # ... and disagrees exactly where the network is wrong, since the rule is always right
        assert check["agreement"] == pytest.approx(check["details"]["network_solved"])
        assert check["details"]["program_solved"] == 1.0
    # verified on the domain (every 5x5 maze) exactly when the network agrees with the rule on
    # every one; the larger sizes are reported beside it
    in_domain = [c for c in result["checks"] if c["against"] == "network" and c["within_domain"]]
    assert [c["size"] for c in in_domain] == [5, 5, 5]  # numpy, program.py, --sizes 5
    assert result["verified"] == all(c["passed"] for c in in_domain)
    assert not any(c["within_domain"] for c in result["checks"] if c["size"] == 7)
    solve = load_function((folder / "program.py").read_text())
    big = make_mazes(2, 61, seed=9)
    assert all(np.array_equal(solve(k), lab) for k, lab in zip(big.kinds, big.labels, strict=True))

    proc = cli("report", str(folder))
    assert proc.returncode == 0, proc.stderr
    report = (folder / "report.md").read_text()
    for picture in ("maze.png", "thinking.png", "thinking_animated.gif", "prediction.png",
                    "accuracy.png"):  # fmt: skip
        assert (folder / "figures" / picture).stat().st_size > 500
        assert f"figures/{picture}" in report
    assert "Extrapolation" in report  # eval.md, included
    assert (
        report.count("data:image") == 0 and "data:image/gif" in (folder / "report.html").read_text()
    )
