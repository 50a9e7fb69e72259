"""A program that computes the logits the way the network does, then takes their argmax.

Only the network's key frequencies appear, each as the Clock formula (amplitude and phase
fitted), the Pizza formula, or Pizza's "accompanying" circle, with coefficients fitted by least
squares to the network's own logits. If the argmax misses some pairs, terms are added in a
fixed order (the other family, then accompanying circles, then the next frequencies by
embedding energy) and every step is recorded, with where it failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...program import Code
from .analysis import Mechanism, template

FORMS = ("clock", "pizza", "accompanying")


@dataclass
class FaithfulProgram:
    """logit(c | a, b) = sum over terms of coefficient x template; answer = argmax over c."""

    p: int
    terms: list[tuple[int, str, tuple[float, ...]]]  # (k, form, coefficients)
    n_agree: int = 0
    n_points: int = 0
    failures: list[dict[str, int]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.n_agree / self.n_points if self.n_points else 0.0

    @property
    def frequencies(self) -> list[int]:
        return sorted({k for k, _, _ in self.terms})

    def logits(self, p: int | None = None) -> np.ndarray:
        """Logits on every pair of Z_p (default: the network's p).  # (p, p, p) [a, b, c]"""
        p = p or self.p
        out = np.zeros((p, p, p))
        for k, form, coefficients in self.terms:
            if form == "clock":
                out += coefficients[0] * template(p, k, "clock_cos")
                out += coefficients[1] * template(p, k, "clock_sin")
            else:
                out += coefficients[0] * template(p, k, form)
        return out

    def predict(self, p: int | None = None) -> np.ndarray:
        """argmax over c for every pair.  # (p, p)"""
        return self.logits(p).argmax(-1)

    def transplant(self, p_new: int) -> FaithfulProgram:
        """The same terms with angles 2*pi*k/p_new: the program for another modulus."""
        keep = [(k, form, c) for k, form, c in self.terms if 0 < k < p_new / 2]
        return FaithfulProgram(p_new, keep)

    def to_dict(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "terms": [{"k": k, "form": form, "coefficients": list(c)} for k, form, c in self.terms],
            "agreement": self.agreement,
            "n_agree": self.n_agree,
            "n_points": self.n_points,
            "failures": self.failures[:20],
            "history": self.history,
        }


def _fit(logits: np.ndarray, p: int, plan: list[tuple[int, str]]) -> FaithfulProgram:
    target = logits - logits.mean(axis=-1, keepdims=True)  # argmax ignores per-pair shifts
    columns, layout = [], []
    for k, form in plan:
        if form == "clock":
            columns += [
                template(p, k, "clock_cos").reshape(-1),
                template(p, k, "clock_sin").reshape(-1),
            ]
            layout.append((k, form, 2))
        else:
            columns.append(template(p, k, form).reshape(-1))
            layout.append((k, form, 1))
    x = np.stack(columns, axis=1)
    solution, *_ = np.linalg.lstsq(x, target.reshape(-1), rcond=None)
    terms, i = [], 0
    for k, form, width in layout:
        terms.append((k, form, tuple(float(v) for v in solution[i : i + width])))
        i += width
    return FaithfulProgram(p, terms)


def _score(program: FaithfulProgram, answers: np.ndarray) -> None:
    p = program.p
    predicted = program.predict()
    agree = predicted == answers
    program.n_agree, program.n_points = int(agree.sum()), p * p
    program.failures = [
        {"a": int(a), "b": int(b), "a_minus_b": int((a - b) % p), "network": int(answers[a, b]),
         "program": int(predicted[a, b])}
        for a, b in zip(*np.nonzero(~agree), strict=True)
    ]  # fmt: skip


def antipodal_note(failures: list[dict[str, int]], frequencies: list[int], p: int) -> str:
    """Where a program fails: how close a-b is to antipodal on the key circles."""
    if not failures:
        return ""
    worst = []
    for failure in failures[:200]:
        d = failure["a_minus_b"]
        amplitudes = [abs(math.cos(math.pi * k * d / p)) for k in frequencies]
        worst.append(max(amplitudes))
    return (
        f"{len(failures)} pairs fail; on them the largest Pizza amplitude |cos(w(a-b)/2)| over "
        f"the circles is at most {max(worst):.2f} (median {float(np.median(worst)):.2f}): a-b is "
        "near antipodal on every circle, where a Pizza circle's logit vanishes"
    )


def fit_faithful(mechanism: Mechanism, logits: np.ndarray, max_extra: int = 6) -> FaithfulProgram:
    """Fit the network's own algorithm; add terms until its argmax matches on every pair."""
    p = mechanism.p
    answers = logits.argmax(-1)  # the network's answers, not labels
    keys = list(mechanism.frequencies)
    first = {"clock": ["clock"], "pizza": ["pizza"]}.get(mechanism.kind, ["clock", "pizza"])
    forms = list(first)
    ranked = [int(k) + 1 for k in np.argsort(mechanism.embedding_spectrum)[::-1]]
    extra = [k for k in ranked if k not in keys][:max_extra]
    steps: list[tuple[str, list[int], list[str]]] = [("the network's class", keys, forms)]
    for form in FORMS:
        if form not in forms:
            forms = [*forms, form]
            steps.append((f"add {form} terms", keys, forms))
    for k in extra:
        keys = [*keys, k]
        steps.append((f"add frequency {k}", keys, forms))
    history: list[dict[str, Any]] = []
    program = FaithfulProgram(p, [])
    for label, step_keys, step_forms in steps:
        program = _fit(logits, p, [(k, f) for k in step_keys for f in step_forms])
        _score(program, answers)
        history.append(
            {
                "step": label,
                "frequencies": sorted(step_keys),
                "forms": list(step_forms),
                "agreement": program.agreement,
                "where": antipodal_note(program.failures, step_keys, p),
            }
        )
        if program.n_agree == program.n_points:
            break
    program.history = history
    return program


def faithful_code(program: FaithfulProgram) -> Code:
    """Standalone Python (only `math`): the logits as the network computes them, then argmax."""
    forms = {form for _, form, _ in program.terms}
    terms = "\n".join(
        f"    ({k}, {form!r}, {', '.join(repr(c) for c in coefficients)}),"
        for k, form, coefficients in program.terms
    )
    branches = []
    if "clock" in forms:
        branches.append(
            '            if form == "clock":  # cos/sin of w(a + b - c): the Clock\n'
            "                total += coef[0] * math.cos(x) + coef[1] * math.sin(x)"
        )
    if "pizza" in forms:
        branches.append(
            '            if form == "pizza":  # amplitude |cos(w(a - b)/2)|: the Pizza\n'
            "                radius = 2 * abs(math.cos(w * (a - b) / 2))\n"
            "                along = abs(math.cos(x / 2)) - abs(math.sin(x / 2))\n"
            "                total += coef[0] * radius * along"
        )
    if "accompanying" in forms:
        branches.append(
            '            if form == "accompanying":  # the Pizza\'s accompanying circle at 2w\n'
            "                total -= coef[0] * (\n"
            "                    math.cos(w * c) * (math.cos(2 * w * a) + math.cos(2 * w * b))\n"
            "                    + math.sin(w * c) * (math.sin(2 * w * a) + math.sin(2 * w * b))\n"
            "                )"
        )
    body = "\n".join(branches)
    return Code(
        ("import math",),
        f'''P = {program.p}
# (frequency k, form, fitted coefficients); the angle of frequency k is w = 2 * pi * k / P
TERMS = (
{terms}
)


def logits(a: int, b: int) -> list[float]:
    """The logit of every answer c, from the network's key frequencies only."""
    out = []
    for c in range(P):
        total = 0.0
        for k, form, *coef in TERMS:
            w = 2 * math.pi * k / P
            x = w * (a + b - c)
{body}
        out.append(total)
    return out


def program(a: int, b: int) -> int:
    """The answer the network gives: the largest logit."""
    scores = logits(a, b)
    return max(range(P), key=scores.__getitem__)
''',
    )


def emit_faithful(program: FaithfulProgram, header: list[str]) -> str:
    """The faithful program as a file, through net2code's one emitter."""
    from ...emit import render

    usage = f"Usage: program(a, b) for a, b in 0..{program.p - 1}; logits(a, b) gives every logit."
    return render(faithful_code(program), header, usage)
