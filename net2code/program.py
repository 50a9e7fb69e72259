"""Programs: the one `Program` protocol every strategy returns, and expression trees.

A program knows its source code (plain Python, and a NumPy variant where one makes sense), its
size, and a one-line summary. Its entry point is always `program`. `emit.py` turns it into
files with the same header for every family.

Expression trees are the program type of the feed-forward family (and the formulas inside
loops). Every node is an immutable tuple ``(kind, attribute, *children)``, so trees can be hashed,
compared and rendered:

================  ==========================  ==========================================
kind              attribute                   children
================  ==========================  ==========================================
``var``           input name                  none
``const``         int or float                none
``bin``           + - * / // % ** < <= > >=   left, right
                  == ^ (xor)
``call``          abs, min, max; sqrt, exp,   arguments
                  log, sin, cos, tanh
                  (math / numpy)
``and``, ``or``   None                        operands
``not``           None                        operand
``if``            None                        condition, value if true, value if false
``lookup``        table name                  index expression
================  ==========================  ==========================================

Rendering goes through `ast`, so precedence and parentheses are always right.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

Expr = tuple[Any, ...]


@dataclass(frozen=True)
class Code:
    """The code of one emitted file, without its module docstring: import lines, and the
    top-level definitions (tables, helpers and `def program`)."""

    imports: tuple[str, ...]
    body: str


@runtime_checkable
class Program(Protocol):
    """What every strategy returns and the emitter writes."""

    @property
    def kind(self) -> str:
        """ "expression", "loop", "rule", "scan", ..."""
        ...

    @property
    def summary(self) -> str:
        """One line: the expression, the loop's update, or the rule's name."""
        ...

    @property
    def size(self) -> int: ...

    @property
    def size_unit(self) -> str:
        """What `size` counts: "nodes", "lines", ..."""
        ...

    def usage(self) -> str:
        """How to call `program`, for the emitted file's docstring."""
        ...

    def python(self) -> Code:
        """Plain Python; `program` is the entry point."""
        ...

    def numpy(self) -> Code | None:
        """The vectorised variant (a batch per call), or None where none makes sense."""
        ...


ARITHMETIC: dict[str, type[ast.operator]] = {
    "+": ast.Add,
    "-": ast.Sub,
    "*": ast.Mult,
    "/": ast.Div,
    "//": ast.FloorDiv,
    "%": ast.Mod,
    "**": ast.Pow,
    "^": ast.BitXor,
}
COMPARE_OPS: dict[str, type[ast.cmpop]] = {
    "<": ast.Lt,
    "<=": ast.LtE,
    ">": ast.Gt,
    ">=": ast.GtE,
    "==": ast.Eq,
}
BOOLEAN_KINDS = ("and", "or", "not")
MATH_FUNCTIONS = ("sqrt", "exp", "log", "sin", "cos", "tanh")  # math.* in Python, np.* in NumPy


def var(name: str) -> Expr:
    return ("var", name)


def const(value: float) -> Expr:
    if isinstance(value, bool | np.bool_):
        return ("const", int(value))
    if isinstance(value, int | np.integer):
        return ("const", int(value))
    return ("const", float(value))


def binary(op: str, left: Expr, right: Expr) -> Expr:
    return ("bin", op, left, right)


def call(fn: str, *args: Expr) -> Expr:
    return ("call", fn, *args)


def and_(*args: Expr) -> Expr:
    return args[0] if len(args) == 1 else ("and", None, *args)


def or_(*args: Expr) -> Expr:
    return args[0] if len(args) == 1 else ("or", None, *args)


def not_(arg: Expr) -> Expr:
    return ("not", None, arg)


def if_(condition: Expr, then: Expr, otherwise: Expr) -> Expr:
    return ("if", None, condition, then, otherwise)


def lookup(table: str, index: Expr) -> Expr:
    return ("lookup", table, index)


def children(expr: Expr) -> tuple[Expr, ...]:
    return () if expr[0] in ("var", "const") else expr[2:]


def size(expr: Expr) -> int:
    """Number of nodes: the measure 'smallest program' minimises."""
    return 1 + sum(size(child) for child in children(expr))


def depth(expr: Expr) -> int:
    kids = children(expr)
    return 1 + (max(depth(child) for child in kids) if kids else 0)


def is_boolean(expr: Expr) -> bool:
    """True for nodes whose natural value is a truth value (comparisons, and/or/not)."""
    return expr[0] in BOOLEAN_KINDS or (expr[0] == "bin" and expr[1] in COMPARE_OPS)


def canonical(expr: Expr, names: tuple[str, ...]) -> Expr:
    """Order the operands of commutative operators for reading: inputs in their domain order,
    constants first in products and last in sums. The value is unchanged."""

    def first_input(e: Expr) -> int:
        if e[0] == "var":
            return names.index(e[1]) if e[1] in names else len(names)
        if e[0] == "const":
            return len(names) + 1
        return min((first_input(child) for child in children(e)), default=len(names) + 1)

    def key(e: Expr) -> tuple[int, int]:
        return (first_input(e), size(e))

    kind = expr[0]
    if kind in ("var", "const"):
        return expr
    kids = [canonical(child, names) for child in children(expr)]
    if kind == "bin":
        op, left, right = expr[1], kids[0], kids[1]
        if op in ("+", "==", "^") and key(right) < key(left):
            left, right = right, left
        if op == "*":
            left, right = sorted((left, right), key=lambda e: (e[0] != "const", key(e)))
        return ("bin", op, left, right)
    if kind == "call" and expr[1] in ("max", "min"):
        kids.sort(key=key)
    return (kind, expr[1], *kids)


# ---------------------------------------------------------------------- rendering
def _name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def _np(attr: str) -> ast.Attribute:
    return ast.Attribute(value=_name("np"), attr=attr, ctx=ast.Load())


def _call(func: ast.expr, *args: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[])


def to_ast(expr: Expr, *, numpy: bool = False, boolean: bool = False) -> ast.expr:
    """Render as Python. `boolean` says the context wants a truth value (an `if` test, an
    operand of `and`); elsewhere truth values are cast to 0/1 integers. With `numpy` the
    result works elementwise on arrays."""
    node = _to_ast(expr, numpy)
    if is_boolean(expr) and not boolean:
        if numpy:
            return _call(ast.Attribute(value=node, attr="astype", ctx=ast.Load()), _np("int64"))
        return _call(_name("int"), node)
    return node


def _to_ast(expr: Expr, numpy: bool) -> ast.expr:
    kind, attr = expr[0], expr[1]
    kids = children(expr)
    if kind == "var":
        return _name(attr)
    if kind == "const":
        if isinstance(attr, float) and abs(attr) == math.pi:
            pi = _np("pi") if numpy else ast.Attribute(_name("math"), "pi", ast.Load())
            return ast.UnaryOp(op=ast.USub(), operand=pi) if attr < 0 else pi
        if attr < 0:
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-attr))
        return ast.Constant(value=attr)
    if kind == "bin":
        if attr in COMPARE_OPS:
            left, right = (to_ast(k, numpy=numpy) for k in kids)
            return ast.Compare(left=left, ops=[COMPARE_OPS[attr]()], comparators=[right])
        left, right = (to_ast(k, numpy=numpy) for k in kids)
        return ast.BinOp(left=left, op=ARITHMETIC[attr](), right=right)
    if kind == "call":
        args = [to_ast(k, numpy=numpy) for k in kids]
        if attr in MATH_FUNCTIONS:
            module = _name("np" if numpy else "math")
            return _call(ast.Attribute(value=module, attr=attr, ctx=ast.Load()), *args)
        if numpy:
            return _call(_np({"abs": "abs", "max": "maximum", "min": "minimum"}[attr]), *args)
        return _call(_name(attr), *args)
    if kind in ("and", "or"):
        operands = [to_ast(k, numpy=numpy, boolean=True) for k in kids]
        if numpy:
            func = _np("logical_and" if kind == "and" else "logical_or")
            out = operands[0]
            for operand in operands[1:]:
                out = _call(func, out, operand)
            return out
        return ast.BoolOp(op=ast.And() if kind == "and" else ast.Or(), values=operands)
    if kind == "not":
        operand = to_ast(kids[0], numpy=numpy, boolean=True)
        if numpy:
            return _call(_np("logical_not"), operand)
        return ast.UnaryOp(op=ast.Not(), operand=operand)
    if kind == "if":
        test = to_ast(kids[0], numpy=numpy, boolean=True)
        then, otherwise = to_ast(kids[1], numpy=numpy), to_ast(kids[2], numpy=numpy)
        if numpy:
            return _call(_np("where"), test, then, otherwise)
        return ast.IfExp(test=test, body=then, orelse=otherwise)
    if kind == "lookup":
        return ast.Subscript(value=_name(attr), slice=to_ast(kids[0], numpy=numpy), ctx=ast.Load())
    raise ValueError(f"unknown expression node {kind!r}")


def to_source(expr: Expr) -> str:
    return ast.unparse(to_ast(expr))


def uses_math(expr: Expr) -> bool:
    """Does the plain-Python rendering need `import math` (a math function, or pi)?"""
    if expr[0] == "const":
        return isinstance(expr[1], float) and abs(expr[1]) == math.pi
    if expr[0] == "call" and expr[1] in MATH_FUNCTIONS:
        return True
    return any(uses_math(child) for child in children(expr))


def from_python(source: str) -> Expr | None:
    """The expression `def program(...)` returns, when its body (after the docstring) is one
    `return` of arithmetic, abs/min/max, math functions and constants; else None. This is how a
    check reads an emitted formula back from the file itself."""
    try:
        module = ast.parse(source)
    except SyntaxError:
        return None
    function = next(
        (n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "program"), None
    )
    if function is None:
        return None
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    try:
        return _from_ast(body[0].value)
    except ValueError:
        return None


def _from_ast(node: ast.expr) -> Expr:
    operators = {cls: op for op, cls in ARITHMETIC.items()}
    if isinstance(node, ast.Name):
        return var(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return const(node.value)
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("math", "np")
        and node.attr == "pi"
    ):
        return const(math.pi)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _from_ast(node.operand)
        return const(-inner[1]) if inner[0] == "const" else binary("*", const(-1), inner)
    if isinstance(node, ast.BinOp) and type(node.op) in operators:
        return binary(operators[type(node.op)], _from_ast(node.left), _from_ast(node.right))
    if isinstance(node, ast.Call) and not node.keywords:
        args = [_from_ast(arg) for arg in node.args]
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("abs", "min", "max"):
            return call(func.id, *args)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("math", "np")
            and func.attr in MATH_FUNCTIONS
            and len(args) == 1
        ):
            return call(func.attr, *args)
    raise ValueError(f"cannot read {ast.unparse(node)!r} back as an expression")


def to_sympy(expr: Expr) -> Any:
    """The expression as a sympy expression (float constants as the rationals they print as,
    pi as pi), for equivalence checks, simplification and LaTeX."""
    import sympy

    kind, attr = expr[0], expr[1]
    if kind == "var":
        return sympy.Symbol(attr, real=True)
    if kind == "const":
        if isinstance(attr, float) and abs(attr) == math.pi:
            return sympy.pi if attr > 0 else -sympy.pi
        return (
            sympy.nsimplify(attr, rational=True) if isinstance(attr, float) else sympy.Integer(attr)
        )
    args = [to_sympy(child) for child in children(expr)]
    if kind == "bin":
        left, right = args
        ops = {
            "+": lambda: left + right,
            "-": lambda: left - right,
            "*": lambda: left * right,
            "/": lambda: left / right,
            "**": lambda: left**right,
        }
        if attr not in ops:
            raise ValueError(f"operator {attr!r} has no sympy form here")
        return ops[attr]()
    if kind == "call":
        functions = {"abs": sympy.Abs, "max": sympy.Max, "min": sympy.Min, "sqrt": sympy.sqrt,
                     "exp": sympy.exp, "log": sympy.log, "sin": sympy.sin, "cos": sympy.cos,
                     "tanh": sympy.tanh}  # fmt: skip
        return functions[attr](*args)
    raise ValueError(f"expression node {kind!r} has no sympy form here")


# ---------------------------------------------------------------------- evaluation
def evaluate(expr: Expr, env: dict[str, Any], tables: dict[str, np.ndarray] | None = None) -> Any:
    """Evaluate on arrays with Python's semantics (floor division, sign of divisor for %).

    Truth values come out as 0/1 int64. Raises ZeroDivisionError if a divisor is zero
    anywhere, as the emitted code would.
    """
    kind, attr = expr[0], expr[1]
    if kind == "var":
        return env[attr]
    if kind == "const":
        return np.int64(attr) if isinstance(attr, int) else np.float64(attr)
    args = [evaluate(child, env, tables) for child in children(expr)]
    if kind == "bin":
        return apply_binary(attr, args[0], args[1])
    if kind == "call":
        if attr == "abs":
            return np.abs(args[0])
        if attr in MATH_FUNCTIONS:
            return getattr(np, attr)(args[0])
        reducer = np.maximum if attr == "max" else np.minimum
        out = args[0]
        for arg in args[1:]:
            out = reducer(out, arg)
        return out
    if kind == "and":
        return np.logical_and.reduce([np.asarray(a) != 0 for a in args]).astype(np.int64)
    if kind == "or":
        return np.logical_or.reduce([np.asarray(a) != 0 for a in args]).astype(np.int64)
    if kind == "not":
        return (np.asarray(args[0]) == 0).astype(np.int64)
    if kind == "if":
        return np.where(np.asarray(args[0]) != 0, args[1], args[2])
    if kind == "lookup":
        assert tables is not None, "a lookup needs its tables"
        return tables[attr][args[0]]
    raise ValueError(f"unknown expression node {kind!r}")


def apply_binary(op: str, left: Any, right: Any) -> Any:
    if op in ("//", "%") and np.any(np.asarray(right) == 0):
        raise ZeroDivisionError(f"divisor is zero in {op}")
    if op in COMPARE_OPS:
        func = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
        compare = func.get(op, np.equal)
        return np.asarray(compare(left, right)).astype(np.int64)
    return {
        "+": np.add,
        "-": np.subtract,
        "*": np.multiply,
        "/": np.true_divide,
        "//": np.floor_divide,
        "%": np.mod,
        "**": np.power,
        "^": np.bitwise_xor,
    }[op](left, right)


class SizedByLines:
    """For programs written as code rather than one expression: `size` is the lines of code
    of the plain-Python variant (not blank, not comments, not docstrings)."""

    def python(self) -> Code:
        raise NotImplementedError

    @property
    def size(self) -> int:
        from .emit import count_lines

        return count_lines(self.python().body)

    @property
    def size_unit(self) -> str:
        return "lines"


@dataclass(frozen=True)
class ExpressionProgram:
    """An expression over the domain's inputs, in their order: `program(a, b)`.

    `tables` holds named constant tables that `lookup` nodes index (the lookup strategy).
    """

    expr: Expr
    inputs: tuple[str, ...]
    tables: tuple[tuple[str, tuple[int, ...]], ...] = ()
    kind: str = "expression"
    real: bool = False  # inputs and output are reals (a box), whatever the constants

    @property
    def source(self) -> str:
        return to_source(self.expr)

    @property
    def summary(self) -> str:
        return self.source

    @property
    def size(self) -> int:
        return size(self.expr) + sum(len(values) for _, values in self.tables)

    @property
    def size_unit(self) -> str:
        return "nodes"

    def usage(self) -> str:
        return f"Usage: program({', '.join(self.inputs)}), one input at a time."

    def python(self) -> Code:
        from .emit import expression_python

        return expression_python(self)

    def numpy(self) -> Code | None:
        from .emit import expression_numpy

        return expression_numpy(self)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Evaluate on points.  # points: (n, n_inputs) -> (n,)"""
        env = {name: points[:, i] for i, name in enumerate(self.inputs)}
        tables = {name: np.asarray(values) for name, values in self.tables}
        out = np.asarray(evaluate(self.expr, env, tables))
        return np.broadcast_to(out, (len(points),)).copy()

    def __str__(self) -> str:
        return self.source
