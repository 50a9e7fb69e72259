"""The `learned` strategy: a meta-model reads the network's weights and proposes programs by
beam search; each proposal is checked against the network on every point of the domain, and
the first that agrees everywhere wins (the pipeline then checks it again, as any candidate).

The beam is first guided by the network's outputs (`zoo/decompiler/guide.py`): the truth
table, pushed down each partial program, rules out every leaf that would make it disagree
(and every token after which the holes left need more tokens than remain), so each program
the guided beam finishes agrees with the network everywhere, and the slots the plain beam
spends on programs that cannot verify go to ones that can. The guided beam runs over the
network seen under each of the input renamings the model trained with at once
(`propose_pooled`: one beam of the same width, started from every renamed view, keeping the
most probable sequences whichever view they read); when it finishes no program, over the
network as it is. Only when neither finishes a program does the plain search below run.

After the beam's proposals come the greedy programs of the network with its inputs renamed
(each of the renamings the model trained with, one batched pass, renamed back): the same
network seen 24 ways gives proposals the beam does not. `beam_rank` counts in that order;
`found_by` says which.

When no proposal agrees everywhere, the proposals seed a small enumeration (`repair`): in
each proposal, one sub-expression is replaced by the smallest formula (of up to 7 nodes,
enumerated bottom-up) that makes the whole proposal equal the network's truth table, where
one exists; the smallest repaired program wins. `found_by` then says "repair", and
`beam_rank` is the rank of the proposal it repaired.

The meta-model only proposes. A wrong proposal costs one table comparison and is never
returned as exact. When neither a proposal nor a repair agrees everywhere, the proposal that
agrees most is returned as inexact, with its agreement, so the result says so.

It reads 3-layer ReLU MLPs (in -> width -> width -> out, any width) on k bit inputs with one
logit (readout `bit`) or two (`argmax`), for which a meta-model is shipped in
`net2code/zoo/decompiler/weights/` or given as a file.
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..program import Expr, ExpressionProgram, evaluate
from .base import Behaviour, Candidate

SHIPPED = Path(__file__).resolve().parent.parent / "zoo" / "decompiler" / "weights"
DEFAULT_BEAM = 64


@cache
def _load(path: str) -> tuple[Any, dict[str, Any]]:
    from ..zoo.decompiler.model import load_model

    return load_model(path)


def shipped_models() -> list[Path]:
    return sorted(SHIPPED.glob("*.safetensors"))


class LearnedDecompiler:
    """Propose with the meta-model (beam search), accept what the network confirms."""

    name = "learned"

    def __init__(
        self,
        beam: int = DEFAULT_BEAM,
        model: Path | str | None = None,
        renamings: bool = True,
        repair: bool = True,
        guided: bool = True,
    ) -> None:
        from ..errors import ConfigError

        if beam < 1:
            raise ConfigError(f"--beam {beam} must be at least 1")
        if model is not None and not Path(model).is_file():
            raise ConfigError(f"meta-model {str(model)!r} does not exist")
        self.beam = beam
        self.renamings = renamings
        self.repair = repair
        self.guided = guided
        self.model_path = Path(model) if model is not None else None

    def _model_for(self, k: int) -> tuple[Any, dict[str, Any]] | None:
        paths = [self.model_path] if self.model_path else shipped_models()
        for path in paths:
            model, record = _load(str(path))
            if model.space.kind == "boolean" and model.space.k == k:
                return model, record
        return None

    def applicable(self, behaviour: Behaviour) -> str | None:
        domain = behaviour.domain
        layers = behaviour.layers
        if domain is None or not domain.is_boolean:
            return "reads networks on bit inputs only"
        if layers is None or [layer.relu for layer in layers] != [True, True, False]:
            return "reads 3-layer ReLU MLPs (in -> width -> width -> out) only"
        if behaviour.readout not in ("bit", "argmax") or layers[-1].weight.shape[0] > 2:
            return "reads networks with one logit (bit) or two (argmax)"
        if self._model_for(len(behaviour.names)) is None:
            where = self.model_path or SHIPPED
            return f"no meta-model for {len(behaviour.names)} bit inputs in {where}"
        return None

    def weights(self, behaviour: Behaviour) -> dict[str, np.ndarray]:
        """The network as the meta-model's layer arrays: w (in, out), b (out,); two argmax
        logits become one (their difference decides the bit)."""
        first, second, last = behaviour.layers or ()
        w3, b3 = last.weight.T, last.bias  # (width, out), (out,)
        if w3.shape[1] == 2:
            w3, b3 = w3[:, 1:] - w3[:, :1], b3[1:] - b3[:1]
        return {
            "w1": first.weight.T,
            "b1": first.bias,
            "w2": second.weight.T,
            "b2": second.bias,
            "w3": w3,
            "b3": b3,
        }

    def search(self, behaviour: Behaviour, *, timeout: float, progress: bool) -> Candidate:
        from ..zoo.decompiler.model import as_tensors
        from ..zoo.decompiler.programs import from_prefix, rename
        from ..zoo.decompiler.repair import repair

        start = time.perf_counter()
        found = self._model_for(len(behaviour.names))
        assert found is not None  # applicable() said so
        model, record = found
        space = model.space
        weights = as_tensors(self.weights(behaviour))
        truth = self._truth_table(behaviour)
        guided = ""
        proposals: list[tuple[str, ...]] = []
        beamed = 0
        if self.guided:
            searches = [("guided beam over the renamings", model.propose_pooled)]
            searches = searches if self.renamings else []
            for name, search in [*searches, ("guided beam search", model.propose)]:
                proposals = [t for t, _ in search(weights, beam=self.beam, truth=truth)]
                if proposals:
                    beamed, guided = len(proposals), name
                    break
        if not proposals:
            proposals = [tokens for tokens, _ in model.propose(weights, beam=self.beam)]
            beamed = len(proposals)
            if self.renamings:
                proposals += [t for t in model.propose_renamed(weights) if t not in proposals]
        names = dict(zip(space.names, behaviour.names, strict=True))
        env = {name: behaviour.inputs[:, i] for i, name in enumerate(behaviour.names)}
        stats: dict[str, Any] = {
            "beam": self.beam,
            "proposals": len(proposals),
            "renamed_proposals": len(proposals) - beamed,
            "guided": bool(guided),
            "meta_model": str(self.model_path) if self.model_path else record.get("name"),
            "propose_seconds": round(time.perf_counter() - start, 3),
        }
        best: tuple[float, int, Expr] | None = None
        checked = 0
        exprs: list[Expr] = []
        for rank, tokens in enumerate(proposals, 1):
            if time.perf_counter() - start > timeout:
                stats["reason"] = f"timed out after {rank - 1} of {len(proposals)} proposals"
                break
            exprs.append(from_prefix(tokens, space))
            expr = rename(exprs[-1], names)
            agreement = self._agreement(expr, behaviour, env)
            checked += 1
            if best is None or agreement > best[0]:
                best = (agreement, rank, expr)
            if agreement == 1.0:
                break
        if best is None:
            return Candidate(self.name, None, False, {**stats, "reason": "no proposal"})
        found_by = guided or ("beam search" if best[1] <= beamed else "input renaming")
        if best[0] < 1.0 and self.repair and exprs:
            left = max(0.0, timeout - (time.perf_counter() - start))
            fixed = repair(exprs, truth, space, timeout=left)
            if fixed is not None:
                expr = rename(fixed.expr, names)
                agreement = self._agreement(expr, behaviour, env)
                stats["repair"] = {
                    "proposal_rank": fixed.rank,
                    "replaced_nodes": fixed.removed,
                    "inserted_nodes": fixed.inserted,
                    "agreement": agreement,
                }
                if agreement == 1.0:  # always, by construction; the check decides all the same
                    best, found_by = (agreement, fixed.rank, expr), "repair"
        agreement, rank, expr = best
        stats |= {
            "beam_rank": rank,
            "found_by": found_by,
            "candidates_checked": checked,
            "best_agreement": agreement,
            "seconds": round(time.perf_counter() - start, 3),
        }
        if agreement < 1.0:
            stats["reason"] = (
                f"no proposal of {len(proposals)} agrees everywhere, nor a repair of one; the "
                f"best (rank {rank}) agrees on {agreement:.2%}"
            )
        program = ExpressionProgram(expr, tuple(behaviour.names))
        return Candidate(self.name, program, agreement == 1.0, stats)

    @staticmethod
    def _agreement(expr: Expr, behaviour: Behaviour, env: dict[str, Any]) -> float:
        values = np.broadcast_to(np.asarray(evaluate(expr, env)) != 0, behaviour.outputs.shape)
        return float(np.mean(values.astype(np.int64) == behaviour.outputs))

    @staticmethod
    def _truth_table(behaviour: Behaviour) -> int:
        """The network's outputs as one integer, in the program space's point order
        (itertools.product: the point with bits b1..bk is point sum(b_v 2^(k-v)))."""
        from ..zoo.decompiler.programs import table_bits

        bits = np.asarray(behaviour.inputs, dtype=np.int64)  # (points, k)
        index = bits @ (1 << np.arange(bits.shape[1] - 1, -1, -1))  # (points,)
        table = np.zeros(1 << bits.shape[1], dtype=np.int64)
        table[index] = np.asarray(behaviour.outputs) != 0
        return table_bits(table)
