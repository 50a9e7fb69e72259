"""Emitted code is standalone, named `program`, lint-clean, and computes what the program
object computes, for every kind of program the strategies return."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from net2code.analyses.mechanism.faithful import FaithfulProgram, emit_faithful
from net2code.emit import NUMPY_FILE, PROGRAM_FILE, emit, load_function
from net2code.program import ExpressionProgram, binary, call, const, lookup, var
from net2code.strategies.automata import CounterMachine, CounterProgram
from net2code.strategies.loops import Formulas, LoopProgram
from net2code.strategies.machine import Machine
from net2code.strategies.rules import RuleProgram, RuleTable, dead_end_filling_rule
from net2code.strategies.scan import ScanProgram, ScanRule

EXPRESSIONS = [
    binary("%", binary("+", var("a"), var("b")), const(59)),
    call("max", call("abs", binary("-", var("a"), var("b"))), binary("<", var("a"), const(3))),
    binary("//", binary("**", var("a"), const(2)), const(-7)),
    const(4),
]


def lint(folder: Path, *names: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,B,UP",
         "--ignore", "E501", *names],
        cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_emitted_variants_agree_with_the_expression(expr, tmp_path: Path) -> None:
    program = ExpressionProgram(expr, ("a", "b"))
    header = ["A header line that is long enough to be wrapped " * 3]
    files = emit(program, header)
    plain, vectorised = files[PROGRAM_FILE], files[NUMPY_FILE]

    tree = ast.parse(plain)
    assert not any(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.walk(tree))
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert [f.name for f in functions] == ["program"]
    assert [arg.arg for arg in functions[0].args.args] == ["a", "b"]

    grid = np.array([(a, b) for a in range(-5, 6) for b in range(-5, 6)])
    expected = program(grid)
    f, g = load_function(plain), load_function(vectorised)
    assert [f(int(a), int(b)) for a, b in grid] == expected.tolist()
    assert g(grid[:, 0], grid[:, 1]).tolist() == expected.tolist()

    (tmp_path / PROGRAM_FILE).write_text(plain)
    (tmp_path / NUMPY_FILE).write_text(vectorised)
    lint(tmp_path, PROGRAM_FILE, NUMPY_FILE)


def _parity_machine() -> Machine:
    symbols = np.array([[0], [1]])
    nxt = np.array([[0, 1], [1, -1]])  # state 1 has not seen input 1: an open machine
    out = np.array([[0, 1], [1, 0]])
    return Machine(symbols, nxt, out, 0, np.zeros((2, 1)), nxt >= 0)


def _majority_counter() -> CounterMachine:
    """c += 1 for a 1, -1 for a 0; the output is whether c > 0 (one control state)."""
    symbols = np.array([[x, z] for x in (0, 1) for z in (-1, 0, 1)])
    nxt = np.zeros((1, 6), dtype=np.int64)
    out = (symbols[:, 1] > 0).astype(np.int64)[None, :]
    return CounterMachine((-1, 1), Machine(symbols, nxt, out, 0, np.zeros((1, 0)), nxt >= 0))


def _unnamed(rule: RuleTable, totalistic: bool = True) -> RuleTable:
    """The same table without its name: emitted as a rule by neighbour count, or (with one
    entry changed, so that the count no longer decides) as the full table."""
    rule.name = None
    if not totalistic:
        rule.table[1, 1, 1] = 1  # an open pixel alive with only its upper neighbour survives
    return rule


PROGRAMS = {
    "lookup table": ExpressionProgram(
        lookup("TABLE", binary("+", binary("*", var("a"), const(2)), var("b"))),
        ("a", "b"),
        (("TABLE", (0, 1, 1, 0)),),
    ),
    "loop formula": LoopProgram(
        "formula",
        ("x",),
        True,
        Formulas(
            "the output after input 0",
            0,
            call("abs", binary("-", var("s"), var("x"))),
            var("s"),
            True,
        ),
    ),  # fmt: skip
    "loop table": LoopProgram("table", ("x",), False, machine=_parity_machine()),
    "loop recurrence": LoopProgram(
        "recurrence",
        ("x",),
        True,
        recurrence={"expression": "2 * y1 - y2 + x0", "y_lags": 2, "x_lags": 0},
    ),  # fmt: skip
    "loop formula, bits": LoopProgram(
        "formula",
        ("x",),
        True,
        Formulas("breadth-first order", 1, binary("+", var("s"), var("x")), var("s"), True),
        bits=2,
    ),  # fmt: skip
    "counter machine, formulas": CounterProgram(
        ("x",),
        _majority_counter(),
        binary("-", binary("*", const(2), var("x")), const(1)),
        Formulas("none", 0, None, binary("<", const(0), var("z")), False),
    ),  # fmt: skip
    "counter machine, tables": CounterProgram(("x",), _majority_counter(), None, None),
    "dead-end filling": RuleProgram(dead_end_filling_rule()),
    "rule by count": RuleProgram(_unnamed(dead_end_filling_rule())),
    "rule table": RuleProgram(_unnamed(dead_end_filling_rule(), totalistic=False)),
    "scan": ScanProgram(ScanRule("right-to-left", (0, 1, 1, 0), (0, 1), 1.0)),
}


@pytest.mark.parametrize("kind", list(PROGRAMS))
def test_every_kind_of_program_is_emitted_lint_clean(kind: str, tmp_path: Path) -> None:
    program = PROGRAMS[kind]
    files = emit(program, [f"A {kind} program", "", "Checked by nobody."])
    for name, source in files.items():
        (tmp_path / name).write_text(source)
        namespace: dict = {}
        exec(compile(source, name, "exec"), namespace)
        assert callable(namespace["program"])
    lint(tmp_path, *files)
    assert program.size > 0 and program.size_unit in ("nodes", "lines")


def test_the_faithful_program_goes_through_the_same_emitter(tmp_path: Path) -> None:
    faithful = FaithfulProgram(7, [(1, "clock", (1.0, 0.0))])
    source = emit_faithful(faithful, ["A Clock on Z_7"])
    (tmp_path / "mechanism.py").write_text(source)
    lint(tmp_path, "mechanism.py")
    program = load_function(source)
    assert all(program(a, b) == (a + b) % 7 for a in range(7) for b in range(7))


def test_loops_run_alike_one_at_a_time_and_batched() -> None:
    xs = np.array([[1, 0, 1, 1], [0, 0, 1, 0]])
    for kind in ("loop formula", "loop recurrence"):
        files = emit(PROGRAMS[kind], ["test"])
        one, batch = load_function(files[PROGRAM_FILE]), load_function(files[NUMPY_FILE])
        assert np.allclose(batch(xs), [one(list(map(int, row))) for row in xs])
    files = emit(PROGRAMS["loop table"], ["test"])
    one, batch = load_function(files[PROGRAM_FILE]), load_function(files[NUMPY_FILE])
    assert one([1, 0]) == [1, 1] and batch(np.array([[1, 0]])).tolist() == [[1, 1]]
    with pytest.raises(ValueError, match="beyond the extracted machine"):
        one([1, 1])  # state 1 never saw input 1
    assert batch(np.array([[1, 1]]))[0, 1] == np.iinfo(np.int64).min  # the batch's UNKNOWN


def test_counter_machines_and_bits_run_alike_one_at_a_time_and_batched() -> None:
    xs = np.array([[1, 0, 0, 1, 1, 1], [0, 1, 1, 1, 0, 0]])
    majority = [[int(2 * sum(row[: t + 1]) > t + 1) for t in range(len(row))] for row in xs]
    for kind in ("counter machine, formulas", "counter machine, tables"):
        files = emit(PROGRAMS[kind], ["test"])
        one = load_function(files[PROGRAM_FILE])
        assert [one(row.tolist()) for row in xs] == majority
    files = emit(PROGRAMS["counter machine, formulas"], ["test"])
    assert load_function(files[NUMPY_FILE])(xs).tolist() == majority
    assert NUMPY_FILE not in emit(PROGRAMS["counter machine, tables"], ["test"])
    files = emit(PROGRAMS["loop formula, bits"], ["test"])  # s counts up from 1: bits of s
    one, batch = load_function(files[PROGRAM_FILE]), load_function(files[NUMPY_FILE])
    assert one([1, 1, 0]) == [(0, 1), (1, 1), (1, 1)]
    assert batch(np.array([[1, 1, 0]])).tolist() == [[[0, 1], [1, 1], [1, 1]]]
