"""TransformerLens-layout checkpoints (Nanda's grokking code, the Clock/Pizza paper's code):
net2code's own Clock and Pizza fixtures written out in that layout with a config like the
paper's, then read back; every metric must equal the native run's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import net2code
from net2code.analyses.mechanism.analysis import analyse
from net2code.zoo.modular.transformerlens import to_transformerlens

FIXTURES = Path(__file__).parent / "fixtures"
P = 59


def write(name: str, folder: Path, **overrides: object) -> tuple[Path, object]:
    """The fixture `name` as model.pt (tensors only) and config.json; returns the native one."""
    native = net2code.load(FIXTURES / name)
    state, config = to_transformerlens(native.module)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "model.pt")
    (folder / "config.json").write_text(json.dumps({**config, **overrides}))
    return folder / "model.pt", native


@pytest.mark.parametrize(("name", "kind"), [("clock59", "clock"), ("pizza59", "pizza")])
def test_a_transformerlens_checkpoint_gives_the_native_metrics(
    name: str, kind: str, tmp_path: Path
) -> None:
    path, native = write(name, tmp_path / name)
    loaded = net2code.load(path)
    assert loaded.architecture == "transformer" and loaded.vocab == P
    assert "TransformerLens" in loaded.description
    tokens = np.stack(np.meshgrid(np.arange(P), np.arange(P), indexing="ij"), -1).reshape(-1, 2)
    assert np.allclose(loaded.raw(tokens), native.raw(tokens), atol=1e-5)
    ours, theirs = analyse(loaded.module, P), analyse(native.module, P)
    assert ours.kind == theirs.kind == kind
    assert ours.frequencies == theirs.frequencies
    for metric, value in theirs.metrics.items():
        assert ours.metrics[metric] == pytest.approx(value, abs=1e-6), metric
    for k, figures in theirs.per_circle_fve.items():
        for template in ("clock", "pizza", "accompanying"):
            assert ours.per_circle_fve[k][template] == pytest.approx(figures[template], abs=1e-6)


def test_the_cli_reads_a_state_dict_with_config(tmp_path: Path, cli) -> None:
    path, _ = write("pizza59", tmp_path / "tl")
    renamed = path.rename(tmp_path / "tl" / "pizza.pth")
    (tmp_path / "tl" / "config.json").rename(tmp_path / "paper.json")
    out = tmp_path / "out"
    proc = cli(
        "extract", str(renamed), "--config", str(tmp_path / "paper.json"), "-o", str(out),
        "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["program"]["summary"] == f"(a + b) % {P}" and result["verified"]
    assert result["analyses"]["mechanism"]["class"] == "pizza"


def test_bad_transformerlens_input_is_refused_in_one_line(
    tmp_path: Path, cli, one_line_error
) -> None:
    path, _ = write("clock59", tmp_path / "ok")
    out = tmp_path / "out"
    full = tmp_path / "full" / "model.pt"
    full.parent.mkdir()
    torch.save(net2code.load(FIXTURES / "clock59").module, full)  # a pickled full model
    one_line_error(cli("extract", str(full), "-o", str(out)), "pickled full model", "never")
    state = torch.load(path, weights_only=True)
    missing = tmp_path / "missing"
    missing.mkdir()
    torch.save({k: v for k, v in state.items() if "mlp" not in k}, missing / "model.pt")
    (missing / "config.json").write_text((path.parent / "config.json").read_text())
    one_line_error(
        cli("extract", str(missing / "model.pt"), "-o", str(out)),
        "no 'blocks.0.mlp.W_in' in the state dict",
        "layouts tried: TransformerLens",
    )
    wrong, _ = write("clock59", tmp_path / "wrong", d_model=64)
    one_line_error(
        cli("extract", str(wrong), "-o", str(out)),
        "config d_model=64 contradicts embed.W_E of shape (128, 59)",
    )
    gelu, _ = write("clock59", tmp_path / "gelu", act_fn="GeLU")
    one_line_error(
        cli("extract", str(gelu), "-o", str(out)), "activation 'GeLU' is not rebuilt yet"
    )
    two, _ = write("clock59", tmp_path / "two", n_layers=2)
    one_line_error(cli("extract", str(two), "-o", str(out)), "2 layers is not rebuilt yet")
    bare = tmp_path / "bare"
    bare.mkdir()
    torch.save(state, bare / "model.pt")
    one_line_error(
        cli("extract", str(bare / "model.pt"), "-o", str(out)),
        "needs its JSON config beside it or --config",
    )
    assert not out.exists()
