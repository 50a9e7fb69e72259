"""A bigger meta-model run: more programs (sampled in parallel), a bigger zoo, a wider model,
on a GPU when there is one. The shipped model is the small CPU recipe (`make
decompiler-model`); this is the documented bigger run.

    python benchmarks/decompiler_big.py --out big/ [--programs 40000] [--jobs 16]
        [--minutes 5] [--d-model 256] [--device cuda] [--backend loky|dask|ray]

Programs are drawn in `jobs` independent chunks (seeds 100, 101, ...) and merged, each
semantics keeping its smallest program; the split is by semantics, so no held-out semantics
of the shipped recipe is trained on.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--zoo", type=Path, default=None, help="zoo folder (default OUT/zoo)")
    parser.add_argument("--programs", type=int, default=40_000)
    parser.add_argument("--jobs", type=int, default=-1)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="loky")
    args = parser.parse_args()

    from joblib import Parallel, delayed, parallel_config

    from net2code._util import joblib_backend
    from net2code.zoo.decompiler.model import ModelConfig
    from net2code.zoo.decompiler.programs import SampledProgram, boolean, sample_programs
    from net2code.zoo.decompiler.train import TrainConfig, train
    from net2code.zoo.decompiler.zoo import ZooConfig, build_zoo

    space = boolean(4)
    args.out.mkdir(parents=True, exist_ok=True)
    client = joblib_backend(args.backend)
    start = time.perf_counter()
    chunks = 16
    with parallel_config(backend=args.backend, n_jobs=args.jobs):
        parts = Parallel()(
            delayed(sample_programs)(
                space, args.programs // chunks, sizes=(1, 25), draw_sizes=(1, 40), seed=100 + i
            )
            for i in range(chunks)
        )
        best: dict[str, SampledProgram] = {}
        for part in parts:
            for program in part:
                old = best.get(program.key)
                if old is None or (program.size, program.prefix) < (old.size, old.prefix):
                    best[program.key] = program
        programs = sorted(best.values(), key=lambda p: (p.size, p.key))
        sampled = time.perf_counter() - start
        print(f"{len(programs):,} programs in {sampled:.0f} s", flush=True)
        zoo = build_zoo(
            space, programs, args.zoo or args.out / "zoo", ZooConfig(widths=(16, 32), seeds=(0, 1)),
            jobs=args.jobs, sampler={"programs": args.programs, "sizes": [1, 25],
            "draw_sizes": [1, 40], "seed": [100 + i for i in range(chunks)]},
        )  # fmt: skip
    if client is not None:
        client.close()
    built = time.perf_counter() - start - sampled
    print(f"zoo in {built:.0f} s", flush=True)
    model, record = train(
        [zoo],
        space,
        ModelConfig(d_model=args.d_model, heads=8, encoder_layers=2, decoder_layers=4),
        TrainConfig(
            steps=args.steps,
            minutes=args.minutes,
            batch=args.batch,
            device=args.device,
            threads=4,
            validate_every=2000,
            lr=5e-4,
        ),  # fmt: skip
        log=lambda point: print(point, flush=True),
    )
    record |= {
        "name": "boolean4-big",
        "programs": len(programs),
        "sampling_seconds": round(sampled),
        "zoo_seconds": round(built),
    }
    model.save(args.out / "boolean4-big.safetensors", record)
    summary = {k: v for k, v in record.items() if k not in ("history",)}
    (args.out / "record.json").write_text(json.dumps(record, indent=1, default=str))
    print(json.dumps(summary, default=str)[:2000])


if __name__ == "__main__":
    main()
