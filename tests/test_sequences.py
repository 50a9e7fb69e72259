"""Bring-your-own sequence networks: trained here with plain PyTorch (never net2code's trainer),
read from a module, .pt2, ONNX or a Hugging Face folder, and extracted black-box.

The oracle is twofold: the network (every check compares against it), and each language's
definition, from which the tests compute the minimal Mealy machine independently (Myhill-Nerode
over words, with regexes and counts, not the DFAs of `zoo.sequence.languages`).
"""

from __future__ import annotations

import itertools
import json
import re
import warnings
from collections.abc import Callable
from itertools import groupby
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import net2code
from net2code.emit import load_function
from net2code.errors import ConfigError, DomainError
from net2code.sequence import SequenceNetwork
from net2code.strategies.machine import Machine
from net2code.zoo.sequence.byo import train
from net2code.zoo.sequence.languages import get_language


# ---------------------------------------------------------------------------- languages
def _tomita3(w: str) -> bool:
    runs = [(ch, len(list(group))) for ch, group in groupby(w)]
    return not any(
        a == ("1", a[1]) and a[1] % 2 and b[0] == "0" and b[1] % 2
        for a, b in itertools.pairwise(runs)
    )


MEMBERS: dict[str, Callable[[str], bool]] = {
    "tomita1": lambda w: re.fullmatch("1*", w) is not None,
    "tomita2": lambda w: re.fullmatch("(10)*", w) is not None,
    "tomita3": _tomita3,
    "tomita4": lambda w: "000" not in w,
    "tomita5": lambda w: w.count("0") % 2 == 0 and w.count("1") % 2 == 0,
    "tomita6": lambda w: (w.count("0") - w.count("1")) % 3 == 0,
    "tomita7": lambda w: re.fullmatch("0*1*0*1*", w) is not None,
}


def minimal_mealy(member: Callable[[str], bool], depth: int = 6) -> tuple[list, list]:
    """The minimal Mealy machine of "is each prefix in the language": states are classes of
    words by their outputs on every suffix up to `depth` (Myhill-Nerode), found breadth-first."""
    suffixes = ["".join(s) for n in range(1, depth + 1) for s in itertools.product("01", repeat=n)]

    def signature(u: str) -> tuple[bool, ...]:
        return tuple(member(u + e) for e in suffixes)

    reps, index = [""], {signature(""): 0}
    nxt: list[list[int]] = []
    out: list[list[int]] = []
    for u in reps:
        row_next, row_out = [], []
        for a in "01":
            key = signature(u + a)
            if key not in index:
                index[key] = len(reps)
                reps.append(u + a)
            row_next.append(index[key])
            row_out.append(int(member(u + a)))
        nxt.append(row_next)
        out.append(row_out)
    return nxt, out


def canonical(nxt: list | np.ndarray, out: list | np.ndarray, initial: int = 0) -> tuple:
    """Breadth-first renumbering from the start: equal for isomorphic reachable machines."""
    nxt, out = np.asarray(nxt), np.asarray(out)
    order, number = [initial], {initial: 0}
    for s in order:
        for t in nxt[s].tolist():
            if t not in number:
                number[t] = len(order)
                order.append(t)
    return tuple(
        (tuple(number[int(t)] for t in nxt[s]), tuple(int(o) for o in out[s])) for s in order
    )


def test_the_independent_minimal_machines_have_the_known_sizes() -> None:
    """Mealy states (the start's own acceptance does not count): Tomita 1..7."""
    sizes = {name: len(minimal_mealy(member)[0]) for name, member in MEMBERS.items()}
    assert sizes == {
        "tomita1": 2,
        "tomita2": 3,
        "tomita3": 5,
        "tomita4": 4,
        "tomita5": 4,
        "tomita6": 3,
        "tomita7": 5,
    }
    for name, member in MEMBERS.items():  # languages.py's DFAs agree with the definitions
        words = np.array(list(itertools.product((0, 1), repeat=9)))
        truth = get_language(name).truth(words)
        expected = [[member("".join(map(str, w[: t + 1]))) for t in range(9)] for w in words]
        assert np.array_equal(truth, np.array(expected, dtype=np.int64)), name


# ---------------------------------------------------------------------------- loading
def export(model: nn.Module, fmt: str, folder: Path, length: int = 16) -> Path | nn.Module:
    """The model as a user would hand it over: the module, a .pt2 or an ONNX file."""
    example = torch.zeros(4, length, dtype=torch.int64)
    model.eval()
    if fmt == "module":
        return model
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"model.{fmt}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "onnx":  # the recurrent op with a dynamic length axis
            torch.onnx.export(
                model, (example,), str(path), dynamo=False, input_names=["x"],
                dynamic_axes={"x": {0: "batch", 1: "length"}},
            )  # fmt: skip
        else:  # torch.export specialises an nn.GRU's length: traced at `length`
            dims = torch.export.Dim.AUTO
            program = torch.export.export(model, (example,), dynamic_shapes=({0: dims, 1: dims},))
            torch.export.save(program, str(path))
    return path


def network_of(handed: Path | nn.Module) -> SequenceNetwork:
    if isinstance(handed, nn.Module):
        network = net2code.from_module(handed, max_length=getattr(handed, "max_length", None))
    else:
        network = net2code.load(handed)
    assert isinstance(network, SequenceNetwork)
    return network


# Every architecture on two Tomita grammars, each through one of the three ways in.
CASES = [
    ("rnn", "tomita4", "onnx"),
    ("rnn", "tomita6", "module"),
    ("gru", "tomita3", "pt2"),
    ("gru", "tomita5", "onnx"),
    ("lstm", "tomita2", "onnx"),
    ("lstm", "tomita7", "module"),
    ("transformer", "tomita1", "pt2"),
    ("transformer", "tomita4", "module"),
]
TRAINING = {"transformer": {"layers": 2, "steps": 1000}}


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "language", "fmt"), CASES)
def test_a_users_network_becomes_the_minimal_machine_of_its_language(
    kind: str, language: str, fmt: str, tmp_path: Path
) -> None:
    options = {"steps": 800, **TRAINING.get(kind, {})}
    trained = train(get_language(language), kind, length=16, **options)
    assert trained.accuracy == 1.0, f"{kind} did not learn {language}: {trained.accuracy}"
    network = network_of(export(trained.model, fmt, tmp_path))
    extraction = net2code.extract(network, "seq(x:0..1) len:0..10 -> argmax", truth=language)
    assert extraction.verified, extraction.summary_line()
    assert extraction.strategy == "lstar"
    check = extraction.check("network")
    assert (check.scope, check.n, check.n_agree) == ("exhaustive", 2047, 2047)
    machine = extraction.program.machine
    assert isinstance(machine, Machine) and machine.closed
    expected = canonical(*minimal_mealy(MEMBERS[language]))
    assert canonical(machine.next, machine.out, machine.initial) == expected
    # The emitted program is the language at lengths the network never saw (when it could
    # run there, the long checks compared it against the network and the truth too).
    program = load_function(extraction.python_source)
    rng = np.random.default_rng(1)
    for word in rng.integers(0, 2, size=(50, 60)).tolist():
        text = "".join(map(str, word))
        assert program(word) == [int(MEMBERS[language](text[: t + 1])) for t in range(60)]


@pytest.mark.slow
def test_a_tiny_gpt2_folder_with_a_bos_token(tmp_path: Path, cli) -> None:
    """A GPT-2 from transformers' GPT2Config, trained here on Tomita 1 after a BOS token 2 with
    three multi-label outputs (in the language, not in it, always off), saved with
    save_pretrained, extracted from its folder with the documented command line."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=3, n_positions=32, n_embd=32, n_layer=1, n_head=2, n_inner=64,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip
    model = transformers.GPT2LMHeadModel(config)
    optimiser = torch.optim.Adam(model.parameters(), 3e-3)
    language = get_language("tomita1")
    rng = np.random.default_rng(0)
    for _ in range(400):
        x = rng.integers(0, 2, size=(128, 16))
        x[:64] = rng.random((64, 16)) < 0.93
        y = language.truth(x)
        feed = torch.as_tensor(np.concatenate([np.full((128, 1), 2), x], 1))
        logits = model(input_ids=feed).logits[:, 1:]
        target = torch.as_tensor(np.stack([y, 1 - y, 0 * y], -1), dtype=torch.float32)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    folder = tmp_path / "hf_model_dir"
    model.save_pretrained(folder)
    out = tmp_path / "out"
    proc = cli(
        "extract", str(folder), "--domain", "seq(x:{0,1}) prefix:2 len:0..12 -> bits",
        "-o", str(out), "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["verified"] and result["strategy"] == "lstar"
    assert result["domain"]["spec"] == "seq(x:{0,1}) prefix:2 len:0..12 -> bits"
    assert result["network"]["architecture"] == "hf:gpt2"
    assert result["recurrent"]["lstar"]["states"] == 2  # all ones so far / not
    program = load_function((out / "program.py").read_text())
    assert program([1, 1, 0, 1]) == [(1, 0, 0), (1, 0, 0), (0, 1, 0), (0, 1, 0)]
    assert program([]) == []


@pytest.mark.slow
def test_dyck1_becomes_a_counter_loop_correct_at_length_1000() -> None:
    trained = train(get_language("dyck1"), "lstm", steps=1500, length=40)
    assert trained.accuracy >= 0.99, trained.accuracy
    network = net2code.from_module(trained.model)
    extraction = net2code.extract(network, "seq(x:0..1) len:0..12 -> bits", truth="dyck1")
    assert extraction.verified and extraction.strategy == "counter-machine"
    source = extraction.python_source
    assert "c += " in source and "z = (c > 0) - (c < 0)" in source
    program = load_function(source)

    def dyck(word: list[int]) -> list[tuple[int, int]]:  # bit 0 closable, bit 1 balanced
        depth, closable, out = 0, True, []
        for symbol in word:
            depth += 1 if symbol == 0 else -1
            closable = closable and depth >= 0
            out.append((int(closable), int(closable and depth == 0)))
        return out

    rng = np.random.default_rng(3)
    words = [rng.permutation([0] * 500 + [1] * 500).tolist() for _ in range(30)]  # balanced
    words += [(rng.random(1000) < 0.5).astype(int).tolist() for _ in range(30)]
    words += [[0] * 500 + [1] * 500]
    for word in words:
        assert program(word) == dyck(word)
    truth = [c for c in extraction.checks if c.against == "truth"]
    assert truth and all(c.passed for c in truth)


class ParityWrongLate(nn.Module):
    """Running parity of the 1s, except at step 333, where a 1 makes the output wrong."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        parity = torch.cumsum(tokens, 1) % 2  # (batch, L)
        late = torch.zeros_like(parity)
        if tokens.shape[1] > 333:
            late[:, 333] = tokens[:, 333]
        odd = (parity + late) % 2
        return torch.stack([1 - odd, odd], -1).float()  # (batch, L, 2): argmax is the output


def test_a_network_wrong_on_a_few_long_inputs_is_reported_not_fixed() -> None:
    network = net2code.from_module(ParityWrongLate(), vocab=2)
    extraction = net2code.extract(network, "seq(x:0..1) len:0..10 -> argmax", truth="parity")
    assert extraction.verified  # every sequence up to 10 agrees
    assert extraction.program.machine.n_states == 2
    program = load_function(extraction.python_source)
    assert program([1, 0, 1, 1]) == [1, 1, 0, 1]  # parity, not "fixed" to the network
    assert extraction.check("network at 10N=100").passed
    late = extraction.check("network at 100N=1000")
    assert not late.passed and 0 < late.n - late.n_agree < late.n
    assert late.disagreements and all(d["step"] == 333 for d in late.disagreements)
    assert all(d["inputs"][333] == 1 for d in late.disagreements)
    assert extraction.check("truth at 100N=1000").passed  # the program is right, the network not
    section = extraction.to_dict()["recurrent"]
    assert section["network_vs_truth"]["at 100N=1000"] != "100.0% of 50 sequences"


# ---------------------------------------------------------------------------- bad input
class Bidirectional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(2, 4)
        self.gru = nn.GRU(4, 8, batch_first=True, bidirectional=True)
        self.out = nn.Linear(16, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.gru(self.embed(tokens))[0])


class Pooled(nn.Module):
    """One output per sequence, not per step."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(2, 4)
        self.out = nn.Linear(4, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(tokens).mean(1))


def test_bad_sequence_input_is_refused_in_one_line(tmp_path: Path, cli, one_line_error) -> None:
    torch.manual_seed(0)
    out = tmp_path / "out"
    path = export(Bidirectional(), "onnx", tmp_path)
    one_line_error(
        cli("extract", str(path), "--domain", "seq(x:0..1) len:0..8", "-o", str(out)),
        "not causal",
        "moved the output at step",
    )
    gru = export(build_gru(), "onnx", tmp_path / "gru")
    one_line_error(
        cli("extract", str(gru), "--domain", "seq(x:0..1) len:0..8 -> round", "-o", str(out)),
        "readout round needs one output per step; the network gives 2",
    )
    one_line_error(
        cli("extract", str(gru), "--domain", "seq(x:0..1) len:0..8 -> bits(0,5)", "-o", str(out)),
        "names unit 5; the network has 2 output units",
    )
    one_line_error(
        cli("extract", str(gru), "--domain", "seq(x:0..5) len:0..6", "-o", str(out)),
        "alphabet 'x:0..5' leaves the network's embedding of 2 tokens (0..1)",
    )
    one_line_error(
        cli("extract", str(gru), "--domain", "seq(x:0..1) len:0..30", "-o", str(out)),
        "2^30 = 1,073,741,824 sequences, over the enumeration limit of 1,048,576",
        "the longest length that fits is 20",
    )
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": 3}))
    (folder / "pytorch_model.bin").write_bytes(b"not read")
    one_line_error(
        cli("extract", str(folder), "--domain", "seq(x:0..1) len:0..8", "-o", str(out)),
        "has no weights: expected model.safetensors",
        "never unpickles",
    )
    assert not out.exists()
    with pytest.raises(ConfigError, match=r"output has shape \(2, 3\) for input \(2, 5\)"):
        net2code.from_module(Pooled())
    network = net2code.from_module(Bidirectional())
    with pytest.raises(ConfigError, match="not causal"):
        net2code.extract(network, "seq(x:0..1) len:0..6")
    with pytest.raises(DomainError, match="needs the lengths to check"):
        net2code.extract(network, "seq(x:0..1) -> argmax")


def build_gru() -> nn.Module:
    from net2code.zoo.sequence.byo import build

    torch.manual_seed(0)
    return build("gru")


def test_sequence_domains_parse_and_say_what_they_enumerate() -> None:
    domain = net2code.SequenceDomain.parse("seq(x:0..1) len:0..14 -> argmax")
    assert (domain.length, domain.min_length, domain.exhaustive_length) == (14, 0, 14)
    assert domain.size == 2**15 - 1  # every sequence of length 0 to 14
    assert domain.spec() == "seq(x:bit) len:0..14 -> argmax"
    bos = net2code.SequenceDomain.parse("seq(x:{0,1}) prefix:2 len:0..12 -> bits")
    assert (bos.prefix, bos.readout, bos.units) == ((2,), "bits", None)
    assert bos.symbols().ravel().tolist() == [0, 1]
    assert net2code.SequenceDomain.parse("seq(x:{7,3}) len:2..3 -> bits(0,2)").spec() == (
        "seq(x:{3,7}) len:2..3 -> bits(0,2)"
    )
    pairs = net2code.SequenceDomain.parse("seq(a:bit b:0..2) len:1..4 -> round")
    assert pairs.alphabet_size == 6 and pairs.enumerate(2).shape == (36, 2, 2)
    for bad, needle in [
        ("seq(x:0..1) len:5..3", "is empty"),
        ("seq(x:0..1) len:0..4 -> sum", "readout 'sum' is unknown"),
        ("seq(x:0..1) len:0..4 foo:1", "expected prefix:T or len:LO..HI"),
        ("seq(x:0..1 x:0..1) len:0..4", "distinct"),
        ("seq(x:0..1) len:0..4 -> round(1)", "unknown"),
    ]:
        with pytest.raises(DomainError, match=re.escape(needle)):
            net2code.SequenceDomain.parse(bad)


def test_net2codes_own_rnn_is_a_member_of_the_same_family(parity_run: Path) -> None:
    """The white-box and black-box paths are two strategies of one family."""
    white = net2code.extract(net2code.load(parity_run), strategies=["table"])
    black = net2code.extract(net2code.load(parity_run), strategies=["lstar"])
    assert white.family.name == black.family.name == "recurrent"
    assert black.verified and black.program.machine.n_states == 2
    x = np.random.default_rng(0).integers(0, 2, size=(20, 30)).tolist()
    a, b = (load_function(e.python_source) for e in (white, black))
    assert [a(w) for w in x] == [b(w) for w in x]


def test_bench_times_network_and_program_at_several_lengths(
    parity_onnx: Path, tmp_path: Path, cli
) -> None:
    out = tmp_path / "out"
    proc = cli("extract", str(parity_onnx / "model.onnx"), "-o", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    proc = cli("bench", str(out), "--length", "10", "--length", "1000", "--max-seconds", "0.2")
    assert proc.returncode == 0, proc.stderr
    for length in (10, 1000):
        report = json.loads((out / f"bench-{length}.json").read_text())
        assert report["length"] == length and report["unit"] == "sequences"
        assert {(r["variant"], r["batch"]) for r in report["rows"]} == {
            ("network", "1"), ("program", "1"), ("network", "full"), ("program", "full")
        }  # fmt: skip
        assert all(r["timed"] > 0 for r in report["rows"])
        assert f"each {length:,} steps long" in (out / f"bench-{length}.md").read_text()


@pytest.mark.slow
def test_the_documented_pt2_command_line(tmp_path: Path, cli) -> None:
    """`net2code extract gru.pt2 --domain "seq(x:0..1) len:0..14 -> argmax" -o out/`, as the
    README and scripts write it, on a GRU traced at length 16."""
    trained = train(get_language("tomita4"), "gru", steps=800, length=16)
    assert trained.accuracy == 1.0
    path = export(trained.model, "pt2", tmp_path)
    gru = path.rename(tmp_path / "gru.pt2")
    proc = cli(
        "extract", "gru.pt2", "--domain", "seq(x:0..1) len:0..14 -> argmax", "-o", "out/",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["verified"] and result["network"]["signature"]["fixed_length"] == 16
    assert result["checks"][0]["n"] == 2**15 - 1  # every sequence of length 0 to 14
    assert "at most 16 steps" in json.dumps(result["recurrent"]["long_checks_skipped"])
    assert gru.is_file()
