"""Real-valued networks on a box: how fast the exact regions are, and what the formulas give.

    python benchmarks/box_bench.py [--out docs/box] [--timeout 120] [--quick]

Part 1, regions: ReLU MLPs 2-w-...-w-1 (widths 8, 16, 32, 64; depths 1, 2, 3), each trained for
600 Adam steps on |x - y| + y/2 over [-1, 1]^2, then their activation regions enumerated three
ways in one run, one torch/BLAS thread: polygon clipping (the 2-D default now), one LP per
split with interval pruning (the n-D default now), and two LPs per split with no pruning (the
method net2code used before). Counts differ only by slivers; a method past `--timeout` is reported
as such.

Part 2, formulas: the networks of the issue (2-16-16-1 ReLU on |x| + |y| and max(x, y);
2-32-32-1 ReLU on |x - y| + y/2; 2-16-16-1 sigmoid on max(x, y); 2-16-16-1 tanh on x*y, x**2 + y,
sin(pi x)/2), extracted with the default strategies: the formula, its proved or sampled bound,
the exact tree's size beside it, and the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

TARGETS = {
    "|x - y| + y/2": lambda x, y: (x - y).abs() + y / 2,
    "|x| + |y|": lambda x, y: x.abs() + y.abs(),
    "max(x, y)": lambda x, y: x.maximum(y),
    "x*y": lambda x, y: x * y,
    "x**2 + y": lambda x, y: x**2 + y,
    "sin(pi x)/2": lambda x, y: (3.141592653589793 * x).sin() / 2,
}


def train(target: str, widths: tuple[int, ...], activation: str, steps: int, seed: int = 0) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_flush_denormal(True)
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activation]
    sizes = [2, *widths]
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(a, b), act()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    axis = torch.linspace(-1, 1, 41)
    grid = torch.cartesian_prod(axis, axis)
    for _ in range(steps):
        x = torch.cat([torch.rand(1024, 2) * 2 - 1, grid])
        loss = ((model(x)[:, 0] - TARGETS[target](x[:, 0], x[:, 1])) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model


def regions_part(args: argparse.Namespace) -> list[dict[str, Any]]:
    import numpy as np

    import net2code
    from net2code import regions

    widths = (8, 16) if args.quick else (8, 16, 32, 64)
    depths = (1, 2) if args.quick else (1, 2, 3)
    lows, highs = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    rows = []
    for depth in depths:
        for width in widths:
            model = train("|x - y| + y/2", (width,) * depth, "relu", steps=600)
            layers = net2code.from_module(model, n_inputs=2, n_classes=1).layers
            row: dict[str, Any] = {"width": width, "depth": depth}
            for method in ("polygon", "lp", "lp-plain"):
                start = time.perf_counter()
                try:
                    pieces, stats = regions.affine_pieces(
                        layers, lows, highs, method=method, timeout=args.timeout
                    )
                    row[method] = {
                        "regions": len(pieces),
                        "seconds": round(time.perf_counter() - start, 3),
                        "lps": stats["lps_solved"],
                    }
                except regions.RegionTimeout:
                    row[method] = {"timed_out": args.timeout}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def formulas_part(args: argparse.Namespace) -> list[dict[str, Any]]:
    import net2code

    cases = [
        ("|x| + |y|", (16, 16), "relu"),
        ("max(x, y)", (16, 16), "relu"),
        ("|x - y| + y/2", (32, 32), "relu"),
        ("max(x, y)", (16, 16), "sigmoid"),
        ("x*y", (16, 16), "tanh"),
        ("x**2 + y", (16, 16), "tanh"),
        ("sin(pi x)/2", (16, 16), "tanh"),
    ]
    if args.quick:
        cases = cases[:2]
    rows = []
    for target, widths, activation in cases:
        steps = 5000 if activation != "relu" else 3000
        model = train(target, widths, activation, steps=steps)
        network = net2code.from_module(model, n_inputs=2, n_classes=1)
        start = time.perf_counter()
        extraction = net2code.extract(network, "x:[-1,1] y:[-1,1]", analyses=False)
        seconds = time.perf_counter() - start
        result = extraction.to_dict()
        error = result["error"] or {}
        fallback = result["fallback"] or {}
        row = {
            "network": f"2-{'-'.join(map(str, widths))}-1 {activation}",
            "trained on": target,
            "formula": result["program"]["summary"],
            "strategy": result["strategy"],
            "nodes": result["program"]["size"],
            "bound": error.get("kind"),
            "max_abs_error": error.get("max_abs_error"),
            "share_of_range": (
                error["max_abs_error"] / (error["output_range"][1] - error["output_range"][0])
                if error
                else None
            ),
            "rms_error": error.get("rms_error"),
            "exact_tree_leaves": fallback.get("leaves"),
            "exact_tree_nodes": fallback.get("size"),
            "seconds": round(seconds, 2),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def cell(entry: dict[str, Any]) -> str:
    if "timed_out" in entry:
        return f"> {entry['timed_out']:g} s"
    lps = f", {entry['lps']:,} LPs" if entry["lps"] else ""
    return f"{entry['regions']:,} in {entry['seconds']:.3f} s{lps}"


def write(out: Path, regions: list[dict[str, Any]], formulas: list[dict[str, Any]]) -> None:
    from net2code._util import provenance

    out.mkdir(parents=True, exist_ok=True)
    (out / "box.json").write_text(
        json.dumps(
            {"regions": regions, "formulas": formulas, "provenance": provenance(0)}, indent=1
        )
    )
    lines = [
        "# Real-valued networks on a box: regions and formulas",
        "",
        "Made by `make bench-box` (`python benchmarks/box_bench.py --out docs/box`), one thread.",
        "",
        "## Activation regions of 2-w-...-w-1 ReLU networks on [-1, 1]^2",
        "",
        "Each cell: regions found, seconds, LPs solved. Polygon clipping keeps regions of area",
        "above 10^-12 of the box; the LP methods need a ball of radius 10^-6 of the box's side",
        "(now) or 10^-9 (before: below HiGHS's 10^-7 feasibility tolerance, so it also counts",
        "slivers the solver rounds into existence). Where counts differ, the difference is",
        "slivers thinner than that: the network's value on them is a neighbour's to within slope",
        "times width.",
        "",
        "| depth | width | polygon clipping (now, 2-D) | LP + interval pruning (now, n-D) "
        "| two LPs per split (before) |",
        "|---|---|---|---|---|",
    ]
    for row in regions:
        lines.append(
            f"| {row['depth']} | {row['width']} | {cell(row['polygon'])} | "
            f"{cell(row['lp'])} | {cell(row['lp-plain'])} |"
        )
    lines += [
        "",
        "## Formulas from the default extraction",
        "",
        "| network | trained on | formula | bound | max \\|N - P\\| | of the range | RMS "
        "| exact tree beside it | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in formulas:
        share = f"{100 * row['share_of_range']:.2f}%" if row["share_of_range"] is not None else ""
        tree = (
            f"{row['exact_tree_leaves']:,} leaves, {row['exact_tree_nodes']:,} nodes"
            if row["exact_tree_leaves"]
            else ""
        )
        error = f"{row['max_abs_error']:.4g}" if row["max_abs_error"] is not None else ""
        rms = f"{row['rms_error']:.3g}" if row["rms_error"] is not None else ""
        lines.append(
            f"| {row['network']} | {row['trained on'].replace('|', chr(92) + '|')} | "
            f"`{row['formula']}` | {row['bound']} | "
            f"{error} | {share} | {rms} | {tree} | {row['seconds']} |"
        )
    (out / "box.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/box"))
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    regions = regions_part(args)
    formulas = formulas_part(args)
    write(args.out, regions, formulas)
    print(f"wrote {args.out / 'box.md'}")


if __name__ == "__main__":
    main()
