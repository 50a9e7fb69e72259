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
        "layouts tried: Nanda/Clock-Pizza transformer",
    )
    wrong, _ = write("clock59", tmp_path / "wrong", d_model=64)
    one_line_error(
        cli("extract", str(wrong), "-o", str(out)),
        "config d_model=64 contradicts embed.W_E of shape (128, 59)",
    )
    gelu, _ = write("clock59", tmp_path / "gelu", act_fn="GeLU")
    extras = torch.load(gelu, weights_only=True)
    extras["blocks.0.mlp.W_gate"] = torch.zeros(512, 128)  # a gated MLP's extra matrix
    torch.save(extras, gelu)
    one_line_error(
        cli("extract", str(gelu), "-o", str(out)),
        "'blocks.0.mlp.W_gate' fits no known layout",
        "layouts tried: Nanda/Clock-Pizza transformer",
    )
    two, _ = write("clock59", tmp_path / "two", n_layers=2)
    one_line_error(cli("extract", str(two), "-o", str(out)), "no 'blocks.1.attn.W_Q'")
    bad_act, _ = write("clock59", tmp_path / "solu", act_fn="solu")
    one_line_error(cli("extract", str(bad_act), "-o", str(out)), "activation 'solu'")
    rotary, _ = write("clock59", tmp_path / "rotary", positional_embedding_type="rotary")
    one_line_error(
        cli("extract", str(rotary), "-o", str(out)),
        "config positional_embedding_type='rotary' is not rebuilt",
    )
    bare = tmp_path / "bare"
    bare.mkdir()
    torch.save(state, bare / "model.pt")
    one_line_error(
        cli("extract", str(bare / "model.pt"), "-o", str(out)),
        "needs its JSON config beside it or --config",
    )
    assert not out.exists()


# ------------------------------------------------------------- every layout, every option
def _act(name: str, x: torch.Tensor) -> torch.Tensor:
    return {
        "ReLU": torch.relu,
        "GeLU": torch.nn.functional.gelu,
        "Tanh": torch.tanh,
        "relu": torch.relu,
        "gelu": torch.nn.functional.gelu,
    }[name](x)


def _layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt() * w + b


def _tokens(inputs: np.ndarray, p: int, diff: bool, eqn: bool, n_tokens: int) -> torch.Tensor:
    tokens = torch.from_numpy(inputs).clone()
    if diff:
        tokens[:, 1] += p
    if eqn:
        tokens = torch.cat([tokens, torch.full((len(tokens), 1), n_tokens - 1)], dim=1)
    return tokens


def paper_forward(state: dict, config: dict, inputs: np.ndarray) -> np.ndarray:
    """The Clock/Pizza paper's transformer, written from its equations on its own layout:
    W_E (d_model, d_vocab), W_Q (heads, d_head, d_model), W_O (d_model, heads*d_head),
    alpha * softmax + (1 - alpha), no mask applied, logits at the last position."""
    p, alpha = config["C"], config["attn_coeff"]
    tokens = _tokens(
        inputs, p, config["diff_vocab"], config["eqn_sign"], state["embed.W_E"].shape[1]
    )
    x = state["embed.W_E"][:, tokens].permute(1, 2, 0) + state["pos_embed.W_pos"]  # (b, pos, d)
    for i in range(config["n_layers"]):
        w = {k.split(".")[-1]: v for k, v in state.items() if k.startswith(f"blocks.{i}.")}
        k = torch.einsum("ihd,bpd->biph", w["W_K"], x)
        q = torch.einsum("ihd,bpd->biph", w["W_Q"], x)
        v = torch.einsum("ihd,bpd->biph", w["W_V"], x)
        scores = torch.einsum("biph,biqh->biqp", k, q) / np.sqrt(w["W_Q"].shape[1])
        pattern = scores.softmax(-1) * alpha + (1 - alpha)
        z = torch.einsum("biph,biqp->biqh", v, pattern)
        z = z.permute(0, 2, 1, 3).reshape(z.shape[0], z.shape[2], -1)  # (b, q, heads*d_head)
        x = x + torch.einsum("df,bqf->bqd", w["W_O"], z)
        h = _act(config["act_fn"], torch.einsum("md,bpd->bpm", w["W_in"], x) + w["b_in"])
        x = x + torch.einsum("dm,bpm->bpd", w["W_out"], h) + w["b_out"]
    return (x @ state["unembed.W_U"])[:, -1].numpy()


def hooked_forward(state: dict, config: dict, inputs: np.ndarray) -> np.ndarray:
    """A TransformerLens HookedTransformer from its equations: W_E (d_vocab, d_model), W_Q
    (heads, d_model, d_head), W_O (heads, d_head, d_model), pre-LayerNorm, causal or not."""
    tokens = _tokens(inputs, 0, False, config["n_ctx"] == 3, config["d_vocab"])
    x = state["embed.W_E"][tokens] + state["pos_embed.W_pos"]  # (b, pos, d)
    n = x.shape[1]
    ln = config["normalization_type"] == "LN"
    for i in range(config["n_layers"]):
        w = {k[len(f"blocks.{i}.") :]: v for k, v in state.items() if k.startswith(f"blocks.{i}.")}
        y = _layer_norm(x, w["ln1.w"], w["ln1.b"]) if ln else x
        q = torch.einsum("bpd,hde->bhpe", y, w["attn.W_Q"]) + w["attn.b_Q"][None, :, None]
        k = torch.einsum("bpd,hde->bhpe", y, w["attn.W_K"]) + w["attn.b_K"][None, :, None]
        v = torch.einsum("bpd,hde->bhpe", y, w["attn.W_V"]) + w["attn.b_V"][None, :, None]
        scores = q @ k.transpose(-1, -2) / np.sqrt(config["d_head"])
        if config["attention_dir"] == "causal":
            scores = scores.masked_fill(~torch.ones(n, n).tril().bool(), float("-inf"))
        z = scores.softmax(-1) @ v  # (b, heads, pos, d_head)
        x = x + torch.einsum("bhpe,hed->bpd", z, w["attn.W_O"]) + w["attn.b_O"]
        y = _layer_norm(x, w["ln2.w"], w["ln2.b"]) if ln else x
        h = _act(config["act_fn"], y @ w["mlp.W_in"] + w["mlp.b_in"])
        x = x + h @ w["mlp.W_out"] + w["mlp.b_out"]
    if ln:
        x = _layer_norm(x, state["ln_final.w"], state["ln_final.b"])
    return (x @ state["unembed.W_U"] + state["unembed.b_U"])[:, -1].numpy()


def _random(config: object) -> object:
    from net2code.zoo.modular.models import Transformer

    torch.manual_seed(0)
    model = Transformer(config)
    with torch.no_grad():
        for tensor in model.parameters():
            tensor.normal_(0, 0.3)
    return model


PAIRS = np.stack(np.meshgrid(np.arange(11), np.arange(11), indexing="ij"), -1).reshape(-1, 2)


@pytest.mark.parametrize(
    "options",
    [
        {"n_layers": 2, "activation": "gelu", "diff_vocab": True, "eqn_sign": True},
        {"n_layers": 3, "activation": "tanh", "d_head": 5, "attention_rate": 0.3},
        {"n_layers": 1, "eqn_sign": True, "attention_rate": 0.0},
        {"n_layers": 2, "eqn_sign": True, "vocab": 15, "n_out": 15},  # a square W_E (16 x 16)
    ],
)
def test_the_papers_layout_is_read_as_its_equations_say(options: dict, tmp_path: Path) -> None:
    from net2code.zoo.modular.models import ModelConfig

    sizes = {"vocab": 11, "n_out": 11, "d_model": 16, "n_heads": 2, "d_mlp": 24}
    config = ModelConfig(**{**sizes, **options})
    state, paper = to_transformerlens(_random(config))
    torch.save(state, tmp_path / "model_run1.pt")
    (tmp_path / "config_run1.json").write_text(json.dumps(paper))  # found by its run id
    loaded = net2code.load(tmp_path / "model_run1.pt")
    assert loaded.vocab == config.vocab and loaded.n_inputs == 2
    expected = paper_forward(state, paper, PAIRS)
    assert np.allclose(loaded.raw(PAIRS), expected, atol=1e-5)


@pytest.mark.parametrize(
    ("layer_norm", "causal", "eqn", "vocab"), [(True, True, True, 15), (False, False, False, 11)]
)
def test_a_hooked_transformer_state_dict_is_read_as_its_equations_say(
    layer_norm: bool, causal: bool, eqn: bool, vocab: int, tmp_path: Path
) -> None:
    from net2code.zoo.modular.models import ModelConfig

    config = ModelConfig(
        vocab=vocab, n_out=vocab, d_model=16, n_heads=2, d_head=6, d_mlp=24, n_layers=2,
        activation="gelu", layer_norm=layer_norm, causal=causal, eqn_sign=eqn, attn_bias=True,
        unembed_bias=True,
    )  # fmt: skip
    state, hooked = to_transformerlens(_random(config), layout="hooked")
    torch.save(state, tmp_path / "model.pth")
    (tmp_path / "model.json").write_text(json.dumps(hooked))
    loaded = net2code.load(tmp_path / "model.pth")
    expected = hooked_forward(state, hooked, PAIRS)
    assert np.allclose(loaded.raw(PAIRS), expected, atol=1e-5)
    assert ("LayerNorm" in loaded.description) == layer_norm


def test_the_papers_mlp_only_model_is_read(tmp_path: Path) -> None:
    """The Linearformer: concatenated token embeddings, zero-padded to d_model, act(W_in x +
    b_in) per block with no residual, then W_U."""
    torch.manual_seed(1)
    p, d, layers = 11, 17, 2  # d_model // 2 = 8 per token, one padding dimension
    state = {"embed.W_E": torch.randn(d // 2, p), "unembed.W_U": torch.randn(d, p)}
    for i in range(layers):
        state[f"blocks.{i}.W_in"], state[f"blocks.{i}.b_in"] = torch.randn(d, d), torch.randn(d)
    config = {"C": p, "d_model": d, "n_layers": layers, "act_fn": "ReLU", "use_linear": True,
              "diff_vocab": 0, "eqn_sign": 0}  # fmt: skip
    torch.save(state, tmp_path / "model.pt")
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = net2code.load(tmp_path / "model.pt")
    x = state["embed.W_E"][:, torch.from_numpy(PAIRS)].permute(1, 2, 0).reshape(len(PAIRS), -1)
    x = torch.nn.functional.pad(x, (0, d - x.shape[1]))
    for i in range(layers):
        x = torch.relu(x @ state[f"blocks.{i}.W_in"].T + state[f"blocks.{i}.b_in"])
    assert loaded.architecture == "mlp-concat"
    assert np.allclose(loaded.raw(PAIRS), (x @ state["unembed.W_U"]).numpy(), atol=1e-5)


def test_a_hand_built_network_with_two_vocabularies_and_an_equals_token(tmp_path: Path) -> None:
    """The exact Pizza inside a transformer with b's own tokens and an "=" token, written in
    the paper's layout and read back: the same metrics to 1e-6, the same class."""
    from net2code.zoo.modular.handbuilt import pizza_transformer

    native = pizza_transformer(P, [5, 13, 23], diff_vocab=True, eqn_sign=True)
    state, config = to_transformerlens(native)
    assert config["diff_vocab"] == 1 and config["eqn_sign"] == 1
    torch.save(state, tmp_path / "model.pt")
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = net2code.load(tmp_path / "model.pt")
    theirs, ours = analyse(native, P), analyse(loaded.module, P)
    assert theirs.kind == ours.kind == "pizza" and theirs.frequencies == [5, 13, 23]
    for metric, value in theirs.metrics.items():
        assert ours.metrics[metric] == pytest.approx(value, abs=1e-6), metric
    for k in (5, 13, 23):  # the exact Pizza: pizza FVE 1, clock ~0.79 (the paper: 98%, 75%)
        assert ours.per_circle_fve[k]["pizza"] > 0.999
        assert 0.7 < ours.per_circle_fve[k]["clock"] < 0.85


def test_a_trained_two_layer_checkpoint_is_loaded_and_analysed(tmp_path: Path, cli) -> None:
    """tests/fixtures/two_layer (scripts/make_two_layer_fixture.py): p = 31, 2 blocks, GeLU,
    an "=" token, saved in the paper's layout as model_2l.pt + config_2l.json (found by its
    run id). Everything the analysis reads is defined at any depth."""
    weights = FIXTURES / "two_layer" / "model_2l.pt"
    out = tmp_path / "out"
    proc = cli("extract", str(weights), "-o", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["program"]["summary"] == "(a + b) % 31" and result["verified"]
    mechanism = result["analyses"]["mechanism"]
    census = mechanism["neuron_census"]
    assert [layer["layer"] for layer in census] == [0, 1]
    keys = mechanism["frequencies"]
    for layer in census:  # the neurons of both layers speak the key frequencies
        assert sum(n for k, n in layer["neurons"].items() if int(k) in keys) >= 0.9 * 128
    assert mechanism["class"] == "clock"  # attention rate 1
    for k in keys:  # on every main circle the Clock template explains more than the Pizza
        fve = mechanism["per_circle_fve"][str(k)]
        assert fve["clock"] > fve["pizza"] + 0.2, (k, fve)
    assert mechanism["agreement"] > 0.9  # the faithful program, on the network's own answers
    report = (out / "report.md").read_text()
    assert "| layer | neurons per frequency" in report


def test_reproduce_pizza_makes_one_row_per_model(tmp_path: Path, cli, one_line_error) -> None:
    """A folder as the paper's code leaves it (save/model_ID.pt + config_ID.json), with a
    2-layer model, a file that is not a checkpoint and a network that is not addition."""
    from net2code.checkpoint import save_checkpoint
    from net2code.zoo.modular.models import ModelConfig, build_model

    save = tmp_path / "save"
    save.mkdir()
    for name in ("clock59", "pizza59"):
        state, config = to_transformerlens(net2code.load(FIXTURES / name).module)
        torch.save(state, save / f"model_{name}.pt")
        (save / f"config_{name}.json").write_text(json.dumps(config))
    for file in (FIXTURES / "two_layer").iterdir():
        (save / file.name).write_bytes(file.read_bytes())
    (save / "model_broken.pt").write_bytes(b"not a checkpoint")
    config = ModelConfig(kind="mlp", vocab=7, n_out=7, d_model=8, d_mlp=16)
    save_checkpoint(save / "untrained", build_model(config), config, {})
    out = tmp_path / "table"
    proc = cli("reproduce-pizza", str(save), "-o", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = {r["model"]: r for r in json.loads((out / "pizza.json").read_text())["rows"]}
    assert set(rows) == {"model_2l.pt", "model_broken.pt", "model_clock59.pt",
                         "model_pizza59.pt", "untrained"}  # fmt: skip
    assert rows["model_clock59.pt"]["class"] == "clock"
    assert rows["model_clock59.pt"]["attention_rate"] == 1.0
    pizza = rows["model_pizza59.pt"]
    assert pizza["class"] == "pizza" and pizza["attention_rate"] == 0.0
    assert pizza["fve_pizza"] > pizza["fve_clock"] and pizza["faithful_agreement"] == 1.0
    assert rows["model_2l.pt"]["layers"] == 2 and rows["model_2l.pt"]["class"] == "clock"
    assert rows["model_broken.pt"]["note"].startswith("not loaded:")
    assert rows["untrained"]["note"].startswith("not analysed:")
    table = (out / "pizza.md").read_text()
    assert "| model_pizza59.pt | 0.0 | 1 | 128 | relu | pizza |" in table
    assert (out / "pizza.csv").read_text().startswith("model,attention_rate,layers")
    one_line_error(cli("reproduce-pizza", str(tmp_path / "nowhere")), "is not a folder")
    (tmp_path / "empty").mkdir()
    one_line_error(cli("reproduce-pizza", str(tmp_path / "empty")), "no checkpoints in")


def test_a_wrapped_training_checkpoint_is_unwrapped(tmp_path: Path) -> None:
    path, native = write("pizza59", tmp_path)
    state = torch.load(path, weights_only=True)
    torch.save({"model": state, "epoch": 4000, "train_loss": 0.01}, path)
    loaded = net2code.load(path)
    assert np.allclose(loaded.raw(PAIRS), native.raw(PAIRS), atol=1e-5)
