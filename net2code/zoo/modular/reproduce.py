"""`net2code reproduce-pizza DIR`: the Clock/Pizza analysis over a folder of checkpoints (the
paper's `save/model_ID.pt` + `config_ID.json`, TransformerLens state dicts, Nanda's grokking
runs, net2code run folders), one row per model: the table a researcher compares with the
paper's."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..._util import atomic_write_json, atomic_write_text, provenance
from ...errors import Net2CodeError

COLUMNS = (
    "model", "attention_rate", "layers", "d_model", "activation", "class",
    "distance_irrelevance", "gradient_symmetricity", "circularity", "key_energy",
    "key_frequencies",
    "fve_clock", "fve_pizza", "per_circle_fve", "faithful_agreement", "addition_agreement",
    "note", "reasons",
)  # fmt: skip


def find_checkpoints(folder: Path) -> list[Path]:
    """Every state dict (.pt/.pth) and net2code run folder under `folder`, sorted."""
    if not folder.is_dir():
        raise Net2CodeError(f"{str(folder)!r} is not a folder of checkpoints")
    found = sorted(p for p in folder.rglob("*") if p.suffix in (".pt", ".pth") and p.is_file())
    found += sorted(p.parent for p in folder.rglob("model.safetensors"))
    if not found:
        raise Net2CodeError(
            f"no checkpoints in {str(folder)!r}: expected .pt/.pth state dicts with their JSON "
            "configs, or net2code run folders"
        )
    return found


def analyse_checkpoint(path: Path, root: Path) -> dict[str, Any]:
    """One row: the model's architecture, the paper's metrics, the per-circle FVE and the
    faithful program's agreement; a row with a note when the model cannot be analysed."""
    from ...analyses.mechanism.analysis import analyse, logit_tensor
    from ...analyses.mechanism.faithful import fit_faithful
    from ...analyses.mechanism.run import IMPERFECT_FLOOR, addition_agreement, applies_to
    from ...network import load

    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row["model"] = str(path.relative_to(root)) if path != root else path.name
    try:
        network = load(path)
    except Net2CodeError as exc:
        row["note"] = f"not loaded: {exc}"
        return row
    module: Any = network.module
    config = getattr(module, "config", None)
    if config is not None:
        row.update(
            attention_rate=config.attention_rate if config.kind == "transformer" else "",
            layers=config.n_layers,
            d_model=config.d_model,
            activation=config.activation,
        )
    if not applies_to(network):
        row["note"] = (
            f"not analysed: not a two-input network on Z_p whose answers are (a + b) mod p "
            f"on at least {IMPERFECT_FLOOR:.0%} of the pairs"
        )
        return row
    p = network.vocab  # type: ignore[attr-defined]
    mechanism = analyse(module, p)
    m = mechanism.metrics
    main = [
        v
        for k, v in mechanism.per_circle_fve.items()
        if k in mechanism.frequencies and k not in mechanism.accompanying
    ]
    addition = addition_agreement(network)  # type: ignore[arg-type]
    row.update(
        {
            "class": mechanism.kind,
            "distance_irrelevance": round(m["distance_irrelevance"], 4),
            "gradient_symmetricity": round(m["gradient_symmetricity"], 4),
            "circularity": round(m["circularity"], 4),
            "key_energy": round(m["key_frequency_energy"], 4),
            "key_frequencies": " ".join(map(str, mechanism.frequencies)),
            "fve_clock": round(float(np.mean([v["clock"] for v in main])), 4) if main else "",
            "fve_pizza": round(float(np.mean([v["pizza"] for v in main])), 4) if main else "",
            "per_circle_fve": "; ".join(
                f"{k}: {v['clock']:.2f}/{v['pizza']:.2f}/{v['accompanying']:.2f}"
                for k, v in mechanism.per_circle_fve.items()
            ),
            "faithful_agreement": round(
                fit_faithful(mechanism, logit_tensor(module, p)).agreement, 4
            ),
            "addition_agreement": round(addition, 4),
            "note": "" if addition == 1.0 else "imperfect network: analysed anyway",
            "reasons": "; ".join(mechanism.reasons),
        }
    )
    return row


def reproduce(folder: Path, progress: bool = True) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    paths = find_checkpoints(folder)
    return [
        analyse_checkpoint(path, folder)
        for path in tqdm(paths, desc="models", disable=None if progress else True, leave=False)
    ]


def render(rows: list[dict[str, Any]], elapsed: float) -> str:
    header = [
        "# The Clock/Pizza analysis, one row per model",
        "",
        f"{len(rows)} models in {elapsed:.1f} s. DI: distance irrelevance; GS: gradient "
        "symmetricity; FVE clock/pizza: the mean over the main circles of the paper's "
        "per-circle logit FVE; per circle: frequency: clock/pizza/accompanying. "
        "Faithful: the mechanism program's agreement with the network on all p^2 pairs.",
        "",
        "| model | α | layers | d_model | act | class | DI | GS | circularity | keys | "
        "FVE clock | FVE pizza | faithful | addition | note |",
        "|" + "---|" * 15,
    ]
    body = [
        "| "
        + " | ".join(
            str(r[c])
            for c in (
                "model", "attention_rate", "layers", "d_model", "activation", "class",
                "distance_irrelevance", "gradient_symmetricity", "circularity",
                "key_frequencies", "fve_clock", "fve_pizza", "faithful_agreement",
                "addition_agreement", "note",
            )
        )
        + " |"
        for r in rows
    ]  # fmt: skip
    circles = ["", "## Per-circle logit FVE (clock/pizza/accompanying)", ""]
    circles += [f"- {r['model']}: {r['per_circle_fve']}" for r in rows if r["per_circle_fve"]]
    return "\n".join(header + body + circles) + "\n"


def write(rows: list[dict[str, Any]], output: Path, elapsed: float) -> None:
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        output / "pizza.json",
        {"rows": rows, "wall_seconds": round(elapsed, 1), **provenance(None)},
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(output / "pizza.csv", buffer.getvalue())
    atomic_write_text(output / "pizza.md", render(rows, elapsed))


def run(folder: Path, output: Path, progress: bool = True) -> list[dict[str, Any]]:
    start = time.perf_counter()
    rows = reproduce(folder, progress)
    write(rows, output, time.perf_counter() - start)
    return rows
