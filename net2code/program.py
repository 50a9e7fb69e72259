"""Programs as small expression trees over named integer inputs.

A tree is built from immutable tuples so it can be hashed, compared and rendered:
``("var", name)``, ``("const", value)``, ``("bin", op, left, right)`` and ``("call", fn, arg...)``.
It is rendered to Python through `ast`, so precedence and parentheses are always right.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import numpy as np

Expr = tuple[Any, ...]

BINARY_OPS: dict[str, type[ast.operator]] = {
    "+": ast.Add,
    "-": ast.Sub,
    "*": ast.Mult,
    "//": ast.FloorDiv,
    "%": ast.Mod,
    "**": ast.Pow,
}
COMPARE_OPS: dict[str, type[ast.cmpop]] = {"<": ast.Lt, "==": ast.Eq}
CALLS = ("abs", "min", "max")


def var(name: str) -> Expr:
    return ("var", name)


def const(value: int) -> Expr:
    return ("const", int(value))


def binary(op: str, left: Expr, right: Expr) -> Expr:
    return ("bin", op, left, right)


def call(fn: str, *args: Expr) -> Expr:
    return ("call", fn, *args)


def size(expr: Expr) -> int:
    """Number of nodes: the measure 'smallest program' minimises."""
    kind = expr[0]
    if kind in ("var", "const"):
        return 1
    if kind == "bin":
        return 1 + size(expr[2]) + size(expr[3])
    return 1 + sum(size(arg) for arg in expr[2:])


def depth(expr: Expr) -> int:
    if expr[0] in ("var", "const"):
        return 1
    children = expr[2:] if expr[0] == "call" else expr[2:4]
    return 1 + max(depth(child) for child in children)


def canonical(expr: Expr, names: tuple[str, ...]) -> Expr:
    """Order the operands of commutative operators for reading: inputs in their domain order,
    constants first in products and last in sums. The value is unchanged."""

    def first_input(e: Expr) -> int:
        if e[0] == "var":
            return names.index(e[1]) if e[1] in names else len(names)
        if e[0] == "const":
            return len(names) + 1
        children = e[2:] if e[0] == "call" else e[2:4]
        return min(first_input(child) for child in children)

    def key(e: Expr) -> tuple[int, int]:
        return (first_input(e), size(e))

    kind = expr[0]
    if kind == "bin":
        op, left, right = expr[1], canonical(expr[2], names), canonical(expr[3], names)
        if op in ("+", "==") and key(right) < key(left):
            left, right = right, left
        if op == "*":
            consts_first = sorted((left, right), key=lambda e: (e[0] != "const", key(e)))
            left, right = consts_first
        return ("bin", op, left, right)
    if kind == "call":
        args = [canonical(arg, names) for arg in expr[2:]]
        if expr[1] in ("max", "min"):
            args.sort(key=key)
        return ("call", expr[1], *args)
    return expr


def to_ast(expr: Expr) -> ast.expr:
    kind = expr[0]
    if kind == "var":
        return ast.Name(id=expr[1], ctx=ast.Load())
    if kind == "const":
        value = expr[1]
        if value < 0:
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
        return ast.Constant(value=value)
    if kind == "bin":
        op = expr[1]
        left, right = to_ast(expr[2]), to_ast(expr[3])
        if op in COMPARE_OPS:
            comparison = ast.Compare(left=left, ops=[COMPARE_OPS[op]()], comparators=[right])
            return ast.Call(func=ast.Name(id="int", ctx=ast.Load()), args=[comparison], keywords=[])
        return ast.BinOp(left=left, op=BINARY_OPS[op](), right=right)
    if kind == "call":
        return ast.Call(
            func=ast.Name(id=expr[1], ctx=ast.Load()),
            args=[to_ast(arg) for arg in expr[2:]],
            keywords=[],
        )
    raise ValueError(f"unknown expression node {kind!r}")


def to_source(expr: Expr) -> str:
    return ast.unparse(to_ast(expr))


def evaluate(expr: Expr, env: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate on int64 arrays with Python's semantics (floor division, sign of divisor for %).

    Raises ZeroDivisionError if a divisor is zero anywhere, as the emitted code would.
    """
    kind = expr[0]
    if kind == "var":
        return env[expr[1]]
    if kind == "const":
        return np.int64(expr[1])  # type: ignore[return-value]
    if kind == "bin":
        op = expr[1]
        left, right = evaluate(expr[2], env), evaluate(expr[3], env)
        return apply_binary(op, left, right)
    if kind == "call":
        args = [evaluate(arg, env) for arg in expr[2:]]
        if expr[1] == "abs":
            return np.abs(args[0])
        reducer = np.maximum if expr[1] == "max" else np.minimum
        out = args[0]
        for arg in args[1:]:
            out = reducer(out, arg)
        return out
    raise ValueError(f"unknown expression node {kind!r}")


def apply_binary(op: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if op in ("//", "%") and np.any(np.asarray(right) == 0):
        raise ZeroDivisionError(f"divisor is zero in {op}")
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "//":
        return np.floor_divide(left, right)
    if op == "%":
        return np.mod(left, right)
    if op == "**":
        return np.power(left, right)
    if op == "<":
        return (left < right).astype(np.int64)
    if op == "==":
        return (left == right).astype(np.int64)
    raise ValueError(f"unknown operator {op!r}")


@dataclass(frozen=True)
class Program:
    """An extracted program: an expression over the domain's inputs, in their order."""

    expr: Expr
    inputs: tuple[str, ...]

    @property
    def source(self) -> str:
        return to_source(self.expr)

    @property
    def size(self) -> int:
        return size(self.expr)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Evaluate on points.  # points: (n, n_inputs) int64 -> (n,) int64"""
        env = {name: points[:, i] for i, name in enumerate(self.inputs)}
        out = evaluate(self.expr, env)
        return np.broadcast_to(np.asarray(out, dtype=np.int64), (len(points),)).copy()

    def __str__(self) -> str:
        return self.source
