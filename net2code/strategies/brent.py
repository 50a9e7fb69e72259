"""The bilinear family's strategy: read a matrix-multiplication scheme off the factors.

Round every coefficient to a multiple of 1/2, then repair where Brent equations fail: fix two
factors and solve the third exactly in rational arithmetic (W, then U, then V). The exact
scheme, or the rounded one with the fewest failing equations, is the candidate; the family's
checks prove it or count what fails.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .base import Candidate


class BrentRounding:
    name = "brent"

    def applicable(self, observation: Any) -> str | None:
        from ..bilinear import BilinearNetwork

        if not isinstance(observation, BilinearNetwork):
            return "needs a bilinear network's factors"
        return None

    def search(self, observation: Any, *, timeout: float, progress: bool) -> Candidate:
        from ..zoo.matmul.program import SchemeProgram
        from ..zoo.matmul.scheme import round_scheme

        start = time.perf_counter()
        u, v, w = observation.u, observation.v, observation.w
        rounding = round_scheme(observation.shape, u, v, w)
        snapped = [np.round(x * 2) / 2 for x in (u, v, w)]
        distance = max(float(np.abs(x - s).max()) for x, s in zip((u, v, w), snapped, strict=True))
        return Candidate(
            strategy=self.name,
            program=SchemeProgram(rounding.scheme),
            exact=rounding.exact,
            stats={
                "scheme": rounding.scheme.to_dict(),
                "failing_equations": rounding.failing,
                "repairs": rounding.repairs,
                "max_rounding_distance": distance,
                "seconds": round(time.perf_counter() - start, 3),
            },
            proof="Brent equations, exact" if rounding.exact else None,
        )
