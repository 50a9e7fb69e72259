"""The learned decompiler's data (issue 16, first part): programs sampled one per semantics
and split by semantics, and a zoo of networks trained to imitate them, checked by extracting
them with the ordinary pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import net2code
from net2code.zoo.decompiler.programs import (
    SPLITS,
    boolean,
    from_prefix,
    modular,
    sample_programs,
    split_of,
    to_prefix,
)
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
        assert program.split == split_of(program.key)
    assert {p.split for p in programs} == set(SPLITS)
    # Drawn again with another seed: a semantics found twice lands in the same split.
    again = {p.key: p.split for p in sample_programs(space, 300, sizes=(1, 11), seed=4)}
    assert all(again[p.key] == p.split for p in programs if p.key in again)
    assert any(p.key in again for p in programs)


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
