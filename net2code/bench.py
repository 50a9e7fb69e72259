"""Benchmark: the network against its emitted program, in one run, as ratios.

Each (variant, batch) pair runs in a fresh subprocess so that its peak RSS is its own: the
network's includes the torch runtime it needs, the program's only what the program needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._util import atomic_write_json, atomic_write_text, provenance
from .domain import Domain
from .errors import Net2CodeError
from .pipeline import NUMPY_FILE, PROGRAM_FILE, RESULT_FILE


@dataclass(frozen=True)
class BenchConfig:
    max_seconds: float = 20.0  # per measurement; batch-1 loops stop early past this
    python: str = sys.executable


def _run(spec: dict[str, Any], python: str) -> dict[str, Any]:
    # Run the worker file directly (not `-m net2code...`) so that the program's process never
    # imports the net2code package, and with it torch.
    worker = Path(__file__).with_name("_bench_worker.py")
    launcher = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
    proc = subprocess.run(
        [python, "-c", launcher, str(worker), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise Net2CodeError(f"benchmark worker for {spec['variant']} failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench(
    network_path: Path | str, program_dir: Path | str, config: BenchConfig | None = None
) -> dict[str, Any]:
    """Throughput and peak memory of network vs program on the whole domain, batch 1 and full."""
    config = config or BenchConfig()
    program_dir = Path(program_dir)
    result_file = program_dir / RESULT_FILE
    for needed in (program_dir / PROGRAM_FILE, program_dir / NUMPY_FILE, result_file):
        if not needed.is_file():
            raise Net2CodeError(f"{needed} is missing: run `net2code extract` first")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    domain = Domain.parse(result["domain"])
    if not domain.is_finite:
        raise Net2CodeError(f"bench needs a finite domain to sweep; {domain.spec()!r} is a box")
    base = {
        "ranges": [[r.lo, r.hi] for r in domain.inputs],
        "network": str(network_path),
        "program": str(program_dir / PROGRAM_FILE),
        "program_numpy": str(program_dir / NUMPY_FILE),
        "max_seconds": config.max_seconds,
        "readout": domain.readout or "argmax",
    }
    rows = []
    for batch in ("1", "full"):
        for variant in ("network", "program"):
            measured = _run({**base, "variant": variant, "batch": batch}, config.python)
            rows.append({"variant": variant, "batch": batch, **measured})
    by = {(r["variant"], r["batch"]): r for r in rows}
    ratios = {
        f"throughput_batch_{b}": by[("program", b)]["points_per_s"]
        / by[("network", b)]["points_per_s"]
        for b in ("1", "full")
    }
    ratios.update(
        {
            f"peak_rss_batch_{b}": by[("network", b)]["peak_rss_mb"]
            / by[("program", b)]["peak_rss_mb"]
            for b in ("1", "full")
        }
    )
    return {
        "domain": domain.spec(),
        "domain_size": domain.size,
        "expression": result.get("expression"),
        "verified": result.get("verified"),
        "network": result.get("network", {}).get("description"),
        "rows": rows,
        "ratios": ratios,
        **provenance(None),
    }


def render_bench_markdown(report: dict[str, Any], title: str = "net2code bench") -> str:
    lines = [
        f"# {title}",
        "",
        f"Network: {report['network']}; program `{report['expression']}` "
        f"(verified: {report['verified']}); domain `{report['domain']}` "
        f"({report['domain_size']:,} points).",
        "",
        "| variant | batch | points timed | points/s | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['variant']} | {row['batch']} | {row['points_timed']:,} | "
            f"{row['points_per_s']:,.0f} | {row['peak_rss_mb']:.1f} |"
        )
    r = report["ratios"]
    lines += [
        "",
        f"Program / network throughput: **{r['throughput_batch_1']:,.0f}x** at batch 1, "
        f"**{r['throughput_batch_full']:,.1f}x** at full batch.",
        f"Network / program peak RSS: {r['peak_rss_batch_1']:.1f}x at batch 1, "
        f"{r['peak_rss_batch_full']:.1f}x at full batch.",
        "",
        f"Versions: {report['versions']}; device: {report['device']}.",
        "",
    ]
    return "\n".join(lines)


def write_bench(report: dict[str, Any], folder: Path | str) -> None:
    folder = Path(folder)
    atomic_write_json(folder / "bench.json", report)
    atomic_write_text(folder / "bench.md", render_bench_markdown(report))
