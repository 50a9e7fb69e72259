"""Does default training reach the mechanism? `net2code train modular --op add --p 59 --model
transformer --attention-rate A --seed S` for A in {1, 0} and seeds 0-2, with nothing else
set (the default stop rule trains on through Nanda's cleanup phase), then the Clock/Pizza
analysis of each run. Writes docs/modular/pizza_seeds.md and .json.

    python benchmarks/pizza_seeds.py [--out docs/modular] [--runs runs/pizza-seeds] [--jobs 2]

Each run trains with one torch thread; `--jobs` runs go side by side (2 on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any


def train_one(rate: float, seed: int, runs: Path) -> dict[str, Any]:
    import torch

    from net2code.zoo.modular.train import TrainConfig, save_run, train

    torch.set_num_threads(1)
    result = train(TrainConfig(attention_rate=rate, seed=seed), progress=False)
    folder = runs / f"alpha{rate:g}-seed{seed}"
    save_run(result, folder)
    return {"attention_rate": rate, "seed": seed, "folder": str(folder), **result.summary()}


def recorded(rate: float, seed: int, runs: Path) -> dict[str, Any]:
    folder = runs / f"alpha{rate:g}-seed{seed}"
    training = json.loads((folder / "config.json").read_text())["training"]
    keys = ("stop_reason", "steps", "train_loss", "test_accuracy", "full_domain_accuracy",
            "seconds")  # fmt: skip
    return {"attention_rate": rate, "seed": seed, "folder": str(folder),
            **{k: training[k] for k in keys}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/modular"))
    parser.add_argument("--runs", type=Path, default=Path("runs/pizza-seeds"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rates", default="1,0")
    parser.add_argument(
        "--analyse-only",
        action="store_true",
        help="Re-analyse the runs already in --runs (training figures from their config.json).",
    )
    args = parser.parse_args()
    from joblib import Parallel, delayed

    from net2code._util import atomic_write_json, atomic_write_text, provenance
    from net2code.zoo.modular.reproduce import analyse_checkpoint

    seeds = [int(s) for s in args.seeds.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    start = time.perf_counter()
    if args.analyse_only:
        trained = [recorded(rate, seed, args.runs) for rate in rates for seed in seeds]
        previous = json.loads((args.out / "pizza_seeds.json").read_text())
        wall = float(previous["wall_seconds"])
    else:
        trained = Parallel(n_jobs=args.jobs)(
            delayed(train_one)(rate, seed, args.runs) for rate in rates for seed in seeds
        )
        wall = time.perf_counter() - start
    rows = []
    for run in trained:
        row = analyse_checkpoint(Path(run["folder"]), args.runs)
        rows.append({**run, **row})
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        args.out / "pizza_seeds.json",
        {"rows": rows, "wall_seconds": round(wall, 1), "jobs": args.jobs, **provenance(None)},
    )
    lines = [
        "# Default training reaches the mechanism (p = 59, seeds 0-2)",
        "",
        "`net2code train modular --op add --p 59 --model transformer --attention-rate A "
        "--seed S -o RUN`, nothing else set, then `net2code extract RUN`'s Clock/Pizza "
        "analysis. Training follows Nanda's progress measures: past 100% test accuracy it "
        "goes on until the key frequencies hold 80% of the embedding's energy and the "
        "restricted loss is below 0.05 (cap 20,000 steps).",
        "",
        f"{len(rows)} runs, {args.jobs} side by side at one torch thread each, "
        f"{wall / 60:.1f} min wall on {platform.processor() or platform.machine()} "
        "(2 cores).",
        "",
        "| α | seed | steps | train s | stopped by | class | DI | GS | key energy | keys | "
        "FVE clock | FVE pizza | faithful |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['attention_rate']:g} | {r['seed']} | {r['steps']} | {r['seconds']:.0f} | "
            f"{r['stop_reason'].split(':')[0]} | {r['class']} | {r['distance_irrelevance']} | "
            f"{r['gradient_symmetricity']} | {r.get('key_energy', '')} | "
            f"{r['key_frequencies']} | {r['fve_clock']} | {r['fve_pizza']} | "
            f"{r['faithful_agreement']} |"
        )
    lines += ["", "Why each class (net2code's call, from distance irrelevance and gradient "
              "symmetricity as the paper decides):", ""]  # fmt: skip
    lines += [f"- α {r['attention_rate']:g}, seed {r['seed']}: {r['class']}: {r['reasons']}"
              for r in rows]  # fmt: skip
    lines += ["", "Stop reasons:", ""]
    lines += [f"- α {r['attention_rate']:g}, seed {r['seed']}: {r['stop_reason']}" for r in rows]
    lines += ["", "Per-circle logit FVE (frequency: clock/pizza/accompanying):", ""]
    lines += [f"- α {r['attention_rate']:g}, seed {r['seed']}: {r['per_circle_fve']}" for r in rows]
    atomic_write_text(args.out / "pizza_seeds.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({"wall_seconds": round(wall, 1)}))


if __name__ == "__main__":
    main()
