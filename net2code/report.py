"""Human-readable reports of an extraction."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline import Extraction


def render_markdown(extraction: Extraction) -> str:
    from .verify import percent

    data = extraction.to_dict()
    v = extraction.verification
    domain = extraction.domain
    size = f"{domain.size:,} points" if domain.is_finite else "a real box"
    status = "**verified**" if extraction.verified else "**not verified**"
    lines = [
        "# net2code extraction report",
        "",
        f"Network: {extraction.network.description}"
        + (f" from `{extraction.network.source}`" if extraction.network.source else ""),
        "",
        "| | |",
        "|---|---|",
        f"| status | {status} |",
        f"| agreement | {v.n_agree:,} / {v.n_points:,} ({percent(v.n_agree, v.n_points)}) |",
        f"| domain | `{extraction.domain.spec()}` ({size}) |",
        f"| strategy | {extraction.strategy} |",
        f"| program size | {data['program_size']} nodes |",
        f"| verification | {v.method} |",
        *([f"| proof | {v.proof} |"] if v.proof else []),
        "",
        "## Program",
        "",
        "```python",
        (extraction.python_source or "# no program found").rstrip(),
        "```",
        "",
        "## Verification",
        "",
    ]
    scalar = extraction.scalar_check
    if scalar:
        lines.append(
            f"The plain-Python `program.py` was also run point by point on {scalar['checked']:,} "
            f"points ({'all of them' if scalar['exhaustive'] else 'an even sample'}): "
            f"{scalar['agree']:,} agree."
        )
        lines.append("")
    if v.disagreements:
        names = list(v.disagreements[0]["input"])
        lines += [
            f"{v.n_points - v.n_agree:,} inputs disagree; the first {len(v.disagreements)}:",
            "",
            "| " + " | ".join(names) + " | network | program |",
            "|" + "---|" * (len(names) + 2),
        ]
        for row in v.disagreements:
            values = " | ".join(str(row["input"][n]) for n in names)
            lines.append(f"| {values} | {row['network']} | {row['program']} |")
        lines.append("")
    else:
        lines += ["No input disagrees.", ""]
    search = extraction.candidate.stats
    lines += ["## Search", ""]
    lines += [f"- {key.replace('_', ' ')}: {value}" for key, value in search.items()]
    lines += ["", "## Provenance", ""]
    lines += [
        f"- seed: {data['seed']}",
        f"- versions: {data['versions']}",
        f"- device: {data['device']}",
    ]
    lines += [f"- timings (s): {extraction.timings}", ""]
    return "\n".join(lines)
