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
    m = extraction.mechanism
    if m is not None:
        mech = m.mechanism
        lines += ["", f"## Mechanism: {mech.kind}", "", f"Key frequencies: {mech.frequencies}.", ""]
        lines += [f"- {reason}" for reason in mech.reasons]
        lines += ["", "| metric | value |", "|---|---|"]
        lines += [f"| {k.replace('_', ' ')} | {val:.4g} |" for k, val in mech.metrics.items()]
        lines += [
            "",
            f"The faithful program `mechanism.py` agrees with the network on {m.scalar_agree:,} / "
            f"{m.scalar_checked:,} pairs. Steps:",
            "",
            "| step | frequencies | forms | agreement | where it fails |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {h['step']} | {h['frequencies']} | {', '.join(h['forms'])} | "
            f"{100 * h['agreement']:.2f}% | {h['where']} |"
            for h in m.faithful.history
        ]
        lines.append("\nFigures are in `report.html`.")
    lines += ["", "## Provenance", ""]
    lines += [
        f"- seed: {data['seed']}",
        f"- versions: {data['versions']}",
        f"- device: {data['device']}",
    ]
    lines += [f"- timings (s): {extraction.timings}", ""]
    return "\n".join(lines)


def render_html(extraction: Extraction, standalone: bool = True) -> str:
    """A standalone HTML report: figures embedded as PNG, the metrics, the programs and the
    verification table. Also what Jupyter shows for an Extraction."""
    import base64
    import html

    from .verify import percent

    v = extraction.verification
    m = extraction.mechanism
    esc = html.escape
    source = extraction.network.source
    expression = extraction.program.source if extraction.program else ""
    status = "verified" if extraction.verified else "not verified"
    parts = [
        "<h1>net2code extraction report</h1>",
        f"<p>Network: {esc(extraction.network.description)}"
        + (f" from <code>{esc(source)}</code>" if source else "")
        + "</p>",
        "<table>",
        f"<tr><th>status</th><td><b>{status}</b></td></tr>",
        f"<tr><th>agreement</th><td>{v.n_agree:,} / {v.n_points:,} "
        f"({percent(v.n_agree, v.n_points)})</td></tr>",
        f"<tr><th>domain</th><td><code>{esc(extraction.domain.spec())}</code></td></tr>",
        f"<tr><th>strategy</th><td>{esc(extraction.strategy)}</td></tr>",
        f"<tr><th>program</th><td><code>{esc(expression)}</code></td></tr>",
        "</table>",
    ]
    if m is not None:
        mech = m.mechanism
        reasons = "; ".join(esc(r) for r in mech.reasons)
        parts += [
            f"<h2>Mechanism: {esc(mech.kind)}</h2>",
            f"<p>Key frequencies {mech.frequencies}. {reasons}.</p>",
            "<table><tr><th>metric</th><th>value</th></tr>",
            *(
                f"<tr><td>{esc(k.replace('_', ' '))}</td><td>{val:.4g}</td></tr>"
                for k, val in mech.metrics.items()
            ),
            "</table>",
        ]
        titles = {
            "spectrum": "The embedding's Fourier spectrum",
            "logits": "The correct-class logit over (s, d)",
            "circles": "Circles: principal-component planes of the embedding, labelled by token",
        }
        for key, title in titles.items():
            if key in m.figures:
                data = base64.b64encode(m.figures[key]).decode("ascii")
                parts += [
                    f"<h3>{title}</h3>",
                    f'<img alt="{key}" src="data:image/png;base64,{data}">',
                ]
        header = "".join(
            f"<th>{h}</th>" for h in ("step", "frequencies", "forms", "agreement", "where it fails")
        )
        parts += [
            "<h3>Faithful program (mechanism.py)</h3>",
            f"<p>Its argmax agrees with the network on {m.scalar_agree:,} / "
            f"{m.scalar_checked:,} pairs.</p>",
            f"<table><tr>{header}</tr>",
            *(
                f"<tr><td>{esc(h['step'])}</td><td>{h['frequencies']}</td>"
                f"<td>{', '.join(h['forms'])}</td><td>{100 * h['agreement']:.2f}%</td>"
                f"<td>{esc(h['where'])}</td></tr>"
                for h in m.faithful.history
            ),
            "</table>",
            f"<pre>{esc(m.source)}</pre>",
        ]
    parts += [
        "<h2>Program (program.py)</h2>",
        f"<pre>{esc(extraction.python_source or '')}</pre>",
        "<h2>Verification</h2>",
        f"<p>{esc(v.method)}</p>",
    ]
    if v.disagreements:
        names = list(v.disagreements[0]["input"])
        parts.append(
            "<table><tr>"
            + "".join(f"<th>{esc(n)}</th>" for n in names)
            + "<th>network</th><th>program</th></tr>"
        )
        for row in v.disagreements:
            cells = "".join(f"<td>{row['input'][n]}</td>" for n in names)
            parts.append(f"<tr>{cells}<td>{row['network']}</td><td>{row['program']}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No input disagrees.</p>")
    body = "\n".join(parts)
    if not standalone:
        return f"<div>{body}</div>"
    style = (
        "body{font-family:sans-serif;max-width:960px;margin:2em auto;}"
        "table{border-collapse:collapse;}td,th{border:1px solid #ccc;padding:3px 8px;}"
        "pre{background:#f6f6f6;padding:8px;overflow-x:auto;}"
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>net2code report</title>'
        f"<style>{style}</style></head><body>\n{body}\n</body></html>\n"
    )
