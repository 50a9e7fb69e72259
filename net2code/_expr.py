"""A small safe integer-expression language shared by tasks (labels) and programs (DSL).

Expressions are Python syntax restricted to integer arithmetic over named inputs:
constants, + - * // % **, unary -, abs, min, max and comparisons (giving 0/1).
They are parsed with `ast`, checked, and turned into program expressions: nothing is `eval`-ed.
"""

from __future__ import annotations

import ast

from .errors import ConfigError
from .program import ARITHMETIC, COMPARE_OPS, Expr, and_, binary, call, const, not_, var

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


def to_expr(tree: ast.AST) -> Expr:
    """A validated tree as a program expression, so labels and programs share one evaluator
    (`net2code.program.evaluate`) with the same semantics."""
    node = tree.body if isinstance(tree, ast.Expression) else tree
    if isinstance(node, ast.Name):
        return var(node.id)
    if isinstance(node, ast.Constant):
        return const(int(node.value))  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp):
        operand = to_expr(node.operand)
        return binary("-", const(0), operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return binary(_BINOPS_BY_TYPE[type(node.op)], to_expr(node.left), to_expr(node.right))
    if isinstance(node, ast.Call):
        return call(node.func.id, *(to_expr(arg) for arg in node.args))  # type: ignore[attr-defined]
    if isinstance(node, ast.Compare):
        terms, left = [], to_expr(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = to_expr(comparator)
            if isinstance(op, ast.NotEq):
                terms.append(not_(binary("==", left, right)))
            else:
                terms.append(binary(_CMPOPS_BY_TYPE[type(op)], left, right))
            left = right
        return and_(*terms)
    raise ConfigError(f"cannot evaluate {ast.dump(node)}")


_BINOPS_BY_TYPE = {ast_type: symbol for symbol, ast_type in ARITHMETIC.items()}
_CMPOPS_BY_TYPE = {ast_type: symbol for symbol, ast_type in COMPARE_OPS.items()}
