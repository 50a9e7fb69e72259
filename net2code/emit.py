"""Emission: a program becomes standalone Python source, built with `ast`.

Two variants share one expression:
* `program.py`: plain Python, no imports, ``program(a, b) -> int`` for one input;
* `program_numpy.py`: the same expression on NumPy arrays, for batches.
"""

from __future__ import annotations

import ast
import textwrap
import types
from collections.abc import Callable
from typing import Any

from .program import Program, to_ast

_NUMPY_CALLS = {"abs": "abs", "max": "maximum", "min": "minimum"}


class _ToNumpy(ast.NodeTransformer):
    """Rewrite scalar calls to their elementwise NumPy forms."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "int" and node.args:
            # int(x < y) on arrays: a boolean array cast to int64
            cast = ast.Attribute(value=node.args[0], attr="astype", ctx=ast.Load())
            return ast.Call(func=cast, args=[_np_attr("int64")], keywords=[])
        if isinstance(node.func, ast.Name) and node.func.id in _NUMPY_CALLS:
            node.func = _np_attr(_NUMPY_CALLS[node.func.id])
        return node


def _np_attr(name: str) -> ast.Attribute:
    return ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr=name, ctx=ast.Load())


def _docstring(lines: list[str]) -> str:
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, width=84) or [""])
    return "\n".join(wrapped) + "\n"


def _function(program: Program, arg_type: str, body: list[ast.stmt], doc: str) -> ast.FunctionDef:
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


def emit_python(program: Program, header: list[str]) -> str:
    """Plain-Python `program.py`: one function, no imports."""
    signature = ", ".join(program.inputs)
    doc = _docstring([*header, "", f"Usage: program({signature}) -> int, one input at a time."])
    func = _function(
        program, "int", [ast.Return(value=to_ast(program.expr))], "Compute the program."
    )
    return _render(doc, [], func)


def emit_numpy(program: Program, header: list[str]) -> str:
    """Vectorised `program_numpy.py`: the same expression on int64 arrays."""
    doc = _docstring([*header, "", "Vectorised variant: every argument is an integer array."])
    body: list[ast.stmt] = [
        ast.parse(f"{name} = np.asarray({name}, dtype=np.int64)").body[0] for name in program.inputs
    ]
    expr = _ToNumpy().visit(to_ast(program.expr))
    if not any(isinstance(node, ast.Name) and node.id in program.inputs for node in ast.walk(expr)):
        # A constant program must still return one value per input.
        shape = ", ".join(f"np.shape({name})" for name in program.inputs)
        expr = ast.parse(
            f"np.full(np.broadcast_shapes({shape}), {ast.unparse(expr)}, dtype=np.int64)",
            mode="eval",
        ).body
    body.append(ast.Return(value=expr))
    func = _function(program, "np.ndarray", body, "Compute the program on arrays.")
    return _render(doc, ["import numpy as np"], func)


def _render(doc: str, imports: list[str], func: ast.FunctionDef) -> str:
    code = ast.unparse(ast.fix_missing_locations(ast.Module(body=[func], type_ignores=[])))
    parts = [f'"""{doc}"""\n']
    if imports:
        parts.append("\n".join(imports) + "\n")
    parts.append("\n" + code + "\n")
    return "\n".join(parts)


def load_function(source: str, name: str = "program") -> Callable[..., Any]:
    """Compile emitted source in a fresh module namespace and return its `program`."""
    module = types.ModuleType("net2code_emitted")
    exec(compile(source, "<net2code emitted program>", "exec"), module.__dict__)
    return module.__dict__[name]
