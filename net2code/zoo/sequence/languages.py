"""Formal languages over {0, 1} as ground truths: one output per step, for every prefix.

* Tomita 1-7 (Tomita 1982; the benchmark of Weiss, Goldberg and Yahav 2018): is the prefix in
  the language? Each is a small DFA, so the truth is known at any length.
* dyck1: balanced brackets, 0 = "(" and 1 = ")": two bits per step, bit 0 "the prefix can
  still be closed" (it never went below zero), bit 1 "the prefix is balanced".
* parity (the number of 1s so far is odd), majority (more 1s than 0s so far).

Extractors never see these; `--truth NAME` and the benchmark use them to score programs and
networks beyond the lengths that were checked against the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError

DEAD = -1


@dataclass(frozen=True)
class Language:
    """A language over {0, 1}; `truth(x)` maps (n, L) bits to (n, L) outputs."""

    name: str
    description: str
    truth: Callable[[np.ndarray], np.ndarray]
    readout: str = "argmax"  # how a network's per-step output is read for it
    regular: bool = True


def _dfa(table: list[tuple[int, int]], accepting: set[int]) -> Callable[[np.ndarray], np.ndarray]:
    """Prefix membership under a DFA: table[state] = (next on 0, next on 1); -1 is dead."""
    n = len(table)
    step = np.array([[a if a >= 0 else n, b if b >= 0 else n] for a, b in table] + [[n, n]])
    accept = np.array([s in accepting for s in range(n)] + [False])

    def truth(x: np.ndarray) -> np.ndarray:
        x = x[:, :, 0] if x.ndim == 3 else x
        state = np.zeros(len(x), dtype=np.int64)
        out = np.zeros(x.shape, dtype=np.int64)
        for t in range(x.shape[1]):
            state = step[state, x[:, t]]
            out[:, t] = accept[state]
        return out

    return truth


def _dyck1(x: np.ndarray) -> np.ndarray:
    x = x[:, :, 0] if x.ndim == 3 else x
    depth = np.cumsum(np.where(x == 0, 1, -1), axis=1)
    closable = np.minimum.accumulate(depth, axis=1) >= 0
    return closable.astype(np.int64) + 2 * ((depth == 0) & closable)


def _parity(x: np.ndarray) -> np.ndarray:
    x = x[:, :, 0] if x.ndim == 3 else x
    return np.cumsum(x, axis=1) % 2


def _majority(x: np.ndarray) -> np.ndarray:
    x = x[:, :, 0] if x.ndim == 3 else x
    return (np.cumsum(np.where(x == 1, 1, -1), axis=1) > 0).astype(np.int64)


LANGUAGES: dict[str, Language] = {
    lang.name: lang
    for lang in (
        Language("tomita1", "1*", _dfa([(DEAD, 0)], {0})),
        Language("tomita2", "(10)*", _dfa([(DEAD, 1), (0, DEAD)], {0})),
        Language(
            "tomita3",
            "no odd run of 1s followed by an odd run of 0s",
            # 0 safe, 1 odd 1-run, 2 odd 0-run after an odd 1-run, 3 even 0-run after one
            _dfa([(0, 1), (2, 0), (3, DEAD), (2, 1)], {0, 1, 3}),
        ),
        Language("tomita4", "no 000", _dfa([(1, 0), (2, 0), (DEAD, 0)], {0, 1, 2})),
        Language("tomita5", "even 0s and even 1s", _dfa([(1, 2), (0, 3), (3, 0), (2, 1)], {0})),
        Language("tomita6", "#0 - #1 = 0 mod 3", _dfa([(1, 2), (2, 0), (0, 1)], {0})),
        Language("tomita7", "0*1*0*1*", _dfa([(0, 1), (2, 1), (2, 3), (DEAD, 3)], {0, 1, 2, 3})),
        Language("parity", "the number of 1s so far is odd", _parity),
        Language(
            "dyck1",
            "bit 0: the prefix can still be closed; bit 1: it is balanced (0 = '(', 1 = ')')",
            _dyck1,
            readout="bits",
            regular=False,
        ),
        Language("majority", "more 1s than 0s so far", _majority, regular=False),
    )
}


def get_language(name: str) -> Language:
    """The language called `name` (case-insensitive), or a one-line error listing them."""
    for key, lang in LANGUAGES.items():
        if key == name.lower():
            return lang
    raise ConfigError(f"language {name!r} is unknown; choose one of {', '.join(LANGUAGES)}")
