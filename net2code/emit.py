"""Emission: every program becomes standalone Python files through this one emitter.

* `program.py`: plain Python, entry point `program`;
* `program_numpy.py`: the NumPy variant (a batch per call), where the program has one.

Both start with the same docstring for every family: what was extracted, from which network,
which checks ran and their figures, then how to call `program`. The code itself comes from the
program (`Program.python()` / `.numpy()`); expression trees are rendered here through `ast`,
so precedence and parentheses are always right.
"""

from __future__ import annotations

import ast
import io
import textwrap
import tokenize
import types
from collections.abc import Callable
from typing import Any

from .program import Code, Expr, ExpressionProgram, Program, to_ast, uses_math

PROGRAM_FILE = "program.py"
NUMPY_FILE = "program_numpy.py"
WIDTH = 88


def docstring(lines: list[str]) -> str:
    """Lines wrapped for a module docstring (blank entries separate paragraphs)."""
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, width=WIDTH - 4, break_on_hyphens=False) or [""])
    return "\n".join(wrapped).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def render(code: Code, header: list[str], usage: str) -> str:
    """One file: the docstring (header, then usage), the imports, then the definitions."""
    body = code.body.strip("\n")
    parts = [f'"""{docstring([*header, "", usage])}\n"""\n']
    if code.imports:
        parts.append("\n".join(sorted(code.imports)) + "\n")
        if not body.startswith(("def ", "class ", "@")):
            parts[-1] = parts[-1][:-1]  # one blank line before constants, two before a def
    parts.append("\n" + body + "\n")
    return "\n".join(parts)


def emit(program: Program, header: list[str]) -> dict[str, str]:
    """{file name: source} for the program and its NumPy variant (when it has one)."""
    files = {PROGRAM_FILE: render(program.python(), header, program.usage())}
    vectorised = program.numpy()
    if vectorised is not None:
        numpy_usage = getattr(program, "numpy_usage", None)
        usage = (
            numpy_usage()
            if callable(numpy_usage)
            else "Vectorised variant: program() takes a whole batch (arrays) at once."
        )
        files[NUMPY_FILE] = render(vectorised, header, usage)
    return files


def load_function(source: str, name: str = "program") -> Callable[..., Any]:
    """Compile emitted source in a fresh module namespace and return its function `name`."""
    module = types.ModuleType("net2code_emitted")
    exec(compile(source, "<net2code emitted program>", "exec"), module.__dict__)
    return module.__dict__[name]


def count_lines(source: str) -> int:
    """Lines of code: not blank, not comments, not docstrings."""
    skip: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.FunctionDef) and ast.get_docstring(node) is not None:
            doc = node.body[0]
            skip.update(range(doc.lineno, (doc.end_lineno or doc.lineno) + 1))
    code_lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT):
            code_lines.add(token.start[0])
    return len(code_lines - skip)


# ---------------------------------------------------------------------- expression programs
def _statements(expr: Expr) -> list[ast.stmt]:
    """`if` nodes at the top become statements, which read better than nested ternaries."""
    if expr[0] == "if":
        _, _, condition, then, otherwise = expr
        test = to_ast(condition, boolean=True)
        return [ast.If(test=test, body=_statements(then), orelse=[]), *_statements(otherwise)]
    return [ast.Return(value=to_ast(expr))]


def _function(
    program: ExpressionProgram, arg_type: str, body: list[ast.stmt], doc: str
) -> ast.FunctionDef:
    annotation = ast.parse(arg_type, mode="eval").body
    args = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=name, annotation=annotation) for name in program.inputs],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    return ast.FunctionDef(
        name="program",
        args=args,
        body=[ast.Expr(ast.Constant(doc)), *body],
        decorator_list=[],
        returns=ast.parse(arg_type, mode="eval").body,
    )


def _table_lines(program: ExpressionProgram, numpy: bool) -> list[str]:
    """Constant tables as compact hex byte strings (values 0..255) or tuples."""
    lines = []
    for name, values in program.tables:
        if values and min(values) >= 0 and max(values) <= 255:
            hexed = bytes(values).hex()
            chunks = [hexed[i : i + 76] for i in range(0, len(hexed), 76)]
            literal = "\n".join(f'    "{chunk}"' for chunk in chunks)
            value = f"bytes.fromhex(\n{literal}\n)"
            if numpy:
                value = f"np.frombuffer({value}, dtype=np.uint8).astype(np.int64)"
        else:
            items = ", ".join(str(v) for v in values)
            wrapped = textwrap.fill(
                items, width=84, initial_indent="    ", subsequent_indent="    "
            )
            value = f"(\n{wrapped},\n)" if not numpy else f"np.array((\n{wrapped},\n))"
        lines.append(f"{name} = {value}")
    return lines


def _uses_floats(expr: Expr) -> bool:
    if expr[0] == "const":
        return isinstance(expr[1], float)
    return expr[0] != "var" and any(_uses_floats(child) for child in expr[2:])


def _module_body(tables: list[str], func: ast.FunctionDef) -> str:
    code = ast.unparse(ast.fix_missing_locations(ast.Module(body=[func], type_ignores=[])))
    return ("\n".join(tables) + "\n\n\n" if tables else "") + code


def expression_python(program: ExpressionProgram) -> Code:
    """`def program(a, b)`: one input at a time; imports `math` only for its functions."""
    kind = "float" if program.real or _uses_floats(program.expr) else "int"
    func = _function(program, kind, _statements(program.expr), "Compute the program.")
    imports = ("import math",) if uses_math(program.expr) else ()
    return Code(imports, _module_body(_table_lines(program, numpy=False), func))


def expression_numpy(program: ExpressionProgram) -> Code:
    """The same tree elementwise on arrays."""
    dtype = "np.float64" if program.real or _uses_floats(program.expr) else "np.int64"
    body: list[ast.stmt] = [
        ast.parse(f"{name} = np.asarray({name}, dtype={dtype})").body[0] for name in program.inputs
    ]
    body.append(
        ast.Assign(
            targets=[ast.Name(id="out", ctx=ast.Store())], value=to_ast(program.expr, numpy=True)
        )
    )
    # Constant (sub)programs must still return one value per input.
    shape = ", ".join(f"np.shape({name})" for name in program.inputs)
    body.append(ast.parse(f"return np.broadcast_to(out, np.broadcast_shapes({shape}))").body[0])
    func = _function(program, "np.ndarray", body, "Compute the program on arrays.")
    return Code(("import numpy as np",), _module_body(_table_lines(program, numpy=True), func))
