"""The command line end to end, and bad input: one line, exit 2, nothing half-written."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest


@pytest.mark.slow
def test_train_extract_verify_bench(tmp_path: Path, cli, one_line_error) -> None:
    # The E_a + E_b MLP generalises from 80% of the pairs to all of them (about 2 s).
    run_dir = tmp_path / "add13"
    proc = cli(
        "train", "modular", "--op", "add", "--p", "13", "--model", "mlp", "--d-model", "32",
        "--d-mlp", "256", "--lr", "0.003", "--weight-decay", "1", "--train-fraction", "0.8",
        "--seed", "1", "--no-progress", "-o", str(run_dir),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "model.safetensors").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["provenance"]["seed"] == 1
    assert config["training"]["full_domain_accuracy"] == 1.0
    assert config["training"]["stop"] == "auto"  # an MLP: the accuracy rule
    assert config["training"]["stop_reason"].startswith("accuracy: 100% on train and test")

    proc = cli("extract", str(run_dir), "--no-progress", "--strict")
    assert proc.returncode == 0, proc.stderr
    assert "(a + b) % 13" in proc.stdout
    result = json.loads((run_dir / "result.json").read_text())
    assert result["verified"] is True
    assert result["agreement"] == 1.0
    assert result["domain"] == {"spec": "a:0..12 b:0..12 -> argmax", "kind": "finite", "size": 169}
    assert result["strategy"] == "dsl"
    assert result["program"]["file"] == "program.py" and result["family"] == "feed-forward"
    assert set(result["provenance"]) >= {"seed", "versions", "device", "created"}
    assert result["provenance"]["versions"]["torch"].startswith("2.")
    assert "timings" in result
    source = (run_dir / "program.py").read_text()
    assert "import" not in source
    assert "def program(a: int, b: int) -> int:" in source
    assert (run_dir / "report.md").read_text().startswith("# net2code extraction report")

    proc = cli("verify", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert "169/169 points agree" in proc.stdout
    assert proc.stdout.strip().endswith(": verified")

    # A tampered program fails verification with exit code 1.
    tampered = tmp_path / "tampered.py"
    tampered.write_text(source.replace("% 13", "% 13 if a else 0"))
    proc = cli("verify", str(run_dir), "--program", str(tampered))
    assert proc.returncode == 1
    assert "NOT verified" in proc.stdout

    proc = cli("bench", str(run_dir), "--max-seconds", "1")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((run_dir / "bench.json").read_text())
    assert {(r["variant"], r["batch"]) for r in report["rows"]} == {
        ("network", "1"),
        ("program", "1"),
        ("network", "full"),
        ("program", "full"),
    }
    assert set(report["ratios"]) >= {"throughput_batch_1", "throughput_batch_full"}
    assert report["unit"] == "points" and report["workload_size"] == 169


def test_extract_file_form_with_domain(add_run: Path, tmp_path: Path, cli, one_line_error) -> None:
    out = tmp_path / "out"
    proc = cli(
        "extract", str(add_run / "model.safetensors"), "--domain", "a:0..10 b:0..10",
        "-o", str(out), "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "figures", "mechanism.py", "program.py", "program_numpy.py", "report.html", "report.md",
        "result.json",
    ]  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    assert result["program"]["summary"] == "(a + b) % 11"
    assert result["network"]["source"] == str(add_run)
    # verify and bench work from the output folder: result.json names the network
    proc = cli("verify", str(out))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    proc = cli("bench", str(out), "--max-seconds", "0.2")
    assert proc.returncode == 0, proc.stderr
    assert (out / "bench.json").is_file()


def test_missing_checkpoint(tmp_path: Path, cli, one_line_error) -> None:
    one_line_error(cli("extract", str(tmp_path / "nope")), "does not exist")


def test_corrupt_checkpoint_leaves_nothing_written(
    add_run: Path, tmp_path: Path, cli, one_line_error
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(add_run / "config.json", bad)
    (bad / "model.safetensors").write_bytes(os.urandom(300))
    out = tmp_path / "out"
    one_line_error(cli("extract", str(bad), "-o", str(out)), "safetensors")
    assert not out.exists()
    assert sorted(p.name for p in bad.iterdir()) == ["config.json", "model.safetensors"]


def test_config_that_does_not_match_weights(
    add_run: Path, tmp_path: Path, cli, one_line_error
) -> None:
    bad = tmp_path / "mismatch"
    bad.mkdir()
    shutil.copy(add_run / "model.safetensors", bad)
    config = json.loads((add_run / "config.json").read_text())
    config["model"]["d_mlp"] = 128
    (bad / "config.json").write_text(json.dumps(config))
    one_line_error(cli("extract", str(bad)), "hidden.weight", "(256, 64)", "(128, 64)")


def test_pickle_is_never_loaded(tmp_path: Path, cli, one_line_error) -> None:
    bad = tmp_path / "pickled"
    bad.mkdir()
    marker = tmp_path / "unpickled"
    (bad / "config.json").write_text("{}")
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    (bad / "model.safetensors").write_bytes(pickle.dumps(_Evil(payload)))
    proc = cli("extract", str(bad))
    assert proc.returncode == 2
    assert not marker.exists()


class _Evil:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (eval, (self.code,))


@pytest.mark.parametrize("p", ["1", "0", "-3"])
def test_modulus_below_two(p: str, tmp_path: Path, cli, one_line_error) -> None:
    out = tmp_path / "run"
    one_line_error(cli("train", "modular", "--p", p, "-o", str(out)), f"p={p}", ">= 2")
    assert not out.exists()


def test_domain_too_large(add_run: Path, tmp_path: Path, cli, one_line_error) -> None:
    out = tmp_path / "out"
    proc = cli("extract", str(add_run), "--domain", "a:0..9999 b:0..9999", "-o", str(out))
    one_line_error(proc, "100,000,000 points", "10,000,000")
    assert not out.exists()


def test_domain_that_does_not_fit_the_network(add_run: Path, cli, one_line_error) -> None:
    one_line_error(cli("extract", str(add_run), "--domain", "a:0..20 b:0..3"), "0..10")
    one_line_error(cli("extract", str(add_run), "--domain", "a:0..3"), "takes 2")


def test_strict_exit_code_when_not_verified(
    tmp_path: Path, mlp_trainer, cli, one_line_error
) -> None:
    from net2code.zoo.modular.train import save_run

    run_dir = tmp_path / "undertrained"
    save_run(mlp_trainer("add", 7, max_steps=2), run_dir)
    proc = cli("extract", str(run_dir), "--timeout", "5", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "NOT verified" in proc.stdout
    proc = cli("extract", str(run_dir), "--timeout", "5", "--no-progress", "--strict")
    assert proc.returncode == 1, proc.stderr
    assert (run_dir / "program.py").is_file()  # written all the same, marked NOT VERIFIED
    assert "NOT VERIFIED" in (run_dir / "program.py").read_text()


def test_options_a_family_does_not_use_are_refused(
    add_run: Path, parity_run: Path, tmp_path: Path, cli, one_line_error
) -> None:
    out = tmp_path / "out"
    one_line_error(
        cli("extract", str(add_run), "--truth", "Parity_All", "-o", str(out)),
        "--truth is not used by the feed-forward family",
    )
    one_line_error(
        cli("extract", str(parity_run), "--domain", "x:bit", "-o", str(out)),
        "domain 'x:bit' is for points; a sequence network takes a sequence domain",
    )
    one_line_error(
        cli("extract", str(add_run), "--strategy", "scan", "-o", str(out)), "iterated networks"
    )
    assert not out.exists()


def test_help_keeps_brackets_and_groups_commands(cli, one_line_error) -> None:
    proc = cli("train", "rnn", "--help")
    assert "h_t = f([h_{t-1}, x_t])" in " ".join(proc.stdout.split())
    proc = cli("--help")
    assert "Extract and check" in proc.stdout and "Zoo" in proc.stdout
    assert "Exit codes" in " ".join(proc.stdout.split())


def test_verify_needs_an_extraction(tmp_path: Path, cli, one_line_error) -> None:
    one_line_error(cli("verify", str(tmp_path)), "result.json does not exist")
