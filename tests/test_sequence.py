"""RNNs become loops: each test trains a small RNN, extracts its program through the pipeline
and checks the program against the network (every sequence at a short length, held-out ones at
the training length) and against the ground truth at length 100."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import net2code
from net2code.emit import load_function
from net2code.families.recurrent import as_python
from net2code.strategies.machine import Machine, minimise
from net2code.zoo.sequence.data import validate
from net2code.zoo.sequence.tasks import get_task
from net2code.zoo.sequence.train import RNNTrainConfig, save_rnn_run, train_rnn


def _extract(name: str, hidden: int, folder: Path, sequences: int = 6000):
    task = get_task(name)
    x, y = task.generate(sequences, seed=0)
    trained = train_rnn(
        validate(x, y), RNNTrainConfig(hidden=hidden, max_steps=3000), progress=False
    )
    assert trained.test_accuracy == 1.0, trained.summary()
    run = save_rnn_run(trained, folder / name, data_source=f"preset {name}", task=name)
    extraction = net2code.extract(net2code.load(run), timeout=30)
    at_length = extraction.check("network at L=10")
    assert at_length.passed, at_length  # every held-out step agrees with the network
    truth = next(c for c in extraction.checks if c.against == "truth")
    assert truth.size == 100 and truth.passed, truth  # correct at 10x the training length
    return extraction


@pytest.mark.slow
def test_parity_all_is_one_state_bit(tmp_path: Path) -> None:
    extraction = _extract("Parity_All", 1, tmp_path)
    machine = extraction.section["machine"]
    assert machine["states_minimal"] == 2 and machine["closed"]
    program = extraction.program
    assert program.kind == "formula" and "STEP" not in extraction.python_source
    assert program.size <= 8
    # verified: every one of the 2^10 sequences of length 10 agrees with the network
    assert extraction.verified and extraction.check("network").n == 1024
    function = load_function(extraction.python_source)
    assert function([1, 1, 0, 1]) == [1, 0, 0, 1]


@pytest.mark.slow
def test_binary_addition_carries(tmp_path: Path) -> None:
    extraction = _extract("Binary_Addition", 1, tmp_path)
    assert extraction.section["machine"]["states_minimal"] == 2  # the carry
    assert extraction.program.kind == "formula" and extraction.program.size <= 8
    assert extraction.verified and extraction.check("network").n == 4**10
    function = load_function(extraction.python_source)
    # 3 + 3 = 6: bits least significant first, (1,1), (1,1), (0,0) -> 0, 1, 1
    assert function([(1, 1), (1, 1), (0, 0)]) == [0, 1, 1]
    batch = load_function(extraction.numpy_source)
    assert batch(np.array([[[1, 1], [1, 1], [0, 0]]])).tolist() == [[0, 1, 1]]


@pytest.mark.slow
def test_delay_by_one(tmp_path: Path) -> None:
    """Bit_Shift_Right: y_t = x_{t-1} (Prev1 on bits; Prev1 itself is in the suite)."""
    extraction = _extract("Bit_Shift_Right", 1, tmp_path)
    assert extraction.section["machine"]["states_minimal"] == 2
    function = load_function(extraction.python_source)
    assert function([1, 0, 1, 1]) == [0, 1, 0, 1]
    assert extraction.program.size <= 8


@pytest.mark.slow
def test_counter_runs_past_the_training_length(tmp_path: Path) -> None:
    """Evens_Counter: the count grows past anything seen in training (10) and the network's
    classes; the program keeps counting."""
    extraction = _extract("Evens_Counter", 2, tmp_path)
    function = load_function(extraction.python_source)
    assert function([2] * 40)[-1] == 40
    assert extraction.program.kind in ("formula", "counter")
    # ten digits: every sequence of 6 of them (10^6) is the exhaustive check
    assert extraction.check("network").size == 6 and extraction.check("network").passed


def test_minimise_merges_equivalent_states() -> None:
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


@pytest.mark.slow
def test_cli_train_and_extract_rnn(tmp_path: Path, cli) -> None:
    data = tmp_path / "parity.npz"
    assert cli("data", "Parity_All", "-o", str(data), "--sequences", "3000").returncode == 0
    run_dir = tmp_path / "run"
    proc = cli("train", "rnn", "--data", str(data), "-o", str(run_dir), "--search",
               "--sizes", "1,2", "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = cli("extract", str(run_dir), "--truth", "Parity_All", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((run_dir / "result.json").read_text())
    assert result["verified"] and result["family"] == "recurrent"
    truth = [c for c in result["checks"] if c["against"] == "truth"]
    assert truth and truth[0]["passed"] and truth[0]["size"] == 100
    assert result["recurrent"]["truth"] == "Parity_All"
    assert set(result["provenance"]) >= {"seed", "versions", "device"}
    assert (run_dir / "program.py").is_file() and (run_dir / "report.md").is_file()
    proc = cli("verify", str(run_dir), "--no-progress")
    assert proc.returncode == 0, proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("arrays", "needle"),
    [
        ({"x": np.zeros((20, 5)), "y": np.zeros((20, 4))}, "first two axes must match"),
        ({"x": np.zeros((20, 5))}, "needs 'x' and 'y'"),
        ({"x": np.zeros((5, 5)), "y": np.zeros((5, 5))}, "5 sequences is too few"),
        ({"x": np.zeros((20, 5, 9)), "y": np.zeros((20, 5))}, "9 inputs per step"),
    ],
)
def test_bad_data_file(tmp_path: Path, arrays: dict, needle: str, cli, one_line_error) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    out = tmp_path / "out"
    one_line_error(cli("train", "rnn", "--data", str(path), "-o", str(out)), needle)
    assert not out.exists()


def test_unknown_task_and_missing_data(tmp_path: Path, cli, one_line_error) -> None:
    one_line_error(cli("data", "Nope", "-o", str(tmp_path / "x.npz")), "Parity_All")
    one_line_error(
        cli("train", "rnn", "--data", str(tmp_path / "none.npz"), "-o", str(tmp_path / "r")),
        "does not exist",
    )
