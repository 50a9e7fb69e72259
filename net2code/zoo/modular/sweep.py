"""Sweeps: train and classify many modular-addition models (attention rate x width x seed)
in parallel through joblib, as in "The Clock and the Pizza" (their Figure: the fraction of
Clock and Pizza networks against the attention rate).

The joblib backend is pluggable: `loky` (local processes, the default), `threading`, or a
cluster through joblib's `dask` or `ray` backends, with no change to the code here.
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..._util import (
    JOBLIB_BACKENDS,
    atomic_write_json,
    atomic_write_text,
    joblib_backend,
    provenance,
)
from ...errors import ConfigError

BACKENDS = JOBLIB_BACKENDS


@dataclass(frozen=True)
class SweepConfig:
    attention_rates: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    widths: tuple[int, ...] = (32, 64)
    seeds: tuple[int, ...] = (0, 1)
    p: int = 59
    weight_decay: float = 2.0
    max_steps: int = 4000
    min_steps: int = 2000
    n_jobs: int = -1  # all local cores
    backend: str = "loky"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend {self.backend!r} is unknown; choose one of {BACKENDS}")
        for rate in self.attention_rates:
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"attention rate {rate} must lie in [0, 1]")
        for width in self.widths:
            if width < 4 or width % 4:
                raise ConfigError(f"width {width} must be a positive multiple of 4 (4 heads)")

    def runs(self) -> list[tuple[float, int, int]]:
        return [(a, w, s) for a in self.attention_rates for w in self.widths for s in self.seeds]


def run_one(rate: float, width: int, seed: int, config: SweepConfig) -> dict[str, Any]:
    """Train one transformer and classify it. Runs in a worker: one torch thread each."""
    import torch

    from ...analyses.mechanism.analysis import analyse
    from .train import TrainConfig, train

    torch.set_num_threads(1)
    start = time.perf_counter()
    result = train(
        TrainConfig(
            p=config.p, op="add", model="transformer", d_model=width, attention_rate=rate,
            seed=seed, weight_decay=config.weight_decay, max_steps=config.max_steps,
            min_steps=config.min_steps,
        ),
        progress=False,
    )  # fmt: skip
    mechanism = analyse(result.model, config.p)
    m = mechanism.metrics
    status = convergence(result.full_accuracy, m["key_frequency_energy"])
    return {
        "attention_rate": rate,
        "width": width,
        "seed": seed,
        "steps": result.steps,
        "accuracy": result.full_accuracy,
        "converged": status,
        # an unconverged run is not classified: its would-be class is kept beside, marked
        "class": mechanism.kind if status == "yes" else UNCONVERGED,
        "class_if_converged": mechanism.kind,
        "frequencies": " ".join(str(k) for k in mechanism.frequencies),
        "distance_irrelevance": round(m["distance_irrelevance"], 4),
        "gradient_symmetricity": round(m["gradient_symmetricity"], 4),
        "circularity": round(m["circularity"], 4),
        "logit_fit_clock": round(m["logit_fit_clock"], 4),
        "logit_fit_pizza": round(m["logit_fit_pizza"], 4),
        "seconds": round(time.perf_counter() - start, 1),
    }


UNCONVERGED = "unconverged"


def convergence(accuracy: float, key_energy: float) -> str:
    """'yes', or why the run is not done: below 100% on all pairs, or stopped before weight
    decay cleaned up the circuit (the key frequencies hold < 80% of the embedding's energy,
    the same threshold the classification uses)."""
    from ...analyses.mechanism.analysis import FOURIER_SPARSE

    if accuracy < 1.0:
        return f"no: accuracy {100 * accuracy:.1f}% < 100%"
    if key_energy < FOURIER_SPARSE:
        return f"no: key frequencies hold {key_energy:.2f} < {FOURIER_SPARSE} of the energy"
    return "yes"


def sweep(
    config: SweepConfig, output: Path | str, scheduler: str | None = None, progress: bool = True
) -> list[dict[str, Any]]:
    """Run every (attention rate, width, seed); write sweep.json, .csv, .md and phase.png."""
    from joblib import Parallel, delayed, parallel_config

    output = Path(output)
    client = joblib_backend(config.backend, scheduler)
    runs = config.runs()
    start = time.perf_counter()
    try:
        with parallel_config(backend=config.backend, n_jobs=config.n_jobs):
            rows = Parallel(verbose=10 if progress else 0)(
                delayed(run_one)(rate, width, seed, config) for rate, width, seed in runs
            )
    finally:
        if client is not None:
            client.close()
    rows = sorted(rows, key=lambda r: (r["attention_rate"], r["width"], r["seed"]))
    elapsed = time.perf_counter() - start
    write_sweep(rows, config, output, elapsed)
    return rows


def write_sweep(
    rows: Sequence[dict[str, Any]], config: SweepConfig, output: Path, elapsed: float
) -> None:
    meta = {"config": asdict(config), "runs": len(rows), "wall_seconds": round(elapsed, 1)}
    atomic_write_json(output / "sweep.json", {"rows": list(rows), **meta, **provenance(None)})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(output / "sweep.csv", buffer.getvalue())
    atomic_write_text(output / "sweep.md", render_sweep_markdown(rows, meta))
    with contextlib.suppress(ImportError):  # the plot needs matplotlib: net2code[report]
        (output / "phase.png").write_bytes(phase_plot(rows))


def class_fractions(rows: Sequence[dict[str, Any]]) -> dict[float, dict[str, float]]:
    out: dict[float, dict[str, float]] = {}
    for rate in sorted({r["attention_rate"] for r in rows}):
        group = [r for r in rows if r["attention_rate"] == rate]
        out[rate] = {
            kind: sum(r["class"] == kind for r in group) / len(group)
            for kind in ("clock", "pizza", "mixed", "non-circular", UNCONVERGED)
        }
    return out


def render_sweep_markdown(rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    columns = list(rows[0])
    lines = [
        "# Sweep: Clock vs Pizza against the attention rate",
        "",
        f"{meta['runs']} runs in {meta['wall_seconds']} s. Settings: {meta['config']}.",
        "",
        "Runs that stopped below 100% accuracy or before the cleanup phase are counted as "
        "unconverged, not classified (their would-be class is in `class_if_converged`).",
        "",
        "| attention rate | clock | pizza | mixed | non-circular | unconverged |",
        "|---|---|---|---|---|---|",
    ]
    for rate, fractions in class_fractions(rows).items():
        lines.append(
            f"| {rate:g} | {fractions['clock']:.2f} | {fractions['pizza']:.2f} | "
            f"{fractions['mixed']:.2f} | {fractions['non-circular']:.2f} | "
            f"{fractions[UNCONVERGED]:.2f} |"
        )
    waiting = [r for r in rows if r["class"] == UNCONVERGED]
    if waiting:
        lines += [
            "",
            f"**{len(waiting)} of {len(rows)} runs have not converged**; train longer "
            "(--max-steps, --min-steps) before reading their class.",
        ]
    lines += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def phase_plot(rows: Sequence[dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fractions = class_fractions(rows)
    rates = list(fractions)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for kind, colour in (("clock", "tab:blue"), ("pizza", "tab:orange"), ("mixed", "tab:green"),
                         ("non-circular", "tab:gray"), (UNCONVERGED, "tab:red")):  # fmt: skip
        left.plot(rates, [fractions[r][kind] for r in rates], marker="o", label=kind, color=colour)
    left.set_xlabel("attention rate α")
    left.set_ylabel("fraction of runs")
    left.set_title("Clock and Pizza against the attention rate")
    left.legend()
    colours = {
        "clock": "tab:blue",
        "pizza": "tab:orange",
        "mixed": "tab:green",
        "non-circular": "tab:gray",
        UNCONVERGED: "tab:red",
    }
    for row in rows:
        point = (row["gradient_symmetricity"], row["distance_irrelevance"])
        hollow = row["class"] == UNCONVERGED  # drawn as an open red x: not classified
        right.scatter(*point, color=colours[row["class"]], s=25, marker="x" if hollow else "o")
        label = f"α={row['attention_rate']:g}" + (" (unconverged)" if hollow else "")
        right.annotate(label, point, fontsize=6, alpha=0.7)
    right.set_xlabel("gradient symmetricity")
    right.set_ylabel("distance irrelevance")
    right.set_title("per run: colour = class; red x = unconverged")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
