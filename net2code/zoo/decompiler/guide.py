"""Guided decoding: the network's truth table, pushed down a partial prefix program, tells
which leaves may come next.

A boolean program is decoded in prefix order, so when the decoder is about to write a token,
the operators above the hole it fills are known, and so is every left operand already
written. From the values the whole program must take (the network's outputs on every point),
each hole inherits the values it must take on some points and is free on the rest
(semantic back-propagation):

    not:  the operand must take the negation of what the node must take;
    and:  left operand 1 where the node must be 1; right operand 1 there too, and 0 where the
          node must be 0 and the left operand is 1;
    or:   the same with 0 and 1 swapped;
    xor:  left operand free; right operand (what the node must take) xor (the left operand).

A leaf may fill a hole only if its column agrees with the hole's values where they are
required. If every leaf of a finished program passed that test, the program equals the truth
table on every point (each node then meets its own requirement, bottom up), so a guided beam
only ever finishes with programs that agree with the network everywhere. The verifier checks
them all the same. An operator is ruled out only by length: a subtree that must tell apart
two points differing in d inputs needs at least 2d - 1 tokens (`least_tokens`), and the
decoder (`MetaModel._admitted`) drops any token after which the holes left cannot fit in
the tokens that remain.

Tables are Python integers, point i at bit i (`programs.table_bits`); a partial program's
state is an immutable tuple of frames, so beam rows share it without copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .programs import Space

Frame = tuple[str, int, int, int | None]  # (operator, care, value, left operand's table)
State = tuple[Frame, ...]


class Guide:
    """Which leaves each hole of a partial program admits, for one truth table."""

    def __init__(self, space: Space, vocab: Sequence[str], truth: int) -> None:
        points = space.points  # (n_points, k)
        self.full = (1 << len(points)) - 1
        self.truth = truth & self.full
        columns = {
            name: sum(1 << i for i in np.flatnonzero(points[:, v]).tolist())
            for v, name in enumerate(space.names)
        }
        self.leaves = [(i, columns[tok]) for i, tok in enumerate(vocab) if tok in columns]
        self.vocab = tuple(vocab)
        self.binary = set(space.binary)
        self.unary = set(space.unary)
        k = space.k
        # per input v: the points where it is 0, and how far its partner point (v at 1) lies
        self.pairs = [
            (self.full & ~columns[name], 1 << (k - 1 - v)) for v, name in enumerate(space.names)
        ]

    def start(self) -> State:
        return (("root", self.full, self.truth, None),)

    def hole(self, state: State) -> tuple[int, int]:
        """(care, value): the points where the next token's subtree is constrained, and the
        values it must take there (`repair.wanted`, with the left operand as the sibling of
        a right one)."""
        from .repair import wanted

        op, care, value, left = state[-1]
        if op == "root":
            return care, value
        value, care = wanted(op, value, care, left, self.full)
        return care, value & care

    def least_tokens(self, state: State) -> int:
        """A lower bound on the tokens the next hole's subtree needs: a formula that must tell
        apart two points that differ in input v alone reads v, and d inputs read take at
        least 2d - 1 tokens (d leaves, d - 1 binary operators)."""
        care, value = self.hole(state)
        read = 0
        for zero, shift in self.pairs:
            both = care & zero & (care >> shift)  # pairs (x with v = 0, x with v = 1) both cared
            read += bool((value ^ (value >> shift)) & both)
        return max(1, 2 * read - 1)

    def banned(self, state: State) -> list[int]:
        """Vocabulary indices of the leaves that cannot fill the next hole."""
        care, value = self.hole(state)
        return [i for i, column in self.leaves if (column ^ value) & care]

    def advance(self, state: State, token: str) -> State:
        """The state after writing `token` in the next hole."""
        if token in self.binary or token in self.unary:
            care, value = self.hole(state)
            return (*state, (token, care, value, None))
        table = next(column for i, column in self.leaves if self.vocab[i] == token)
        frames = list(state)
        while True:
            op, care, value, left = frames[-1]
            if op == "root":
                return tuple(frames)
            if op == "not":
                frames.pop()
                table = ~table & self.full
            elif left is None:
                frames[-1] = (op, care, value, table)
                return tuple(frames)
            else:
                frames.pop()
                table = (
                    left & table if op == "and" else left | table if op == "or" else left ^ table
                )


def truth_bits(space: Space, truth: np.ndarray) -> int:
    """A network's outputs over `space.points` (0/1) as one integer, point i at bit i."""
    from .programs import table_bits

    return table_bits(np.asarray(truth) != 0)


__all__ = ["Guide", "truth_bits"]
