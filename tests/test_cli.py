"""The command line end to end, and bad input: one line, exit 2, nothing half-written."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NET2CODE = [sys.executable, "-m", "net2code"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NET2CODE, *args], capture_output=True, text=True, cwd=cwd, check=False)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("net2code: error:")
    for needle in needles:
        assert needle in lines[0]


def test_train_extract_verify_bench(tmp_path: Path) -> None:
    # The E_a + E_b MLP generalises from 80% of the pairs to all of them (about 2 s).
    run_dir = tmp_path / "add13"
    proc = run(
        "train", "modular", "--op", "add", "--p", "13", "--model", "mlp", "--d-model", "32",
        "--d-mlp", "256", "--lr", "0.003", "--weight-decay", "1", "--train-fraction", "0.8",
        "--seed", "1", "--no-progress", "-o", str(run_dir),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "model.safetensors").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["provenance"]["seed"] == 1
    assert config["training"]["full_domain_accuracy"] == 1.0

    proc = run("extract", str(run_dir), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "(a + b) % 13" in proc.stdout
    result = json.loads((run_dir / "result.json").read_text())
    assert result["verified"] is True
    assert result["agreement"] == 1.0
    assert result["domain_size"] == 169
    assert result["strategy"] == "dsl"
    assert result["program"] == "program.py"
    for key in ("seed", "versions", "device", "timings"):
        assert key in result
    assert result["versions"]["torch"].startswith("2.")
    source = (run_dir / "program.py").read_text()
    assert "import" not in source
    assert "def program(a: int, b: int) -> int:" in source
    assert (run_dir / "report.md").read_text().startswith("# net2code extraction report")

    proc = run("verify", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert "verified: 169/169" in proc.stdout

    # A tampered program fails verification with exit code 1.
    tampered = tmp_path / "tampered.py"
    tampered.write_text(source.replace("% 13", "% 13 if a else 0"))
    proc = run("verify", str(run_dir), "--program", str(tampered))
    assert proc.returncode == 1
    assert "NOT verified" in proc.stdout

    proc = run("bench", str(run_dir), "--max-seconds", "1")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((run_dir / "bench.json").read_text())
    assert {(r["variant"], r["batch"]) for r in report["rows"]} == {
        ("network", "1"),
        ("program", "1"),
        ("network", "full"),
        ("program", "full"),
    }
    assert set(report["ratios"]) >= {"throughput_batch_1", "throughput_batch_full"}


def test_extract_file_form_with_domain(add_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run(
        "extract", str(add_run / "model.safetensors"), "--domain", "a:0..10 b:0..10",
        "-o", str(out), "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "mechanism.py", "program.py", "program_numpy.py", "report.html", "report.md", "result.json"
    ]  # fmt: skip
    assert json.loads((out / "result.json").read_text())["expression"] == "(a + b) % 11"


def test_missing_checkpoint(tmp_path: Path) -> None:
    assert_one_line_error(run("extract", str(tmp_path / "nope")), "does not exist")


def test_corrupt_checkpoint_leaves_nothing_written(add_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(add_run / "config.json", bad)
    (bad / "model.safetensors").write_bytes(os.urandom(300))
    out = tmp_path / "out"
    assert_one_line_error(run("extract", str(bad), "-o", str(out)), "safetensors")
    assert not out.exists()
    assert sorted(p.name for p in bad.iterdir()) == ["config.json", "model.safetensors"]


def test_config_that_does_not_match_weights(add_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "mismatch"
    bad.mkdir()
    shutil.copy(add_run / "model.safetensors", bad)
    config = json.loads((add_run / "config.json").read_text())
    config["model"]["d_mlp"] = 128
    (bad / "config.json").write_text(json.dumps(config))
    assert_one_line_error(run("extract", str(bad)), "hidden.weight", "(256, 64)", "(128, 64)")


def test_pickle_is_never_loaded(tmp_path: Path) -> None:
    bad = tmp_path / "pickled"
    bad.mkdir()
    marker = tmp_path / "unpickled"
    (bad / "config.json").write_text("{}")
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    (bad / "model.safetensors").write_bytes(pickle.dumps(_Evil(payload)))
    proc = run("extract", str(bad))
    assert proc.returncode == 2
    assert not marker.exists()


class _Evil:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (eval, (self.code,))


@pytest.mark.parametrize("p", ["1", "0", "-3"])
def test_modulus_below_two(p: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert_one_line_error(run("train", "modular", "--p", p, "-o", str(out)), f"p={p}", ">= 2")
    assert not out.exists()


def test_domain_too_large(add_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("extract", str(add_run), "--domain", "a:0..9999 b:0..9999", "-o", str(out))
    assert_one_line_error(proc, "100,000,000 points", "10,000,000")
    assert not out.exists()


def test_domain_that_does_not_fit_the_network(add_run: Path) -> None:
    assert_one_line_error(run("extract", str(add_run), "--domain", "a:0..20 b:0..3"), "0..10")
    assert_one_line_error(run("extract", str(add_run), "--domain", "a:0..3"), "takes 2")
