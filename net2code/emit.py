"""Emission: a program becomes standalone Python source, built with `ast`.

Two variants share one expression tree:
* `program.py`: plain Python, no imports, ``program(a, b)`` for one input. A decision tree at
  the root becomes nested ``if``/``else`` statements;
* `program_numpy.py`: the same tree elementwise on NumPy arrays, for batches.
"""

from __future__ import annotations

import ast
import textwrap
import types
from collections.abc import Callable
from typing import Any

from .program import Expr, Program, to_ast


def _docstring(lines: list[str]) -> str:
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, width=84) or [""])
    return "\n".join(wrapped) + "\n"


def _statements(expr: Expr) -> list[ast.stmt]:
    """`if` nodes at the top become statements, which read better than nested ternaries."""
    if expr[0] == "if":
        _, _, condition, then, otherwise = expr
        test = to_ast(condition, boolean=True)
        return [ast.If(test=test, body=_statements(then), orelse=[]), *_statements(otherwise)]
    return [ast.Return(value=to_ast(expr))]


def _function(program: Program, arg_type: str, body: list[ast.stmt], doc: str) -> ast.FunctionDef:
    args = ast.arguments(
        posonlyargs=[],
        args=[
            ast.arg(arg=name, annotation=ast.parse(arg_type, mode="eval").body)
            for name in program.inputs
        ],
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


def _table_lines(program: Program, numpy: bool) -> list[str]:
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


def emit_python(program: Program, header: list[str]) -> str:
    """Plain-Python `program.py`: one function, no imports."""
    signature = ", ".join(program.inputs)
    doc = _docstring([*header, "", f"Usage: program({signature}), one input at a time."])
    kind = "float" if _uses_floats(program.expr) else "int"
    func = _function(program, kind, _statements(program.expr), "Compute the program.")
    return _render(doc, [], _table_lines(program, numpy=False), func)


def emit_numpy(program: Program, header: list[str]) -> str:
    """Vectorised `program_numpy.py`: the same tree on arrays."""
    doc = _docstring([*header, "", "Vectorised variant: every argument is an array."])
    dtype = "np.float64" if _uses_floats(program.expr) else "np.int64"
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
    return _render(doc, ["import numpy as np"], _table_lines(program, numpy=True), func)


def _uses_floats(expr: Expr) -> bool:
    if expr[0] == "const":
        return isinstance(expr[1], float)
    return expr[0] != "var" and any(_uses_floats(child) for child in expr[2:])


def _render(doc: str, imports: list[str], tables: list[str], func: ast.FunctionDef) -> str:
    code = ast.unparse(ast.fix_missing_locations(ast.Module(body=[func], type_ignores=[])))
    parts = [f'"""{doc}"""\n']
    if imports:
        parts.append("\n".join(imports) + "\n")
    if tables:
        parts.append("\n".join(tables) + "\n")
    parts.append("\n" + code + "\n")
    return "\n".join(parts)


def load_function(source: str, name: str = "program") -> Callable[..., Any]:
    """Compile emitted source in a fresh module namespace and return its `program`."""
    module = types.ModuleType("net2code_emitted")
    exec(compile(source, "<net2code emitted program>", "exec"), module.__dict__)
    return module.__dict__[name]
