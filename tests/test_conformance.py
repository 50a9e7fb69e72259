"""Conformance: every family of networks runs through the same pipeline and passes the same
assertions (in the spirit of scikit-learn's check_estimator). Each family's network is built
by hand, so its program is known: a closed-form Clock on Z_23 (feed-forward), an RNN computing
running parity (recurrent), a DT-net running dead-end filling (iterated), and Strassen's
scheme as a bilinear network (bilinear)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys

import pytest

import net2code
from net2code.emit import load_function
from net2code.result import validate

# case -> (family, run fixture, the network file inside it (None: the run folder itself),
# extra extract options, the program summary, a tamper that changes the program's answers)
FAMILIES = {
    "feed-forward": (
        "feed-forward",
        "clock_run",
        None,
        [],
        "(a + b) % 23",
        "return (_original(*args) + 1) % 23",
    ),
    "recurrent": (
        "recurrent",
        "parity_run",
        None,
        [],
        "s = abs(s - x); y = s",
        "return [1 - y for y in _original(*args)]",
    ),
    "recurrent, a user's ONNX file": (
        "recurrent",
        "parity_onnx",
        "model.onnx",
        [],
        "s = abs(s - x); y = s",
        "return [1 - y for y in _original(*args)]",
    ),
    "iterated": (
        "iterated",
        "dead_end_run",
        None,
        ["--sizes", "9,13", "--count", "10"],
        "dead-end filling",
        "return 1 - _original(*args)",
    ),
    "bilinear": (
        "bilinear",
        "strassen_run",
        None,
        [],
        "rank-7 scheme for (2x2)(2x2): 7 products, 18 additions",
        "return [[x + 1 for x in row] for row in _original(*args)]",
    ),
}


@pytest.fixture(scope="module", params=list(FAMILIES))
def extracted(request, cli, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The family's hand-built run folder, copied, and extracted into itself (as a user runs
    `net2code extract RUN`), or its network file extracted into the folder beside it: every
    verb below then works on that folder."""
    family, run_fixture, file, options, summary, tamper = FAMILIES[request.param]
    run = request.getfixturevalue(run_fixture)
    out = tmp_path_factory.mktemp(run_fixture) / "run"
    shutil.copytree(run, out)
    target = out if file is None else out / file
    proc = cli("extract", str(target), *options, "-o", str(out), "--no-progress", "--strict")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    network = run if file is None else run / file
    return {"family": family, "run": network, "out": out, "stdout": proc.stdout,
            "result": result, "summary": summary, "tamper": tamper, "options": options}  # fmt: skip


def test_the_family_is_detected_and_the_known_program_found(extracted) -> None:
    result = extracted["result"]
    assert result["family"] == extracted["family"]
    assert result["program"]["summary"] == extracted["summary"]
    assert result["program"]["entry"] == "program"
    assert extracted["summary"] in extracted["stdout"]


def test_program_files_are_emitted_with_one_header_and_lint_clean(extracted) -> None:
    out = extracted["out"]
    for name in ("program.py", "program_numpy.py"):
        source = (out / name).read_text()
        doc = ast.get_docstring(ast.parse(source))
        assert doc is not None and doc.startswith(extracted["summary"])
        assert f"from the {extracted['family']} network" in doc
        assert "Verified:" in doc and ("(exhaustive)" in doc or "(proved)" in doc)
        assert "program" in {
            n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)
        }
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,B,UP",
         "--ignore", "E501", "program.py", "program_numpy.py"],
        cwd=out, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_checks_are_recorded_and_define_verified(extracted) -> None:
    result = extracted["result"]
    checks = result["checks"]
    defining = [c for c in checks if c["defining"]]
    assert defining and all(c["scope"] in ("exhaustive", "proved") for c in defining)
    assert all(c["passed"] for c in checks if c["against"] == "network")
    assert result["verified"] is True
    assert len(result["verified_by"]) == len(defining)
    for sentence, check in zip(result["verified_by"], defining, strict=True):
        assert f"{check['n']:,}/{check['n']:,}" in sentence
        assert f"({check['scope']})" in sentence
    assert result["agreement"] == 1.0


def test_result_json_validates_against_the_schema(extracted) -> None:
    validate(extracted["result"])
    result = extracted["result"]
    assert result["schema"] == 1
    assert extracted["family"] in result  # the family's own section
    assert set(result["provenance"]) >= {"seed", "versions", "device", "created"}


def test_verify_reruns_the_defining_checks_and_catches_a_tampered_program(
    extracted, cli, tmp_path
) -> None:
    out = extracted["out"]
    proc = cli("verify", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "verified" in proc.stdout.splitlines()[-1]
    tampered = tmp_path / "tampered.py"
    tampered.write_text(
        (out / "program.py").read_text()
        + f"\n\n_original = program\n\n\ndef program(*args):\n    {extracted['tamper']}\n"
    )
    proc = cli("verify", str(out), "--program", str(tampered), "--no-progress")
    assert proc.returncode == 1, proc.stderr + proc.stdout
    assert "NOT verified" in proc.stdout


def test_bench_measures_network_and_program(extracted, cli) -> None:
    out = extracted["out"]
    proc = cli("bench", str(out), "--max-seconds", "0.3")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "bench.json").read_text())
    assert {(r["variant"], r["batch"]) for r in report["rows"]} == {
        ("network", "1"), ("program", "1"), ("network", "full"), ("program", "full")
    }  # fmt: skip
    assert all(r["timed"] > 0 and r["per_s"] > 0 for r in report["rows"])
    assert report["family"] == extracted["family"]


def test_report_is_written_from_the_result(extracted, cli) -> None:
    out = extracted["out"]
    (out / "report.md").unlink()
    proc = cli("report", str(out))
    assert proc.returncode == 0, proc.stderr
    markdown = (out / "report.md").read_text()
    assert markdown.startswith("# net2code extraction report")
    assert extracted["summary"] in markdown and "## Checks" in markdown
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html


def test_the_python_api_gives_the_same_result(extracted) -> None:
    kwargs = {}
    if extracted["options"]:
        kwargs = {"sizes": (9,), "count": 5}
    extraction = net2code.extract(net2code.load(extracted["run"]), figures=False, **kwargs)
    assert extraction.family.name == extracted["family"]
    assert extraction.verified and extraction.program.summary == extracted["summary"]
    assert repr(extraction).startswith(f"Extraction({extracted['family']}:")
    assert len(repr(extraction.network)) < 200  # no weight arrays
    program = load_function(extraction.python_source)
    assert callable(program)
