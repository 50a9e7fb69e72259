"""A small safe integer-expression language shared by tasks (labels) and programs (DSL).

Expressions are Python syntax restricted to integer arithmetic over named inputs:
constants, + - * // % **, unary -, abs, min, max and comparisons (giving 0/1).
They are parsed with `ast` and evaluated by walking the tree: nothing is `eval`-ed.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import ConfigError

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Pow)
_CMPOPS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_FUNCS = {"abs", "min", "max"}
MAX_POW = 8


def parse(source: str, names: tuple[str, ...]) -> ast.Expression:
    """Parse and validate `source`; raise ConfigError naming the first construct not allowed."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"expression {source!r} is not valid syntax: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Expression | ast.Load):
            continue
        if isinstance(node, ast.Name):
            if node.id not in names and node.id not in _FUNCS:
                raise ConfigError(
                    f"expression {source!r} uses {node.id!r}; allowed inputs are {', '.join(names)}"
                )
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int) or isinstance(node.value, bool):
                raise ConfigError(f"expression {source!r} has non-integer constant {node.value!r}")
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINOPS):
                raise ConfigError(
                    f"expression {source!r} uses operator {type(node.op).__name__}; "
                    "allowed: + - * // % **"
                )
            exponent = node.right.value if isinstance(node.right, ast.Constant) else None
            if isinstance(node.op, ast.Pow) and not (
                isinstance(exponent, int) and 0 <= exponent <= MAX_POW
            ):
                raise ConfigError(
                    f"expression {source!r}: exponents must be constants in 0..{MAX_POW}"
                )
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise ConfigError(f"expression {source!r} uses unary {type(node.op).__name__}")
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
                raise ConfigError(f"expression {source!r} calls something other than abs/min/max")
            if node.keywords:
                raise ConfigError(f"expression {source!r} passes keyword arguments")
        elif isinstance(node, ast.Compare):
            if not all(isinstance(op, _CMPOPS) for op in node.ops):
                raise ConfigError(
                    f"expression {source!r} uses a comparison other than < <= > >= == !="
                )
        elif not isinstance(node, _BINOPS + _CMPOPS + (ast.USub, ast.UAdd)):
            raise ConfigError(f"expression {source!r} uses {type(node).__name__}, not allowed")
    return tree


def evaluate(tree: ast.Expression, env: Mapping[str, Any]) -> Any:
    """Evaluate a validated tree on numpy int64 arrays (or Python ints).

    Division and modulo by zero raise ConfigError rather than produce garbage.
    """

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.Constant):
            return np.int64(int(node.value))  # type: ignore[arg-type]
        if isinstance(node, ast.UnaryOp):
            value = ev(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.FloorDiv | ast.Mod) and np.any(np.asarray(right) == 0):
                raise ConfigError(f"division or modulo by zero in {ast.unparse(node)}")
            return _BINOP_FUNCS[type(node.op)](left, right)
        if isinstance(node, ast.Call):
            args = [ev(arg) for arg in node.args]
            name = node.func.id  # type: ignore[attr-defined]
            if name == "abs":
                return np.abs(args[0])
            reducer = np.maximum if name == "max" else np.minimum
            out = args[0]
            for arg in args[1:]:
                out = reducer(out, arg)
            return out
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            result: Any = True
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = ev(comparator)
                result = result & _CMP_FUNCS[type(op)](left, right)
                left = right
            return np.asarray(result).astype(np.int64)
        raise ConfigError(f"cannot evaluate {ast.dump(node)}")

    return ev(tree)


_BINOP_FUNCS = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.FloorDiv: np.floor_divide,
    ast.Mod: np.mod,
    ast.Pow: np.power,
}
_CMP_FUNCS = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
