"""Emitted code is standalone, named `program`, lint-clean, and computes its expression."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from net2code.emit import NUMPY_FILE, PROGRAM_FILE, emit, load_function
from net2code.program import ExpressionProgram, binary, call, const, var

EXPRESSIONS = [
    binary("%", binary("+", var("a"), var("b")), const(59)),
    call("max", call("abs", binary("-", var("a"), var("b"))), binary("<", var("a"), const(3))),
    binary("//", binary("**", var("a"), const(2)), const(-7)),
    const(4),
]


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

    (tmp_path / "program.py").write_text(plain)
    (tmp_path / "program_numpy.py").write_text(vectorised)
    lint = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "E,F,W,I,B,UP",
            "--ignore",
            "E501",
            ".",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
