"""One report for every family: `report.md`, and `report.html` rendered from the same Markdown
(markdown-it) with the figures embedded. Both are made from result.json and the emitted files,
so `net2code report` can remake them; the family and the analyses add their own sections."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from .checks import percent

STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;}"
    "table{border-collapse:collapse;margin:0.5em 0;}td,th{border:1px solid #ccc;padding:3px 8px;}"
    "pre{background:#f6f6f6;padding:8px;overflow-x:auto;}img{max-width:100%;}"
)
MIME = {"png": "image/png", "gif": "image/gif"}
REPORT_FILE = "report.md"
HTML_FILE = "report.html"
FIGURES_DIR = "figures"


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _disagreements(check: dict[str, Any]) -> list[str]:
    rows = check["disagreements"]
    if not rows:
        return []
    flat = [
        {**({f"{k}": v for k, v in row["input"].items()} if "input" in row else {}),
         **{k: v for k, v in row.items() if k != "input"}}
        for row in rows
    ]  # fmt: skip
    columns = list(dict.fromkeys(k for row in flat for k in row))
    lines = [
        f"{check['n'] - check['n_agree']:,} {check['unit']} disagree in check "
        f"`{check['name']}`; the first {len(rows)}:",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in flat]
    return [*lines, ""]


def _sections(result: dict[str, Any]) -> list[str]:
    """What the family and the analyses add."""
    from .analyses import ANALYSES, get
    from .families import get as family

    lines = family(result["family"]).report(result)
    for name, data in result["analyses"].items():
        if name in ANALYSES:
            lines += get(name).report(data)
    return lines


def render_markdown(
    result: dict[str, Any],
    files: dict[str, str],
    *,
    figures: dict[str, str] | None = None,
    extra: list[str] | None = None,
) -> str:
    """The report as Markdown; `figures` maps a figure's name to its path (or data URI)."""
    network, domain, program = result["network"], result["domain"], result["program"]
    status = "**verified**" if result["verified"] else "**not verified**"
    units = {"finite": "points", "sequences": "sequences", "problems": "problems"}
    size = (
        f" ({domain['size']:,} {units.get(domain['kind'], domain['kind'])})"
        if domain["size"]
        else " (a real box)"
        if domain["kind"] == "box"
        else ""
    )
    where = f" from `{network['source']}`" if network["source"] else ""
    lines = [
        "# net2code extraction report",
        "",
        f"Network: {network['description']}{where}; family **{result['family']}**.",
        "",
        "| | |",
        "|---|---|",
        f"| status | {status} |",
        *[f"| verified by | {_cell(text)} |" for text in result["verified_by"]],
        *(
            [f"| error | {_cell(result['error']['statement'])} |"]
            if result.get("error") and program["summary"]
            else []
        ),
        *(
            [
                f"| exact fallback | `{result['fallback']['file'] or 'withheld'}`: "
                f"{result['fallback']['strategy']}, {result['fallback']['size']:,} "
                f"{result['fallback']['size_unit']}, "
                + ("verified" if result["fallback"]["verified"] else "not verified")
                + " |"
            ]
            if result.get("fallback")
            else []
        ),
        *[f"| note | {_cell(note)} |" for note in result.get("notes", [])],
        f"| program | `{_cell(program['summary'] or 'none')}` "
        + (f"({program['size']} {program['size_unit']}) |" if program["size"] else "|"),
        f"| domain | `{_cell(domain['spec'])}`{size} |",
        f"| strategy | {result['strategy']} |",
        "",
        "## Program",
        "",
        "```python",
        (files.get(program["file"] or "", "") or "# no program found").rstrip(),
        "```",
        "",
        "## Checks",
        "",
        "| check | against | scope | agree | defines verified | what |",
        "|---|---|---|---|---|---|",
    ]
    for check in result["checks"]:
        lines.append(
            f"| {check['name']} | {check['against']} | {check['scope']} | "
            f"{check['n_agree']:,}/{check['n']:,} {check['unit']} "
            f"({percent(check['n_agree'], check['n'])}) | "
            f"{'yes' if check['defining'] else ''} | {_cell(check['description'])} |"
        )
    lines.append("")
    for check in result["checks"]:
        if check["proof"]:
            lines += [f"Proof ({check['name']}): {check['proof']}.", ""]
    failing = [c for c in result["checks"] if c["against"] == "network" and not c["passed"]]
    lines += _disagreements(failing[0]) if failing else ["No input disagrees with the network.", ""]
    lines += ["## Search", ""]
    for tried in result["search"]["strategies_tried"]:
        if "skipped" in tried:
            lines.append(f"- {tried['strategy']}: skipped ({tried['skipped']})")
        else:
            lines.append(
                f"- {tried['strategy']}: {'found' if tried['found'] else 'nothing found'}, "
                f"{'exact' if tried['exact'] else 'not exact'}, matches the network on "
                f"{100 * tried['agreement']:.2f}% of what was observed ({tried['seconds']} s)"
            )
    hidden = ("table", "by_count", "pareto_front", "error")
    stats = {k: v for k, v in result["search"]["stats"].items() if k not in hidden}
    if stats:
        lines += [
            "",
            "Search statistics: "
            + "; ".join(f"{k.replace('_', ' ')} {_cell(v)}" for k, v in stats.items())
            + ".",
        ]
    lines.append("")
    lines += _sections(result)
    lines += extra or []
    for name, link in (figures or {}).items():
        caption = name.replace("_", " ")
        lines += [f"![{caption}]({link})", "", f"*{caption}*", ""]
    prov = result["provenance"]
    lines += [
        "## Provenance",
        "",
        f"- seed: {prov['seed']}",
        f"- versions: {prov['versions']}",
        f"- device: {prov['device']}",
        f"- created: {prov['created']}",
        f"- timings (s): {result['timings']}",
        "",
    ]
    return "\n".join(lines)


def render_html(
    result: dict[str, Any],
    files: dict[str, str],
    *,
    figures: dict[str, bytes] | None = None,
    extra: list[str] | None = None,
    standalone: bool = True,
) -> str:
    """The same report as HTML, figures embedded; also what Jupyter shows for an Extraction."""
    from markdown_it import MarkdownIt

    embedded = {
        name: f"data:{MIME.get(_kind(data), 'image/png')};base64,"
        + base64.b64encode(data).decode("ascii")
        for name, data in (figures or {}).items()
    }
    text = render_markdown(result, files, figures=embedded, extra=extra)
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    if not standalone:
        return f"<div>{body}</div>"
    title = html.escape(result["program"]["summary"] or "net2code report")
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def _kind(data: bytes) -> str:
    return "gif" if data[:4] == b"GIF8" else "png"


def write_report(
    folder: Path,
    *,
    compare: list[Path] | None = None,
    size: int | None = None,
) -> Path:
    """Remake report.md and report.html in an output folder from its result.json, the files
    beside it, the figures already in figures/, and the family's own figures."""
    from .emit import NUMPY_FILE, PROGRAM_FILE
    from .errors import ConfigError
    from .families import get
    from .network import load
    from .result import read

    result_file, result = read(folder)
    folder = result_file.parent
    family = get(result["family"])
    asked = {"compare": compare, "size": size}
    for name, value in asked.items():
        if value and name not in family.report_options:
            raise ConfigError(f"--{name} is not used by the {family.name} family's report")
    names = [PROGRAM_FILE, NUMPY_FILE]
    for data in result["analyses"].values():
        if isinstance(data.get("program"), str):
            names.append(data["program"])
    files = {n: (folder / n).read_text(encoding="utf-8") for n in names if (folder / n).is_file()}
    figures = {
        path.stem: path.read_bytes()
        for path in sorted((folder / FIGURES_DIR).glob("*"))
        if path.suffix in (".png", ".gif")
    }
    extra: list[str] = []
    if family.report_options and result["network"]["source"]:
        made, extra = family.figures(load(result["network"]["source"]), result, folder, **asked)
        figures.update(made)
    return write(folder, result, files, figures, extra)


def write(
    folder: Path,
    result: dict[str, Any],
    files: dict[str, str],
    figures: dict[str, bytes],
    extra: list[str] | None = None,
) -> Path:
    """Write figures/, report.md (linking them) and report.html (embedding them)."""
    from ._util import atomic_write_text

    links = {}
    if figures:
        (folder / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
        for name, data in figures.items():
            path = folder / FIGURES_DIR / f"{name}.{_kind(data)}"
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            links[name] = f"{FIGURES_DIR}/{path.name}"
    report = folder / REPORT_FILE
    atomic_write_text(report, render_markdown(result, files, figures=links, extra=extra))
    atomic_write_text(folder / HTML_FILE, render_html(result, files, figures=figures, extra=extra))
    return report
