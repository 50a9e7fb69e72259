"""result.json: one schema for every family (`schema/result.schema.json`, version 1).

A common core (network, domain, family, strategy, program, checks, verified, verified_by,
timings, provenance), the family's own section under its name, and `analyses`. Everything
net2code writes as result.json is validated against the schema first.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import Net2CodeError


@cache
def schema() -> dict[str, Any]:
    text = resources.files("net2code").joinpath("schema/result.schema.json").read_text("utf-8")
    return json.loads(text)


def validate(data: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `data` does not fit the schema."""
    import jsonschema

    jsonschema.validate(data, schema())


def read(folder: Path | str) -> tuple[Path, dict[str, Any]]:
    """The result.json of an output folder (or beside a file), validated; one-line errors."""
    path = Path(folder)
    file = path / "result.json" if path.is_dir() else path.parent / "result.json"
    if path.suffix == ".json" and path.is_file():
        file = path
    if not file.is_file():
        raise Net2CodeError(f"{file} does not exist: run `net2code extract` first")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Net2CodeError(f"{file} is not valid JSON: {exc}") from None
    import jsonschema

    try:
        validate(data)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise Net2CodeError(
            f"{file} is not a net2code result (schema 1) at {where}: {exc.message[:160]}"
        ) from None
    return file, data
