"""The learned decompiler: programs sampled one per semantics and split by semantics; a zoo of
networks trained to imitate them, checked by extracting them with the ordinary pipeline; the
meta-model (trained tiny here), whose proposals count only when the network confirms them; and
the shipped model on networks trained in the test, on programs it never saw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import net2code
from net2code.program import size
from net2code.strategies.learned import LearnedDecompiler, shipped_models
from net2code.zoo.decompiler.evaluate import network_outputs
from net2code.zoo.decompiler.guide import Guide
from net2code.zoo.decompiler.model import MetaModel, ModelConfig, as_tensors, load_model
from net2code.zoo.decompiler.programs import (
    SPLITS,
    boolean,
    canonical,
    consensus,
    from_prefix,
    modular,
    ordered,
    renamed,
    sample_programs,
    split_of,
    table_bits,
    to_prefix,
)
from net2code.zoo.decompiler.train import Split, TrainConfig, augment, bucketed, train
from net2code.zoo.decompiler.zoo import ZooConfig, as_module, build_zoo, load_network, read_manifest


@pytest.mark.parametrize("space", [boolean(4), modular(23)], ids=["boolean", "modular"])
def test_programs_are_one_per_semantics_and_split_by_it(space) -> None:
    programs = sample_programs(space, 300, sizes=(1, 11), seed=3)
    keys = [p.key for p in programs]
    assert len(programs) >= 100 and len(set(keys)) == len(keys)
    for program in programs:
        expr = from_prefix(program.prefix, space)
        assert to_prefix(expr) == list(program.prefix)
        assert space.key(space.table(expr)) == program.key
        assert program.split == split_of(space.class_key(space.table(expr)))
    assert {p.split for p in programs} == set(SPLITS)
    if space.kind == "boolean":  # a renamed function sits in its original's split
        for program in programs[::10]:
            sigma = (1, 3, 0, 2)
            swapped = from_prefix(renamed(program.prefix, sigma, space), space)
            assert split_of(space.class_key(space.table(swapped))) == program.split
    # Drawn again with another seed: a semantics found twice lands in the same split.
    again = {p.key: p.split for p in sample_programs(space, 300, sizes=(1, 11), seed=4)}
    assert all(again[p.key] == p.split for p in programs if p.key in again)
    assert any(p.key in again for p in programs)


def test_canonical_form_is_one_program_per_function() -> None:
    """Every non-constant 3-bit function gets a program computing it; spellings of one
    function (and a renamed program, written canonically again) get the same program."""
    space = boolean(3)
    written = set()
    for bits in range(1, 255):
        table = np.array([(bits >> i) & 1 for i in range(8)])
        expr = canonical(table, space)
        assert np.array_equal(space.table(expr), table)
        assert canonical(bits, space) == expr  # the integer spelling of the table agrees
        written.add(tuple(to_prefix(expr)))
    assert len(written) == 254
    assert to_prefix(canonical(space.table(from_prefix(["and", "x2", "x1"], space)), space)) == [
        "and", "x1", "x2",
    ]  # fmt: skip
    majority = ["or", "and", "x1", "x2", "and", "x3", "or", "x1", "x2"]
    again = ["or", "and", "x2", "x3", "and", "x1", "or", "x2", "x3"]
    one = canonical(space.table(from_prefix(majority, space)), space)
    assert one == canonical(space.table(from_prefix(again, space)), space)
    assert size(one) == 9 and to_prefix(one)[0] == "xor"  # f0 ^ (x1 & (f0 ^ f1))
    swapped = renamed(to_prefix(one), (2, 1, 0), space, "canonical")
    assert swapped == to_prefix(canonical(space.table(from_prefix(swapped, space)), space))
    with pytest.raises(net2code.Net2CodeError, match="constant function"):
        canonical(np.zeros(8), space)
    with pytest.raises(net2code.Net2CodeError, match="boolean spaces, not modular"):
        sample_programs(modular(7), 5, form="canonical")


def test_expansion_form_puts_each_input_before_what_it_guards() -> None:
    """The expansion form is the canonical program unsorted: one program per function, and in
    every subtree the first input written is the smallest it uses (the input it expands on),
    so a left-to-right decoder never needs a later subtree to choose an earlier token."""
    space = boolean(3)
    written = set()

    def first_is_smallest(expr) -> list[str]:
        if expr[0] == "var":
            return [expr[1]]
        names = [name for child in expr[2:] for name in first_is_smallest(child)]
        assert names[0] == min(names), expr
        return names

    for bits in range(1, 255):
        expr = canonical(bits, space, "expansion")
        assert space.table(expr).tolist() == [(bits >> i) & 1 for i in range(8)]
        assert ordered(expr) == canonical(bits, space)  # the same program, operands sorted
        first_is_smallest(expr)
        written.add(tuple(to_prefix(expr)))
    assert len(written) == 254
    guarded = space.table(from_prefix(["and", "x1", "or", "x2", "x3"], space))
    assert to_prefix(canonical(guarded, space, "expansion")) == ["and", "x1", "or", "x2", "x3"]
    assert to_prefix(canonical(guarded, space)) == ["and", "or", "x2", "x3", "x1"]
    majority = space.table(
        from_prefix(["or", "and", "x1", "x2", "and", "x3", "or", "x1", "x2"], space)
    )
    assert to_prefix(canonical(majority, space, "expansion")) == [
        "xor", "and", "x1", "xor", "x2", "x3", "and", "x2", "x3",
    ]  # fmt: skip
    swapped = renamed(["and", "x1", "or", "x2", "x3"], (2, 1, 0), space, "expansion")
    assert " ".join(swapped) == "xor and x1 and not x2 x3 and x2 x3"  # x3 and (x1 or x2)
    with pytest.raises(net2code.Net2CodeError, match="expansion form is for boolean spaces"):
        sample_programs(modular(7), 5, form="expansion")


def test_consensus_counts_functions_not_spellings() -> None:
    """The vote of the renamings: two spellings of x1 and x2 outvote x1 alone, the winner is
    written in the form asked for (the space's by default), a tie goes to the earlier program,
    and constants do not vote."""
    space = boolean(3)
    ballots = [("x1",), ("and", "x2", "x1"), ("not", "not", "x3"), ("and", "x1", "x2")]
    assert consensus(ballots, space) == ("and", "x1", "x2")
    assert consensus([("x3",), ("x1",)], space) == ("x3",)
    constant = ("xor", "x1", "x1")
    assert consensus([constant, constant, ("x2",)], space) == ("x2",)
    guarded = [("and", "or", "x2", "x3", "x1")]
    assert consensus(guarded, space, "expansion") == ("and", "x1", "or", "x2", "x3")
    assert consensus(guarded, space) == consensus(guarded, space, "expansion")  # the default
    assert consensus(guarded, space, "canonical") == guarded[0]
    assert consensus([constant], space) is None


def test_renamed_targets_are_canonical_and_too_long_ones_left_out() -> None:
    """Training targets under input renamings are the renamed functions' canonical programs;
    where one is longer than the model writes, the row is all padding (left out)."""
    from net2code.zoo.decompiler.model import PAD, vocabulary
    from net2code.zoo.decompiler.programs import input_permutations

    space = boolean(4)
    perms = input_permutations(space)
    programs = [" ".join(p.prefix) for p in sample_programs(space, 60, sizes=(9, 15), seed=5)]
    lengths = {p: [len(renamed(p.split(), s, space, "canonical")) for s in perms] for p in programs}
    program = next(p for p in programs if len(set(lengths[p])) > 1)
    limit = min(lengths[program])
    split = Split(weights={}, targets={}, rows={8: [{"program": program}]})
    augment(split, space, perms, limit, "canonical")
    assert split.variants is not None
    variants = split.variants[8][:, 0]  # (n_perms, limit)
    vocab = vocabulary(space)
    for sigma, row, length in zip(perms, variants.tolist(), lengths[program], strict=True):
        if length > limit:
            assert all(token == PAD for token in row)
        else:
            tokens = [vocab[t] for t in row if t != PAD]
            assert tokens == renamed(program.split(), sigma, space, "canonical")
    assert (variants[:, 0] == PAD).any() and (variants[:, 0] != PAD).any()


def test_length_buckets_cover_the_pool_and_leave_out_what_does_not_fit() -> None:
    """Training batches are cut from a pool sorted by program length: each batch holds one
    width, renamed programs that fit (length > 0), and lengths that do not overlap another
    batch's of the same pool."""
    rng = np.random.default_rng(0)
    lengths = {8: rng.integers(0, 30, (24, 500)), 16: rng.integers(1, 30, (24, 40))}
    share = np.array([500.0, 40.0])
    for _ in range(20):
        batches = bucketed(lengths, [8, 16], share, batch=32, pool=6, rng=rng)
        assert len(batches) == 6 and len({width for width, _, _ in batches}) == 1
        width = batches[0][0]
        spans = []
        for _, at, r in batches:
            size = lengths[width][r, at]
            assert (size > 0).all() and 20 <= len(at) <= 32
            spans.append((int(size.min()), int(size.max())))
        spans.sort()
        assert all(hi <= lo for (_, hi), (lo, _) in zip(spans, spans[1:], strict=False))
        assert sum(len(at) for _, at, _ in batches) > 6 * 32 * 0.85


def test_prefix_errors_name_the_token() -> None:
    with pytest.raises(net2code.Net2CodeError, match="'x9' is not in the boolean"):
        from_prefix(["and", "x1", "x9"], boolean(4))
    with pytest.raises(net2code.Net2CodeError, match="ends too early"):
        from_prefix(["+", "a"], modular(23))
    with pytest.raises(net2code.Net2CodeError, match="left over"):
        from_prefix(["a", "b"], modular(23))


@pytest.mark.parametrize("space", [boolean(3), modular(7)], ids=["boolean", "modular"])
def test_zoo_networks_imitate_their_programs(space, tmp_path: Path) -> None:
    programs = sample_programs(space, 12, sizes=(2, 7), seed=0)
    config = ZooConfig(widths=(16,), seeds=(0, 1), steps=400, shard_size=16)
    folder = build_zoo(space, programs, tmp_path / "zoo", config, jobs=2)
    rows = read_manifest(folder)
    assert len(rows) == 2 * len(programs) and len(list((folder / "shards").iterdir())) == 2
    assert sum(row["matched"] for row in rows) >= 0.9 * len(rows)
    for row in rows[::7]:  # the network itself, extracted by the pipeline, is the oracle
        module = as_module(space, load_network(folder, row))
        n_out = 1 if space.kind == "boolean" else space.p
        network = net2code.from_module(
            module, n_inputs=len(space.names), n_classes=n_out,
            vocab=None if space.kind == "boolean" else space.p,
        )  # fmt: skip
        readout = " -> bit" if space.kind == "boolean" else ""
        outputs = network.read(space.points, "bit" if space.kind == "boolean" else "argmax")
        table = space.table(from_prefix(row["program"].split(), space))
        assert (np.mean(outputs == table) == 1.0) == row["matched"]
        assert np.mean(outputs == table) == pytest.approx(row["accuracy"])
        if row["matched"]:
            extraction = net2code.extract(network, space.domain + readout, analyses=False)
            assert extraction.verified
            found = space.table(extraction.program.expr)
            assert np.array_equal(found % (space.p if space.kind == "modular" else 2), table)


# ---------------------------------------------------------------------- the meta-model

TINY = ModelConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_length=16)


def bit_network(space, weights):  # type: ignore[no-untyped-def]
    return net2code.from_module(as_module(space, weights), n_inputs=space.k, n_classes=1)


@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    space = boolean(3)
    programs = sample_programs(space, 40, sizes=(1, 7), seed=1)
    config = ZooConfig(widths=(8, 12), seeds=(0,), steps=400)
    return build_zoo(space, programs, tmp_path_factory.mktemp("tiny") / "zoo", config, jobs=1)


def test_tiny_meta_model_trains_saves_and_proposes_only_programs(
    tiny_zoo: Path, tmp_path: Path
) -> None:
    """A tiny zoo (tens of networks) and a tiny meta-model: the loss falls, the model
    round-trips through safetensors, and every beam proposal spells exactly one program."""
    space = boolean(3)
    config = TrainConfig(steps=300, batch=16, lr=3e-3, warmup=20, threads=1, validate_every=100)
    model, record = train([tiny_zoo], space, TINY, config)
    assert record["train_networks"] >= 40 and record["steps_run"] == 300
    assert record["final_train_loss"] < 0.7 * record["initial_train_loss"]
    assert record["zoo_recipes"][0]["space"]["k"] == 3 and "versions" in record
    path = model.save(tmp_path / "tiny.safetensors", record)
    again, saved = load_model(path)
    assert saved["steps_run"] == 300 and again.space == space
    row = read_manifest(tiny_zoo)[0]
    weights = as_tensors(load_network(tiny_zoo, row))
    proposals = model.propose(weights, beam=8)
    assert proposals == again.propose(weights, beam=8)
    assert 1 <= len(proposals) <= 8
    assert [score for _, score in proposals] == sorted((s for _, s in proposals), reverse=True)
    for tokens, _ in proposals:
        assert to_prefix(from_prefix(tokens, space)) == list(tokens)
    assert model.greedy(weights)[0] == proposals[0][0]


def test_guide_admits_a_program_exactly_when_it_computes_the_table() -> None:
    """Walking a program's tokens through the guide of a truth table, no leaf of it is ruled
    out exactly when the program computes that table: the guide never loses a right program
    and never lets a wrong one finish."""
    space = boolean(4)
    vocab = MetaModel(space, TINY).vocab
    rng = np.random.default_rng(0)
    programs = [list(p.prefix) for p in sample_programs(space, 150, sizes=(1, 12), seed=3)]

    def passes(guide: Guide, tokens: list[str]) -> bool:
        state = guide.start()
        for token in tokens:
            if vocab.index(token) in guide.banned(state):
                return False
            state = guide.advance(state, token)
        return len(state) == 1  # back at the root: the program is complete

    agreed = refused = 0
    for tokens in programs:
        table = table_bits(space.table(from_prefix(tokens, space)))
        assert passes(Guide(space, vocab, table), tokens)
        other = programs[int(rng.integers(len(programs)))]
        same = table_bits(space.table(from_prefix(other, space))) == table
        assert passes(Guide(space, vocab, table), other) == same
        agreed += same
        refused += not same
        flipped = table ^ (1 << int(rng.integers(16)))  # the table one point off
        assert not passes(Guide(space, vocab, flipped), tokens)
    assert refused >= 100  # the test compared mostly different programs


def test_guided_decoding_finishes_only_programs_that_agree(tiny_zoo: Path) -> None:
    """Guided by a network's truth table, even an untrained meta-model (random weights)
    finishes only programs that compute it, in the beam, greedily, under the renamings and
    in one beam over all the renamed views;
    and it finds one more often than the plain beam of the same model."""
    import torch

    space = boolean(3)
    torch.manual_seed(0)
    model = MetaModel(space, TINY)
    plain = found = 0
    for row in read_manifest(tiny_zoo)[:12]:
        weights = load_network(tiny_zoo, row)
        truth = network_outputs(space, weights)
        bits = table_bits(truth)
        tensors = as_tensors(weights)
        guided = [tokens for tokens, _ in model.propose(tensors, beam=16, truth=bits)]
        pooled = [tokens for tokens, _ in model.propose_pooled(tensors, beam=16, truth=bits)]
        renamed_ = model.propose_renamed(tensors, bits)
        greedy = model.greedy(tensors, [bits])[0]
        for tokens in [*guided, *pooled, *renamed_, *([greedy] if greedy else [])]:
            assert np.array_equal(space.table(from_prefix(list(tokens), space)), truth)
        found += bool(guided)
        plain += any(
            np.array_equal(space.table(from_prefix(list(t), space)), truth)
            for t, _ in model.propose(tensors, beam=16)
        )
    assert found >= 9 and found > plain  # calibrated: 10 of 12 guided, 6 of 12 plain


@pytest.mark.parametrize("encoder_layers", [0, 1])
def test_encoder_ignores_the_order_and_scale_of_hidden_units(
    tiny_zoo: Path, encoder_layers: int
) -> None:
    """Permuting hidden units, or scaling a unit's incoming weights by c > 0 and its outgoing
    by 1/c, leaves the network's function and the encoder's token set unchanged, with
    transformer layers over the tokens or without (the shipped 6-bit model)."""
    import dataclasses

    import torch

    torch.manual_seed(0)
    model = MetaModel(boolean(3), dataclasses.replace(TINY, encoder_layers=encoder_layers))
    weights = load_network(tiny_zoo, read_manifest(tiny_zoo)[0])
    rng = np.random.default_rng(0)
    width = weights["w1"].shape[1]
    p1, p2 = rng.permutation(width), rng.permutation(width)
    c1, c2 = rng.uniform(0.5, 2, width), rng.uniform(0.5, 2, width)
    changed = {
        "w1": weights["w1"][:, p1] * c1,
        "b1": weights["b1"][p1] * c1,
        "w2": (weights["w2"][p1][:, p2] / c1[:, None]) * c2,
        "b2": weights["b2"][p2] * c2,
        "w3": weights["w3"][p2] / c2[:, None],
        "b3": weights["b3"],
    }
    space = boolean(3)
    assert np.array_equal(network_outputs(space, weights), network_outputs(space, changed))
    with torch.no_grad():
        a = model.encode(as_tensors(weights))[0]  # (2*width + 1, d)
        b = model.encode(as_tensors(changed))[0]
    # unit i of the changed network is unit p[i] of the original
    assert torch.allclose(a[:width][p1], b[:width], atol=1e-4)
    assert torch.allclose(a[width : 2 * width][p2], b[width : 2 * width], atol=1e-4)
    assert torch.allclose(a[-1], b[-1], atol=1e-4)


class _Stub:
    """A meta-model that proposes fixed token sequences, wrong ones first."""

    def __init__(self, proposals: list[tuple[str, ...]]) -> None:
        self.space = boolean(3)
        self.proposals = proposals

    def propose(self, weights, beam, truth=None):  # type: ignore[no-untyped-def]
        """Ignores the truth table: a guide that let wrong programs through."""
        return [(tokens, -float(i)) for i, tokens in enumerate(self.proposals[:beam])]

    propose_pooled = propose

    def propose_renamed(self, weights, truth=None):  # type: ignore[no-untyped-def]
        return list(self.proposals[:1])  # already proposed: not checked twice


def test_a_wrong_proposal_is_never_verified(
    tiny_zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The network, not the meta-model (nor its guide), decides: wrong proposals are skipped,
    the first that agrees everywhere is taken with its rank, and with none the result says
    not verified."""
    space = boolean(3)
    rows = [row for row in read_manifest(tiny_zoo) if row["matched"] and row["size"] >= 3]
    row = rows[0]
    network = bit_network(space, load_network(tiny_zoo, row))
    truth = space.table(from_prefix(row["program"].split(), space))
    wrong = [
        tokens
        for tokens in (("x1",), ("x2",), ("not", "x3"), ("and", "x1", "x2"))
        if not np.array_equal(space.table(from_prefix(list(tokens), space)), truth)
    ][:3]
    right = tuple(row["program"].split())
    strategy = LearnedDecompiler(beam=8, repair=False)
    monkeypatch.setattr(strategy, "_model_for", lambda k: (_Stub([*wrong, right]), {}))
    found = net2code.extract(network, space.domain, strategies=[strategy], analyses=False)
    assert found.verified and found.candidate.stats["beam_rank"] == len(wrong) + 1
    assert found.candidate.stats["candidates_checked"] == len(wrong) + 1
    assert found.candidate.stats["found_by"] == "guided beam over the renamings"
    assert np.array_equal(space.table(found.program.expr), truth)

    monkeypatch.setattr(strategy, "_model_for", lambda k: (_Stub(wrong), {}))
    refused = net2code.extract(network, space.domain, strategies=[strategy], analyses=False)
    assert not refused.verified and refused.agreement < 1.0
    assert refused.candidate.stats["candidates_checked"] == len(wrong)
    assert "agrees everywhere" in refused.candidate.stats["reason"]

    # With repair (the default), the wrong proposals seed the enumeration: one of them with
    # one sub-expression replaced is the network's function, and the network confirms it.
    repairing = LearnedDecompiler(beam=8)
    monkeypatch.setattr(repairing, "_model_for", lambda k: (_Stub(wrong), {}))
    fixed = net2code.extract(network, space.domain, strategies=[repairing], analyses=False)
    stats = fixed.candidate.stats
    assert fixed.verified and stats["found_by"] == "repair" and fixed.agreement == 1.0
    assert stats["candidates_checked"] == len(wrong) and 1 <= stats["beam_rank"] <= len(wrong)
    assert stats["repair"]["proposal_rank"] == stats["beam_rank"]
    assert np.array_equal(space.table(fixed.program.expr), truth)


def _all_tables_by_size(k: int, max_size: int) -> dict[int, set[int]]:
    """The oracle for the repair library: every truth table first reached at each size, by
    building every formula (not one per table) with and, or, xor, not on Python ints."""
    n = 1 << k
    full = (1 << n) - 1
    columns = [sum(1 << i for i in range(n) if (i >> (k - 1 - v)) & 1) for v in range(k)]
    every: dict[int, list[int]] = {1: columns}
    for s in range(2, max_size + 1):
        made = [full ^ t for t in every[s - 1]]
        for left in range(1, s - 1):
            for a in every[left]:
                for b in every[s - 1 - left]:
                    made += [a & b, a | b, a ^ b]
        every[s] = made
    first: dict[int, set[int]] = {}
    seen = {0, full}
    for s in range(1, max_size + 1):
        first[s] = set(every[s]) - seen
        seen |= first[s]
    return first


def test_repair_library_keeps_the_smallest_formula_of_each_table() -> None:
    """Every table reachable within max_size nodes is in the library once, at the size of its
    smallest formula, and the formula kept computes it."""
    from net2code.zoo.decompiler.programs import _fast_table
    from net2code.zoo.decompiler.repair import library

    space, max_size = boolean(3), 6
    lib = library(3, max_size)
    oracle = _all_tables_by_size(3, max_size)
    bits = _fast_table(space)
    assert len(set(lib.tables.tolist())) == len(lib.tables) == sum(map(len, oracle.values()))
    for i, table in enumerate(lib.tables.tolist()):
        expr = lib.expr(i)
        assert bits(expr) == table and size(expr) == lib.sizes[i]
        assert table in oracle[int(lib.sizes[i])]


def test_repair_replaces_the_broken_sub_expression() -> None:
    """Programs of 12-20 nodes on 6 bits with one sub-expression of up to 5 nodes replaced
    at random: the repair's table is the original's (the target), it is never larger than
    the original, and with a library too small to hold the fix there is no repair."""
    from net2code.zoo.decompiler.programs import _fast_table, random_expr, replace_at
    from net2code.zoo.decompiler.repair import repair

    space = boolean(6)
    bits = _fast_table(space)
    rng = np.random.default_rng(0)
    repaired = 0
    for _ in range(40):
        original = random_expr(space, int(rng.integers(12, 21)), rng)
        target = bits(original)
        if target in (0, (1 << 64) - 1):
            continue
        broken, path = original, ()
        while broken[0] not in ("var", "const") and size(broken) > 5:  # walk to a small node
            kid = int(rng.integers(len(broken) - 2))
            broken, path = broken[2 + kid], (*path, kid)
        mutant = replace_at(original, path, random_expr(space, size(broken), rng))
        if bits(mutant) == target:
            continue
        fixed = repair([mutant], target, space)
        assert fixed is not None and fixed.rank == 1
        assert bits(fixed.expr) == target and size(fixed.expr) <= size(original)
        repaired += 1
    assert repaired >= 25
    x = from_prefix(["x1"], space)
    assert repair([x], bits(from_prefix(["xor", "x1", "x2"], space)), space, max_size=1) is None


def test_cli_builds_a_zoo_trains_and_extracts_with_learned(
    tmp_path: Path, cli, one_line_error
) -> None:
    """`decompiler zoo` and `decompiler train` make a model file; `extract --strategy learned
    --decompiler FILE --beam 8` checks its proposals and records the beam rank (or the best
    agreement) in result.json. Bad options get one line."""
    import torch

    zoo, model = tmp_path / "zoo", tmp_path / "m.safetensors"
    common = ["--no-progress", "--seed", "2"]
    proc = cli("decompiler", "zoo", "-o", str(zoo), "--space", "boolean:3", "--programs", "12",
               "--sizes", "1,5", "--widths", "8", "--seeds", "0", "--steps", "300",
               "--jobs", "1", *common)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "12 programs, 12 networks" in proc.stdout
    assert json.loads((zoo / "zoo.json").read_text())["form"] == "expansion"
    proc = cli("decompiler", "train", "--zoo", str(zoo), "-o", str(model), "--steps", "40",
               "--batch", "8", "--d-model", "32", "--encoder-layers", "1", "--threads", "1",
               *common)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert model.is_file() and "40 steps" in proc.stdout
    assert load_model(model)[0].config.encoder_layers == 1

    row = next(r for r in read_manifest(zoo) if r["matched"])
    module = as_module(boolean(3), load_network(zoo, row))
    path = tmp_path / "net.pt2"
    batch = torch.export.Dim("batch")
    torch.export.save(
        torch.export.export(module, (torch.zeros(4, 3),), dynamic_shapes=({0: batch},)), path
    )
    out = tmp_path / "out"
    domain = "x1:bit x2:bit x3:bit"
    learned = ["--strategy", "learned", "--decompiler", str(model), "--beam", "8"]
    proc = cli("extract", str(path), "--domain", domain, *learned, "--no-repair", "-o", str(out),
               "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    stats = result["search"]["stats"]
    assert stats["beam"] == 8 and 1 <= stats["candidates_checked"] <= 8
    assert 1 <= stats["beam_rank"] <= 8 and "repair" not in stats
    assert result["verified"] == (stats["best_agreement"] == 1.0)
    if result["verified"]:
        assert stats["candidates_checked"] == stats["beam_rank"]
    # with repair (the default), a 3-bit function of at most 5 nodes is always reached: a
    # whole proposal can be replaced by a formula of up to 7 nodes
    proc = cli("extract", str(path), "--domain", domain, *learned, "-o", str(out / "r"),
               "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "r" / "result.json").read_text())
    stats = result["search"]["stats"]
    assert result["verified"] and stats["best_agreement"] == 1.0
    if stats["found_by"] == "repair":
        assert stats["repair"]["proposal_rank"] == stats["beam_rank"]
        assert stats["candidates_checked"] == stats["proposals"]

    one_line_error(cli("extract", str(path), "--domain", domain, "--beam", "8"), "--beam")
    one_line_error(cli("extract", str(path), "--domain", domain, "--no-repair"),
                   "--no-repair and --no-guide are options of --strategy learned")  # fmt: skip
    one_line_error(cli("extract", str(path), "--domain", domain, "--no-guide"),
                   "--no-guide are options of --strategy learned")  # fmt: skip
    one_line_error(
        cli("extract", str(path), "--domain", domain, "--strategy", "learned", "--beam", "0"),
        "--beam 0 must be at least 1",
    )
    one_line_error(
        cli("decompiler", "zoo", "-o", str(tmp_path / "z"), "--backend", "spark"),
        "--backend 'spark' is unknown",
    )
    one_line_error(cli("decompiler", "zoo", "-o", str(tmp_path / "z"), "--space", "boolean:9"),
                   "k=9")  # fmt: skip
    one_line_error(cli("decompiler", "zoo", "-o", str(tmp_path / "z"), "--space", "modular:7",
                       "--form", "canonical"), "canonical form is for boolean spaces")  # fmt: skip
    one_line_error(cli("decompiler", "train", "--zoo", str(tmp_path), "-o", str(model)),
                   "zoo.json is missing")  # fmt: skip
    one_line_error(cli("decompiler", "train", "--zoo", str(zoo), "-o", str(model), "--device",
                       "tpu"), "device 'tpu' must be cpu or cuda")  # fmt: skip
    one_line_error(cli("decompiler", "train", "--zoo", str(zoo), "-o", str(model),
                       "--decoder-layers", "0"), "decoder_layers=0 must be at least 1")  # fmt: skip
    if not torch.cuda.is_available():
        one_line_error(cli("decompiler", "train", "--zoo", str(zoo), "-o", str(model), "--device",
                           "cuda"), "torch sees no CUDA GPU")  # fmt: skip


@pytest.mark.parametrize("bits", [4, 6])
def test_shipped_model_decompiles_networks_of_programs_it_never_saw(
    bits: int, tmp_path: Path
) -> None:
    """Networks trained here, at a width and seed the zoo never used, on held-out programs (no
    semantics the model trained on): the shipped model's program is accepted only when it
    agrees with the network on all 2^k inputs, and most are."""
    assert sum(p.stat().st_size for p in shipped_models()) <= 10 * 2**20
    (path,) = [p for p in shipped_models() if p.stem == f"boolean{bits}"]
    model, record = load_model(path)
    assert record["device"]["device"] == "cpu" and record["minutes"] <= 30.5
    space = boolean(bits)
    assert model.space == space and record["form"] in ("canonical", "expansion")
    unseen = [
        p for p in sample_programs(space, 600, sizes=(2, 9), seed=11) if p.split == "held-out"
    ]
    chosen = unseen[:: max(1, len(unseen) // 12)][:12]
    zoo = build_zoo(space, chosen, tmp_path / "zoo", ZooConfig(widths=(24,), seeds=(7,)), jobs=1)
    verified = proposed = 0
    rows = read_manifest(zoo)
    assert len(rows) >= 8
    for row in rows:
        network = bit_network(space, load_network(zoo, row))
        found = net2code.extract(network, space.domain, strategies=["learned"], analyses=False)
        truth = network.read(space.points, "bit")
        stats = found.candidate.stats
        assert 1 <= stats["candidates_checked"] <= stats["proposals"]
        assert stats["beam"] == 64
        if found.verified:
            verified += 1
            assert np.array_equal(found.program(space.points), truth)
            if stats["found_by"] != "repair":
                proposed += 1
                assert stats["candidates_checked"] == stats["beam_rank"]
        else:
            assert found.agreement < 1.0 and not np.array_equal(found.program(space.points), truth)
    # calibrated: 12 of 12 networks (4 bits) and 8 of 8 (6 bits) verified as proposed
    assert proposed >= len(rows) - 2 and verified >= len(rows) - 1


def test_shipped_model_reaches_large_unseen_programs(tmp_path: Path) -> None:
    """Held-out 6-bit programs of 18-25 nodes (beyond the DSL enumeration's 15), networks
    trained here: the shipped model's guided beam (else its plain proposals, repaired where
    none agrees everywhere) gives a program the network confirms on all 64 inputs."""
    space = boolean(6)
    unseen = [
        p for p in sample_programs(space, 300, sizes=(18, 25), seed=11) if p.split == "held-out"
    ]
    chosen = unseen[::4][:8]
    zoo = build_zoo(space, chosen, tmp_path / "zoo", ZooConfig(widths=(24,), seeds=(7,)), jobs=1)
    found_by = []
    for row in read_manifest(zoo):
        network = bit_network(space, load_network(zoo, row))
        found = net2code.extract(network, space.domain, strategies=["learned"], analyses=False)
        truth = network.read(space.points, "bit")
        if found.verified:
            assert np.array_equal(found.program(space.points), truth)
            found_by.append(found.candidate.stats["found_by"])
    # calibrated: 8 of 8, all guided: six by the beam over the renamed views, two by the beam
    # on the network as it is (before guidance: one by repair, one by input renaming, six by
    # the plain beam)
    assert len(found_by) >= 7 and sum(f.startswith("guided") for f in found_by) >= 6
