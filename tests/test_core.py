"""Tasks, domains, models, checkpoints and the DSL search on known functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from net2code import Domain
from net2code.checkpoint import load_run, save_checkpoint
from net2code.errors import ConfigError, DomainError
from net2code.strategies.base import Behaviour
from net2code.strategies.dsl import DSLConfig, DSLSearch
from net2code.zoo.modular.models import ModelConfig, Transformer, build_model
from net2code.zoo.modular.tasks import ModularTask
from net2code.zoo.modular.train import TrainConfig


def test_modular_task_labels_and_split() -> None:
    task = ModularTask(7, "sub")
    x, y = task.inputs(), task.labels()
    assert x.shape == (49, 2)
    assert (y == (x[:, 0] - x[:, 1]) % 7).all()
    split = task.split(0.8, seed=3)
    assert len(split.train) == round(0.8 * 49)
    assert set(split.train).isdisjoint(split.test)
    assert set(split.train) | set(split.test) == set(range(49))
    assert (task.split(0.8, seed=3).train == split.train).all()
    assert not (task.split(0.8, seed=4).train == split.train).all()


def test_custom_expression_labels() -> None:
    task = ModularTask(11, "a*a + 3*b")
    x = task.inputs()
    assert (task.labels() == (x[:, 0] ** 2 + 3 * x[:, 1]) % 11).all()
    a, b = x[:, 0], x[:, 1]
    task = ModularTask(11, "(a != b) + -a + (1 < a <= b) * max(a, b, 4)")
    expected = (a != b).astype(int) - a + ((a > 1) & (a <= b)) * np.maximum(np.maximum(a, b), 4)
    assert (task.labels() == expected % 11).all()


@pytest.mark.parametrize(
    ("p", "op", "message"),
    [
        (1, "add", "p=1"),
        (7, "a/b", "Div"),
        (7, "c + a", "'c'"),
        (7, "a +", "syntax"),
        (7, "a % 0", "zero"),
    ],
)
def test_bad_tasks(p: int, op: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ModularTask(p, op).labels()


def test_domain_parse_and_enumerate() -> None:
    domain = Domain.parse("a:0..2 b:-1..0 c:bit")
    assert domain.size == 12
    points = domain.enumerate()
    assert points[:3].tolist() == [[0, -1, 0], [0, -1, 1], [0, 0, 0]]
    assert points[-1].tolist() == [2, 0, 1]
    with pytest.raises(DomainError, match="10,000,000"):
        Domain.parse("a:0..9999 b:0..9999")
    with pytest.raises(DomainError, match="empty"):
        Domain.parse("a:3..1")
    with pytest.raises(DomainError, match="distinct"):
        Domain.parse("a:0..1 a:0..1")


def test_attention_rate_zero_makes_attention_constant() -> None:
    torch.manual_seed(0)
    config = ModelConfig(
        kind="transformer", vocab=7, n_out=7, d_model=16, n_heads=2, d_mlp=32, attention_rate=0.0
    )
    model = Transformer(config)
    x = torch.randn(3, 2, 16)
    # With alpha = 0 the pattern is J: every position receives the sum of all values.
    attn = model.blocks[0].attn
    expected = attn.W_O(attn.W_V(x).sum(dim=1, keepdim=True).expand(-1, 2, -1))
    assert torch.allclose(attn(x), expected, atol=1e-5)
    assert model(torch.tensor([[1, 2], [3, 4]])).shape == (2, 7)


def test_model_sizes_match_the_paper() -> None:
    model = build_model(ModelConfig(kind="transformer", vocab=59, n_out=59))
    n = sum(p.numel() for p in model.parameters())
    # embed 59*128 + pos 2*128 + 4 * 128*128 + MLP 128*512+512+512*128+128 + unembed 128*59
    assert n == 59 * 128 + 2 * 128 + 4 * 128 * 128 + (128 * 512 + 512 + 512 * 128 + 128) + 128 * 59


def test_checkpoints_of_the_one_layer_layout_still_load(tmp_path: Path) -> None:
    """Run folders written before n layers name the block's weights attn.*, mlp_in.*."""
    from safetensors.torch import save_file

    config = ModelConfig(kind="transformer", vocab=7, n_out=7, d_model=16, n_heads=2, d_mlp=32)
    model = build_model(config)
    legacy = {k.removeprefix("blocks.0."): v.contiguous() for k, v in model.state_dict().items()}
    assert "attn.W_Q.weight" in legacy and "mlp_in.bias" in legacy
    save_checkpoint(tmp_path, model, config, {})
    save_file(legacy, str(tmp_path / "model.safetensors"))
    tokens = torch.tensor([[0, 1], [6, 3]])
    assert torch.equal(load_run(tmp_path).module(tokens), model(tokens))


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    config = ModelConfig(kind="mlp", vocab=5, n_out=5, d_model=8, d_mlp=16)
    model = build_model(config)
    save_checkpoint(tmp_path, model, config, {"task": {"p": 5}})
    loaded = load_run(tmp_path)
    tokens = torch.tensor([[0, 1], [4, 3]])
    assert torch.equal(loaded.module(tokens), model(tokens))
    assert loaded.run["task"] == {"p": 5}
    assert loaded.architecture == "mlp" and loaded.vocab == 5
    assert not list(tmp_path.glob("*.tmp"))


def test_sequence_domains_enumerate_every_sequence() -> None:
    from net2code import SequenceDomain
    from net2code.domain import IntRange, RealInterval

    domain = SequenceDomain((IntRange("a", 0, 1), IntRange("b", 0, 2)), length=10)
    assert domain.alphabet_size == 6
    assert domain.exhaustive_length == 7  # 6^7 = 279,936 <= 2^20 < 6^8
    assert domain.spec() == "seq(a:bit b:0..2) len:1..7 -> argmax"
    every = domain.enumerate(2)
    assert every.shape == (36, 2, 2)
    assert len({tuple(map(tuple, seq)) for seq in every.tolist()}) == 36
    real = SequenceDomain((RealInterval("x", -1, 1),), length=10, readout="real")
    assert real.exhaustive_length is None and real.size is None


def test_the_cleanup_stop_rule_follows_the_progress_measures() -> None:
    """Training a transformer on addition goes on past 100% accuracy until the key
    frequencies hold 80% of the embedding's energy and the restricted loss is low (Nanda et
    al.'s cleanup phase); the demo's rule stops at 100%."""
    from net2code.zoo.modular.handbuilt import clock_network
    from net2code.zoo.modular.train import _stop, cleanup_measures

    assert TrainConfig().stop_rule() == "cleanup"
    assert TrainConfig(model="mlp").stop_rule() == "accuracy"
    assert TrainConfig(op="mul").stop_rule() == "accuracy"
    clean = clock_network(59, [5, 13, 23])
    with torch.no_grad():
        clean.unembed.weight.mul_(20)  # sharper logits: a low loss, as after training
    measures = cleanup_measures(clean, 59)
    assert measures["key_energy"] == pytest.approx(1.0) and measures["restricted_loss"] < 0.05
    noisy = Transformer(ModelConfig(kind="transformer", vocab=59, n_out=59))
    assert cleanup_measures(noisy, 59)["key_energy"] < 0.8
    config = TrainConfig(cleanup_every=100)
    record: dict[str, float] = {}
    assert _stop(config, "cleanup", 100, True, noisy, 0.01, record) == ""
    assert record["key_energy"] < 0.8  # measured, recorded in the history, not enough
    assert _stop(config, "cleanup", 100, True, clean, 0.01, {}).startswith("cleanup: the 3 key")
    assert _stop(config, "cleanup", 101, True, clean, 0.01, {}) == ""  # measured every 100
    assert _stop(config, "cleanup", 100, False, clean, 0.01, {}) == ""  # not yet 100%
    assert _stop(config, "accuracy", 7, True, noisy, 0.01, {}).startswith("accuracy")
    with pytest.raises(ConfigError, match="stop='early'"):
        TrainConfig(stop="early")


def test_train_config_validates_early() -> None:
    with pytest.raises(ConfigError, match="attention_rate"):
        TrainConfig(attention_rate=1.5)
    with pytest.raises(ConfigError, match="d_model=30"):
        TrainConfig(d_model=30, n_heads=4)


def _behaviour(values: np.ndarray, n: int, n_classes: int | None = None) -> Behaviour:
    domain = Domain.parse(f"a:0..{n - 1} b:0..{n - 1}")
    return Behaviour(domain.enumerate(), values.reshape(-1), ("a", "b"), n_classes)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (lambda a, b: np.minimum(a, b), "min(a, b)"),
        (lambda a, b: np.abs(a - b), "abs(a - b)"),
        (lambda a, b: (a < b).astype(np.int64), "int(a < b)"),
        (lambda a, b: a // 3 + b, "a // 3 + b"),
        (lambda a, b: (a * b * b) % 17, "a * (b * b) % 17"),
    ],
)
def test_dsl_finds_known_functions(fn, expected: str) -> None:
    a, b = np.meshgrid(np.arange(17), np.arange(17), indexing="ij")
    candidate = DSLSearch().search(_behaviour(fn(a, b), 17, 17), timeout=30)
    assert candidate.exact
    assert candidate.program.source == expected


def test_dsl_respects_its_timeout_and_reports_best_partial() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 5, size=(9, 9))
    candidate = DSLSearch(DSLConfig(max_level=9)).search(_behaviour(values, 9, 5), timeout=2)
    assert not candidate.exact
    assert candidate.program is not None
    assert candidate.stats["timed_out"] or candidate.stats["levels_enumerated"] == 9


def test_dsl_with_three_inputs() -> None:
    domain = Domain.parse("a:0..6 b:0..6 c:0..6")
    x = domain.enumerate()
    behaviour = Behaviour(x, x[:, 0] * x[:, 1] + x[:, 2], domain.names, None, domain)
    candidate = DSLSearch().search(behaviour, timeout=30)
    assert candidate.exact and candidate.program.source == "a * b + c"


def test_boolean_beyond_twelve_inputs_uses_the_greedy_cover() -> None:
    from net2code.strategies.boolean import BooleanSearch

    domain = Domain.parse(" ".join(f"x{i}:bit" for i in range(14)))
    x = domain.enumerate()
    y = (x[:, 0] & x[:, 1]) | (x[:, 2] & (1 - x[:, 3])) | (x[:, 4] & x[:, 5] & x[:, 6])
    candidate = BooleanSearch().search(Behaviour(x, y, domain.names, None, domain), timeout=60)
    assert candidate.exact and candidate.stats["form"] == "sum of products"
    assert (candidate.program(x) == y).all()
    assert candidate.program.size == 12  # three product terms, nothing redundant


def test_importing_net2code_loads_no_torch_and_no_training_code() -> None:
    import subprocess
    import sys

    code = (
        "import sys, net2code; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('net2code.zoo')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_old_training_names_say_where_they_went() -> None:
    import net2code

    with pytest.raises(AttributeError, match="net2code.zoo.modular.train.train"):
        net2code.train  # noqa: B018


def test_verified_needs_a_complete_defining_check_and_no_disagreement_in_the_domain() -> None:
    from net2code.checks import Check, headline, is_verified, verified_by

    def check(name: str, scope: str, agree: int, **kw) -> Check:  # type: ignore[no-untyped-def]
        return Check(name, kw.pop("against", "network"), scope, 10, agree, f"{name}", **kw)

    exhaustive = check("every point", "exhaustive", 10, defining=True)
    assert is_verified([exhaustive]) and verified_by([exhaustive])[0].startswith("10/10 points")
    assert not is_verified([check("sample", "sampled", 10, defining=True)])  # sampled: never
    assert not is_verified([check("sample", "sampled", 10)])  # nothing defines it
    inside = check("program.py", "sampled", 9)
    assert not is_verified([exhaustive, inside]) and headline([exhaustive, inside]) is inside
    beyond = check("at 2L", "sampled", 3, within_domain=False)
    truth = check("truth", "sampled", 0, against="truth")
    assert is_verified([exhaustive, beyond, truth])  # reported beside it, not deciding it
    assert "beyond the domain" in beyond.sentence()
    with pytest.raises(ValueError, match="scope"):
        check("x", "hoped", 10)
