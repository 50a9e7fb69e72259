"""Measuring a meta-model on a zoo: exact match and functional equivalence of its top-1
proposal (greedy decoding; and exact match of the widest beam's most probable program and of
the renamings' vote, `consensus`), and how often a verified program is among `beam` proposals.

With `repair` (boolean spaces), also how often the proposals repaired (`repair.py`: one
sub-expression replaced by an enumerated formula) give a verified program: from the greedy
proposal alone, and from all of them (the widest beam, then the renamings), as the `learned`
strategy does; and, as the baseline without any proposal, how often the network's function
has a formula within the repair library's size at all.

With `guided` (boolean spaces), the same decoding guided by the network's truth table
(`guide.py`: leaves that would disagree with it are ruled out, so every finished program
agrees with the network): its greedy program (exact match, and whether it finished), its
beams, its renamings, and one beam over all the renamed views at once (`propose_pooled`).

Here "verified" is the strategy's own test: the proposal's table equals the network's outputs
on every point of the domain (for a boolean space, 2^k points). The network is the oracle,
never the manifest's program.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from .model import MetaModel, as_tensors
from .programs import Space, consensus, from_prefix, table_bits
from .repair import library
from .repair import repair as repaired
from .zoo import LAYERS, features, load_network, read_manifest, zoo_form


def network_outputs(space: Space, weights: dict[str, np.ndarray]) -> np.ndarray:
    """What the network says on every point of the space.  # (n_points,) int64"""
    h = features(space).astype(np.float64)
    for i in range(1, 4):
        h = h @ weights[f"w{i}"] + weights[f"b{i}"]
        if i < 3:
            h = np.maximum(h, 0)
    if space.kind == "boolean":
        return (h[:, 0] > 0).astype(np.int64)
    return h.argmax(-1).astype(np.int64)


def table_of(space: Space, tokens: Sequence[str]) -> np.ndarray:
    return space.table(from_prefix(list(tokens), space))


def evaluate_zoo(
    model: MetaModel,
    folder: Path | str,
    *,
    beams: Sequence[int] = (1, 8, 64),
    limit: int | None = None,
    progress: bool = False,
    renamings: bool = True,
    repair: bool = True,
    guided: bool = True,
) -> list[dict[str, Any]]:
    """One row per network of the zoo (all its splits): its program and size, whether it
    matched its program, the greedy proposal, exact / functional at top-1 (and exact for the
    widest beam's first proposal and for the renamings' vote), and for each beam width the
    rank of the first proposal that agrees with the network everywhere (None: none did), the
    best agreement, and the seconds; with `renamings`, the same for the greedy programs of
    the network's 24 input renamings; with `repair`, the repairs above; with `guided`, the
    guided decoding above."""
    rows = read_manifest(folder)[:limit]
    space = model.space
    if rows and rows[0]["space"] != space.spec:
        raise ConfigError(f"zoo {folder} holds {rows[0]['space']}; the model reads {space.spec}")
    out = []
    iterator: Any = rows
    if progress:
        from tqdm import tqdm

        iterator = tqdm(rows, desc="decompile", unit="net")
    lib = library(space.k) if repair and space.kind == "boolean" else None
    form = zoo_form([folder])  # the vote writes its function the way the zoo writes programs
    for row in iterator:
        weights = load_network(folder, row)
        truth = network_outputs(space, weights)
        everything: list[tuple[str, ...]] = []
        program_table = table_of(space, row["program"].split())
        tensors = as_tensors({name: weights[name] for name in LAYERS})
        start = time.perf_counter()
        greedy = model.greedy(tensors)[0]
        result: dict[str, Any] = {
            "program": row["program"],
            "size": row["size"],
            "width": row["width"],
            "seed": row["seed"],
            "optimizer": row.get("optimizer", "adam"),
            "flipped": row.get("flipped", []),
            "matched": row["matched"],
            "network_agrees_with_program": float(np.mean(truth == program_table)),
            "top1": " ".join(greedy),
            "exact_top1": " ".join(greedy) == row["program"],
            "functional_top1": bool(np.array_equal(table_of(space, greedy), program_table)),
            "greedy_seconds": round(time.perf_counter() - start, 4),
        }
        for beam in beams:
            start = time.perf_counter()
            proposals = [greedy] if beam == 1 else [t for t, _ in model.propose(tensors, beam)]
            if beam == max(beams):
                everything = list(proposals)
                result["exact_beam_top1"] = (
                    bool(proposals) and " ".join(proposals[0]) == row["program"]
                )
            rank, best, best_tokens = None, 0.0, None
            for i, tokens in enumerate(proposals, 1):
                agreement = float(np.mean(table_of(space, tokens) == truth))
                if agreement > best:
                    best, best_tokens = agreement, tokens
                if agreement == 1.0:
                    rank = i
                    break
            result[f"beam{beam}"] = {
                "verified_rank": rank,
                "best_agreement": best,
                "best_is_program": best_tokens is not None
                and bool(np.array_equal(table_of(space, best_tokens), program_table)),
                "seconds": round(time.perf_counter() - start, 4),
            }
        if renamings and space.kind == "boolean":
            start = time.perf_counter()
            every_renaming = model.renamed_greedy(tensors)
            renamed = list(dict.fromkeys(every_renaming))
            agreed = consensus(every_renaming, space, form)
            result["exact_vote"] = agreed is not None and " ".join(agreed) == row["program"]
            agree = [float(np.mean(table_of(space, tokens) == truth)) for tokens in renamed]
            result["renamed"] = {
                "proposals": len(renamed),
                "verified": 1.0 in agree,
                "best_agreement": max(agree),
                "seconds": round(time.perf_counter() - start, 4),
            }
            everything += [t for t in renamed if t not in everything]
        if guided and space.kind == "boolean":
            result["guided"] = guided_row(model, tensors, truth, row["program"], beams)
        if lib is not None:
            target = table_bits(truth)
            full = (1 << len(truth)) - 1
            already = result[f"beam{max(beams)}"]["verified_rank"] is not None or (
                result.get("renamed", {}).get("verified", False)
            )
            start = time.perf_counter()
            exprs = [from_prefix(list(t), space) for t in everything]
            fixed = None if already else repaired(exprs, target, space)
            greedy_ok = bool(np.array_equal(table_of(space, greedy), truth))
            greedy_ok = greedy_ok or (
                repaired([from_prefix(list(greedy), space)], target, space) is not None
            )
            result["repair"] = {
                "verified": already or fixed is not None,
                "needed": not already,
                "proposal_rank": None if fixed is None else fixed.rank,
                "greedy_verified": greedy_ok,
                "library_alone": lib.smallest(target, full) is not None,
                "seconds": round(time.perf_counter() - start, 4),
            }
        out.append(result)
    return out


def guided_row(
    model: MetaModel,
    tensors: dict[str, Any],
    truth: np.ndarray,
    program: str,
    beams: Sequence[int],
) -> dict[str, Any]:
    """Guided decoding of one network: greedy (exact; finished, hence verified), each beam
    (verified: finished a program), the 24 renamings (verified), and one beam of the widest
    width over all 24 renamed views at once (`propose_pooled`: verified). No vote: every
    guided program computes the network's function, so their vote would be the truth
    table's own program, not the model's."""
    from .guide import truth_bits

    bits = truth_bits(model.space, truth)
    start = time.perf_counter()
    greedy = model.greedy(tensors, [bits])[0]
    out: dict[str, Any] = {
        "top1": " ".join(greedy),
        "exact_top1": " ".join(greedy) == program,
        "greedy_seconds": round(time.perf_counter() - start, 4),
    }
    for beam in beams:
        start = time.perf_counter()
        found = bool(greedy) if beam == 1 else bool(model.propose(tensors, beam, truth=bits))
        out[f"beam{beam}"] = {"verified": found, "seconds": round(time.perf_counter() - start, 4)}
    start = time.perf_counter()
    found = any(model.renamed_greedy(tensors, bits))
    out["renamed"] = {"verified": found, "seconds": round(time.perf_counter() - start, 4)}
    widest = max(beams)
    start = time.perf_counter()
    found = bool(model.propose_pooled(tensors, widest, truth=bits))
    out["pooled"] = {"verified": found, "seconds": round(time.perf_counter() - start, 4)}
    return out


def summarise(rows: Sequence[dict[str, Any]], beams: Sequence[int] = (1, 8, 64)) -> dict[str, Any]:
    """Rates over matched networks: exact and functional top-1, verified at each beam."""
    matched = [r for r in rows if r["matched"]]
    n = len(matched)
    summary: dict[str, Any] = {"networks": len(rows), "matched": n}
    if not n:
        return summary
    summary["exact_top1"] = sum(r["exact_top1"] for r in matched) / n
    summary["functional_top1"] = sum(r["functional_top1"] for r in matched) / n
    for key in ("exact_beam_top1", "exact_vote"):
        if all(key in r for r in matched):
            summary[key] = sum(r[key] for r in matched) / n
    for beam in beams:
        summary[f"verified_beam{beam}"] = (
            sum(r[f"beam{beam}"]["verified_rank"] is not None for r in matched) / n
        )
    if all("renamed" in r for r in matched):
        widest = f"beam{max(beams)}"
        summary["verified_renamed"] = sum(r["renamed"]["verified"] for r in matched) / n
        summary[f"verified_{widest}_and_renamed"] = (
            sum(r[widest]["verified_rank"] is not None or r["renamed"]["verified"] for r in matched)
            / n
        )
    if all("guided" in r for r in matched):
        guided = [r["guided"] for r in matched]
        summary["guided_exact_top1"] = sum(g["exact_top1"] for g in guided) / n
        for beam in beams:
            summary[f"guided_verified_beam{beam}"] = (
                sum(g[f"beam{beam}"]["verified"] for g in guided) / n
            )
        summary["guided_verified_renamed"] = sum(g["renamed"]["verified"] for g in guided) / n
        summary[f"guided_verified_beam{max(beams)}_and_renamed"] = (
            sum(g[f"beam{max(beams)}"]["verified"] or g["renamed"]["verified"] for g in guided) / n
        )
        summary[f"guided_verified_pooled{max(beams)}"] = (
            sum(g["pooled"]["verified"] for g in guided) / n
        )
        summary["guided_verified_strategy"] = (  # what `learned` runs before the plain search
            sum(g["pooled"]["verified"] or g[f"beam{max(beams)}"]["verified"] for g in guided) / n
        )
    if all("repair" in r for r in matched):
        summary["verified_beam1_repair"] = sum(r["repair"]["greedy_verified"] for r in matched) / n
        summary["verified_all_repair"] = sum(r["repair"]["verified"] for r in matched) / n
        summary["library_alone"] = sum(r["repair"]["library_alone"] for r in matched) / n
    return summary


def by_size(
    rows: Sequence[dict[str, Any]], edges: Sequence[tuple[int, int]], beams: Sequence[int]
) -> list[dict[str, Any]]:
    return [
        {
            "sizes": f"{low}-{high}",
            **summarise([r for r in rows if low <= r["size"] <= high], beams),
        }
        for low, high in edges
    ]


__all__ = ["by_size", "evaluate_zoo", "network_outputs", "summarise"]
