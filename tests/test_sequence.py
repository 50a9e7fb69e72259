"""RNNs become loops: each test trains a small RNN, extracts its program and checks the program
against the network at the training length and against the ground truth at length 100."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_one_line_error, run

from net2code.emit import load_function
from net2code.sequence.data import validate
from net2code.sequence.extract import extract_loop
from net2code.sequence.machine import minimise
from net2code.sequence.tasks import get_task
from net2code.sequence.train import RNNTrainConfig, train_rnn
from net2code.sequence.verify import as_python, check


def _train(name: str, hidden: int, sequences: int = 6000, max_steps: int = 3000):
    task = get_task(name)
    x, y = task.generate(sequences, seed=0)
    result = train_rnn(
        validate(x, y), RNNTrainConfig(hidden=hidden, max_steps=max_steps), progress=False
    )
    assert result.test_accuracy == 1.0, result.summary()
    return task, result


def _extract_and_check(name: str, hidden: int):
    task, result = _train(name, hidden)
    model = result.model
    train_x = result.data.x[result.train_index][:3000]
    program, machine = extract_loop(model, train_x, timeout=30)
    function = load_function(program.source)
    test_x = result.data.x[result.test_index]
    at_length = check(function, test_x, model.run(test_x)[0], "network", 0.0)
    assert at_length.passed, at_length  # verified: agrees with the network on every held-out step
    long_x = task.sample(300, 100, seed=7)
    truth = check(function, long_x, task.truth(long_x), "truth", 0.0)
    assert truth.passed, truth  # correct at 10x the training length
    return program, machine


def test_parity_all_is_one_state_bit() -> None:
    program, machine = _extract_and_check("Parity_All", hidden=1)
    assert machine is not None and machine.n_states == 2 and machine.closed
    assert program.kind == "formula"
    assert "STEP" not in program.source  # a loop with a state bit, not a table
    assert program.lines <= 8
    function = load_function(program.source)
    assert function([1, 1, 0, 1]) == [1, 0, 0, 1]


def test_binary_addition_carries() -> None:
    program, machine = _extract_and_check("Binary_Addition", hidden=1)
    assert machine is not None and machine.n_states == 2  # the carry
    assert program.kind == "formula" and program.lines <= 8
    function = load_function(program.source)
    # 3 + 3 = 6: bits least significant first, (1,1), (1,1), (0,0) -> 0, 1, 1
    assert function([(1, 1), (1, 1), (0, 0)]) == [0, 1, 1]


def test_delay_by_one() -> None:
    """Bit_Shift_Right: y_t = x_{t-1} (Prev1 on bits; Prev1 itself is in the suite)."""
    program, machine = _extract_and_check("Bit_Shift_Right", hidden=1)
    assert machine is not None and machine.n_states == 2
    function = load_function(program.source)
    assert function([1, 0, 1, 1]) == [0, 1, 0, 1]
    assert program.lines <= 8


def test_counter_runs_past_the_training_length() -> None:
    """Evens_Counter: the count grows past anything seen in training (10) and the network's
    classes; the program keeps counting."""
    program, _ = _extract_and_check("Evens_Counter", hidden=2)
    function = load_function(program.source)
    assert function([2] * 40)[-1] == 40
    assert program.kind == "formula"


def test_minimise_merges_equivalent_states() -> None:
    from net2code.sequence.machine import Machine

    symbols = np.array([[0], [1]])
    # Parity with the odd state split in two (1 and 2) that behave the same.
    nxt = np.array([[0, 1], [2, 0], [1, 0]])
    parity = np.array([0, 1, 1])
    out = parity[nxt]
    reps = np.zeros((3, 1))
    machine = Machine(symbols, nxt, out, 0, reps, np.ones_like(nxt, dtype=bool))
    small = minimise(machine)
    assert small.n_states == 2
    assert small.closed
    outputs, ok = small.run(np.array([[1, 1, 0, 1]]))
    assert outputs.tolist() == [[1, 0, 0, 1]] and ok.all()


def test_as_python_shapes() -> None:
    assert as_python(np.array([[1, 2]])) == [[1, 2]]
    assert as_python(np.array([[[1, 0], [0, 1]]])) == [[(1, 0), (0, 1)]]


def test_cli_train_and_extract_rnn(tmp_path: Path) -> None:
    data = tmp_path / "parity.npz"
    assert run("data", "Parity_All", "-o", str(data), "--sequences", "3000").returncode == 0
    run_dir = tmp_path / "run"
    proc = run("train", "rnn", "--data", str(data), "-o", str(run_dir), "--search",
               "--sizes", "1,2", "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = run("extract", str(run_dir), "--truth", "Parity_All")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((run_dir / "result.json").read_text())
    assert result["verified"] and result["correct_at_10L"] is True
    for key in ("seed", "versions", "device"):
        assert key in result
    assert (run_dir / "program.py").is_file() and (run_dir / "report.md").is_file()


@pytest.mark.parametrize(
    ("arrays", "needle"),
    [
        ({"x": np.zeros((20, 5)), "y": np.zeros((20, 4))}, "first two axes must match"),
        ({"x": np.zeros((20, 5))}, "needs 'x' and 'y'"),
        ({"x": np.zeros((5, 5)), "y": np.zeros((5, 5))}, "5 sequences is too few"),
        ({"x": np.zeros((20, 5, 9)), "y": np.zeros((20, 5))}, "9 inputs per step"),
    ],
)
def test_bad_data_file(tmp_path: Path, arrays: dict, needle: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    out = tmp_path / "out"
    assert_one_line_error(run("train", "rnn", "--data", str(path), "-o", str(out)), needle)
    assert not out.exists()


def test_unknown_task_and_missing_data(tmp_path: Path) -> None:
    assert_one_line_error(run("data", "Nope", "-o", str(tmp_path / "x.npz")), "Parity_All")
    assert_one_line_error(
        run("train", "rnn", "--data", str(tmp_path / "none.npz"), "-o", str(tmp_path / "r")),
        "does not exist",
    )
