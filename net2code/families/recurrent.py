"""The recurrent family: sequences in, one output per step; programs are loops.

* Network: net2code's MIPS RNN, h_t = f([h_{t-1}, enc(x_t)]), y_t = g(h_t), from a run folder
  that also keeps the training *inputs* (never the labels) to discretise the state on.
* Domain: `SequenceDomain`: the alphabet of each step component, the training length L, and
  the longest length at which every sequence can be enumerated (at most 2^20 sequences).
* Observe: the cell and the training inputs; the minimal Mealy machine is built on first use.
* Strategies: stateless, formula, counter, recurrence, table (`strategies/loops.py`).
* Verified by: every sequence over the alphabet of the longest enumerable length (exhaustive;
  every shorter sequence is a prefix of one and the network is causal). Sampled checks at L
  (held-out sequences) and 2L run program.py itself against the network; the ground truth,
  when known (a preset, or `--truth`), is checked at 10L. Real-valued inputs have no alphabet
  to enumerate, so such a program is never called verified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks import MAX_LISTED, Check
from ..domain import IntRange, RealInterval, SequenceDomain
from ..emit import NUMPY_FILE, PROGRAM_FILE, load_function, render
from ..errors import CheckpointError, ConfigError
from ..network import Network
from ..strategies.base import Candidate
from ..strategies.loops import LoopProgram, SequenceBehaviour, input_names
from . import Options, Workload

if TYPE_CHECKING:
    from ..checkpoint import RunFolder
    from ..zoo.sequence.model import SequenceRNN

INPUTS_FILE = "inputs.npz"
OBSERVED_SEQUENCES = 4000  # training inputs the state is discretised on
LONG_SEQUENCES = 500
STRATEGIES = ("stateless", "formula", "counter", "recurrence", "table")


@dataclass(repr=False, kw_only=True)
class RecurrentNetwork(Network):
    """A sequence network with its cell exposed (encode, step, g) and the run's kept inputs
    ('train', 'test': (n, length, d))."""

    inputs: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def model(self) -> SequenceRNN:
        return self.module

    @property
    def length(self) -> int:
        return int(self.inputs["train"].shape[1])

    def signature(self) -> dict[str, Any]:
        config = self.model.config
        return {
            "inputs_per_step": len(config.inputs),
            "hidden": config.hidden,
            "width": config.width,
            "output": config.output.kind,
            "training_length": self.length,
        }


def from_run(module: Any, config: Any, run: RunFolder) -> RecurrentNetwork:
    path = run.path / INPUTS_FILE
    if not path.is_file():
        raise CheckpointError(f"RNN run {str(run.path)!r} has no {INPUTS_FILE}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            inputs = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable .npz of arrays: {exc}") from None
    for name in ("train", "test"):
        array = inputs.get(name)
        if array is None or array.ndim not in (2, 3) or len(array) == 0:
            raise CheckpointError(f"{path} needs a non-empty array {name!r} (n, length[, d])")
        inputs[name] = array[:, :, None] if array.ndim == 2 else array
        if inputs[name].shape[2] != len(config.inputs):
            raise CheckpointError(
                f"{path}: {name!r} has {inputs[name].shape[2]} inputs per step but "
                f"{run.path / 'config.json'} describes {len(config.inputs)}"
            )
    params = sum(p.numel() for p in module.parameters())
    return RecurrentNetwork(
        description=f"RNN (hidden size {config.hidden}, MLP width {config.width}, "
        f"{params:,} parameters)",
        source=str(run.path),
        n_parameters=params,
        module=module,
        architecture="rnn",
        run=run.config,
        inputs=inputs,
    )


def load_truth(spec: str) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """A preset name, or a .py file defining truth(xs) -> list of outputs for one sequence."""
    from ..zoo.sequence.tasks import get_task

    if spec.endswith(".py"):
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(f"--truth file {spec!r} does not exist")
        namespace: dict[str, Any] = {}
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
        if not callable(namespace.get("truth")):
            raise ConfigError(f"--truth file {spec!r} does not define truth(xs)")

        def vectorised(x: np.ndarray) -> np.ndarray:
            return np.array([namespace["truth"](seq) for seq in as_python(x)])

        return str(path), vectorised
    task = get_task(spec)
    return task.name, lambda x: task.truth(x[:, :, 0] if x.ndim == 3 and x.shape[2] == 1 else x)


def as_python(x: np.ndarray) -> list[list[Any]]:
    """(n, length[, d]) -> sequences of ints/floats (d = 1) or of tuples (d > 1)."""
    x = x[:, :, None] if x.ndim == 2 else x
    cast = int if x.dtype.kind in "iu" else float
    if x.shape[2] == 1:
        return [[cast(v) for v in seq[:, 0]] for seq in x]
    return [[tuple(cast(v) for v in step) for step in seq] for seq in x]


def _run_scalar(function: Callable[..., Any], x: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Outputs (n, length) of program(xs) per sequence; rows that raise are NaN, and their
    errors are returned by row."""
    out = np.full(x.shape[:2], np.nan)
    errors: dict[int, str] = {}
    for i, seq in enumerate(as_python(x)):
        try:
            out[i] = np.asarray(function(seq), dtype=np.float64)
        except (ValueError, KeyError, TypeError, ZeroDivisionError, OverflowError, IndexError) as e:
            errors[i] = f"{type(e).__name__}: {e}"[:200]
    return out, errors


def _run_batch(function: Callable[..., Any], x: np.ndarray) -> np.ndarray:
    """Outputs (n, length) of the NumPy variant; steps beyond a table's machine are NaN."""
    from ..strategies.loops import UNKNOWN

    out = np.asarray(function(x))
    values = out.astype(np.float64)
    if out.dtype.kind in "iu":
        values[out == UNKNOWN] = np.nan
    return values


def _sequence_check(
    name: str,
    values: np.ndarray,
    reference: np.ndarray,
    x: np.ndarray,
    tolerance: float,
    *,
    against: str,
    scope: str,
    description: str,
    errors: dict[int, str] | None = None,
    defining: bool = False,
    within_domain: bool = True,
) -> Check:
    """Compare outputs (n, length) step by step; a sequence agrees when every step does.
    `errors` are the sequences on which the program raised, by row."""
    ok = np.abs(values - reference.astype(np.float64)) <= tolerance  # NaN never agrees
    rows = ok.all(1)
    listed: list[dict[str, Any]] = []
    for i in np.flatnonzero(~rows)[:MAX_LISTED].tolist():
        if errors and i in errors:  # the program raised on this sequence
            listed.append({"inputs": as_python(x[i : i + 1])[0], "error": errors[i]})
            continue
        t = int(np.flatnonzero(~ok[i])[0])
        value = values[i, t]
        listed.append(
            {
                "inputs": as_python(x[i : i + 1])[0][: t + 1],
                "step": t,
                "program": None if np.isnan(value) else value.item(),
                against: reference[i, t].item(),
            }
        )
    return Check(
        name=name,
        against=against,
        scope=scope,
        n=len(x),
        n_agree=int(rows.sum()),
        unit="sequences",
        size=int(x.shape[1]),
        description=description,
        defining=defining,
        within_domain=within_domain,
        disagreements=tuple(listed),
        details={"steps_agree": float(ok.mean()), "program_errors": len(errors or {})},
    )


def _sample_like(inputs: np.ndarray, n: int, length: int, seed: int) -> np.ndarray:
    """Sequences whose steps are drawn from the steps seen in `inputs` (n, length, d)."""
    pool = inputs.reshape(-1, inputs.shape[-1])
    rng = np.random.default_rng(seed)
    return pool[rng.integers(len(pool), size=(n, length))]


class Recurrent:
    name = "recurrent"
    options = frozenset({"truth"})
    report_options: frozenset[str] = frozenset()

    def claims(self, network: Network) -> bool:
        return isinstance(network, RecurrentNetwork)

    def domain(self, network: Network, options: Options) -> SequenceDomain:
        assert isinstance(network, RecurrentNetwork)
        config = network.model.config
        names = input_names(len(config.inputs))
        components: list[IntRange | RealInterval] = []
        for name, spec in zip(names, config.inputs, strict=True):
            if spec.integer:
                components.append(IntRange(name, int(spec.low), int(spec.high)))
            else:
                components.append(RealInterval(name, spec.low, spec.high))
        output = config.output
        readout = "argmax" if output.kind == "classes" else "round" if output.integer else "real"
        if options.truth is not None:
            load_truth(options.truth)  # an unknown preset or a missing file fails now
        return SequenceDomain(tuple(components), network.length, readout)

    def strategies(self, domain: SequenceDomain) -> tuple[str, ...]:
        return STRATEGIES

    def observe(
        self, network: Network, domain: SequenceDomain, options: Options, progress: bool
    ) -> SequenceBehaviour:
        assert isinstance(network, RecurrentNetwork)
        output = network.model.config.output
        return SequenceBehaviour(
            model=network.model,
            inputs=network.inputs["train"][:OBSERVED_SEQUENCES],
            integer_inputs=domain.alphabet_size is not None,
            integer_outputs=domain.readout != "real",
            tolerance=output.tolerance,
        )

    def screen(self, observation: SequenceBehaviour, candidate: Candidate) -> float:
        """The share of observed sequences on which the program equals the network."""
        if candidate.program is None:
            return 0.0
        code = candidate.program.numpy()
        assert code is not None
        values = _run_batch(load_function(render(code, [], "")), observation.inputs)
        reference = observation.model.run(observation.inputs)[0].astype(np.float64)
        return float((np.abs(values - reference) <= observation.tolerance).all(1).mean())

    def checks(
        self,
        network: Network,
        domain: SequenceDomain,
        files: dict[str, str],
        options: Options,
        *,
        evidence: dict[str, Any],
        quick: bool = False,
        progress: bool = False,
    ) -> list[Check]:
        assert isinstance(network, RecurrentNetwork)
        model = network.model
        tolerance = model.config.output.tolerance
        checks: list[Check] = []
        if PROGRAM_FILE not in files:
            return checks
        program = load_function(files[PROGRAM_FILE])
        length = domain.exhaustive_length
        if length is not None:
            x = domain.enumerate(length)  # (k^n, n, d)
            reference = model.run(x, states=False)[0]
            errors: dict[int, str] = {}
            if NUMPY_FILE in files:
                used, values = NUMPY_FILE, _run_batch(load_function(files[NUMPY_FILE]), x)
            else:
                used, (values, errors) = PROGRAM_FILE, _run_scalar(program, x)
            alphabet = " ".join(r.spec() for r in domain.inputs)
            checks.append(
                _sequence_check(
                    "network",
                    values,
                    reference,
                    x,
                    tolerance,
                    against="network",
                    scope="exhaustive",
                    description=f"{used} on every sequence of length {length} over "
                    f"{alphabet} (each shorter one is a prefix)",
                    errors=errors,
                    defining=True,
                )
            )
        test = network.inputs["test"]
        values, errors = _run_scalar(program, test)
        checks.append(
            _sequence_check(
                f"network at L={domain.length}",
                values,
                model.run(test, states=False)[0],
                test,
                tolerance,
                against="network",
                scope="sampled",
                description=f"{PROGRAM_FILE} on the run's {len(test):,} held-out sequences of "
                "the training length",
                errors=errors,
                within_domain=domain.exhaustive_length == domain.length,
            )
        )
        if quick:
            return checks
        longer = _sample_like(test, LONG_SEQUENCES, 2 * domain.length, options.seed + 1)
        values, errors = _run_scalar(program, longer)
        checks.append(
            _sequence_check(
                f"network at 2L={2 * domain.length}",
                values,
                model.run(longer, states=False)[0],
                longer,
                tolerance,
                against="network",
                scope="sampled",
                description=f"{PROGRAM_FILE} on {LONG_SEQUENCES} sequences twice the training "
                "length, steps drawn from the held-out ones",
                errors=errors,
                within_domain=False,
            )
        )
        truth = self._truth(network, options)
        if truth is not None:
            name, function, x10 = truth
            values, errors = _run_scalar(program, x10)
            checks.append(
                _sequence_check(
                    f"truth at 10L={10 * domain.length}",
                    values,
                    function(x10),
                    x10,
                    tolerance,
                    against="truth",
                    scope="sampled",
                    description=f"{PROGRAM_FILE} against {name} on {len(x10)} sequences ten "
                    "times the training length",
                    errors=errors,
                    within_domain=False,
                )
            )
        return checks

    def _truth(
        self, network: RecurrentNetwork, options: Options
    ) -> tuple[str, Callable[[np.ndarray], np.ndarray], np.ndarray] | None:
        """The ground truth (--truth, else the preset the run recorded) and 10L inputs."""
        from ..zoo.sequence.tasks import TASKS, get_task

        spec = options.truth or network.run.get("task")
        if not spec:
            return None
        name, function = load_truth(spec)
        length = 10 * network.length
        if name in TASKS:  # the preset's own input distribution
            x10 = get_task(name).sample(LONG_SEQUENCES, length, options.seed + 2)
            x10 = x10[:, :, None] if x10.ndim == 2 else x10
        else:
            x10 = _sample_like(network.inputs["test"], LONG_SEQUENCES, length, options.seed + 2)
        return name, function, x10

    def section(
        self,
        network: Network,
        observation: SequenceBehaviour,
        candidate: Candidate,
        options: Options,
    ) -> dict[str, Any]:
        assert isinstance(network, RecurrentNetwork)
        program = candidate.program
        out: dict[str, Any] = {
            "training_length": network.length,
            "observed_sequences": len(observation.inputs),
            "machine": None if observation._machine is None else observation._machine.stats,
            "program": program.details() if isinstance(program, LoopProgram) else None,
            "general": program.general if isinstance(program, LoopProgram) else False,
            "truth": None,
            "network_vs_truth_at_10L": None,
        }
        truth = self._truth(network, options)
        if truth is not None:  # how the network itself does at 10L, on 100 of the sequences
            name, function, x10 = truth
            reference = function(x10[:100]).astype(np.float64)
            outputs = network.model.run(x10[:100], states=False)[0].astype(np.float64)
            tolerance = network.model.config.output.tolerance
            out["truth"] = name
            out["network_vs_truth_at_10L"] = float(
                (np.abs(outputs - reference) <= tolerance).all(1).mean()
            )
        return out

    def report(self, result: dict[str, Any]) -> list[str]:
        section = result["recurrent"]
        reach = (
            "general (nothing in it is tied to a length)"
            if section["general"]
            else "tied to the machine the data reached"
        )
        lines = [
            "## Loop",
            "",
            f"- trained at length {section['training_length']}; the program is {reach}",
        ]
        if section["machine"]:
            m = section["machine"]
            lines.append(
                f"- machine: {m['states_on_data']} states on the data, {m['states_minimal']} "
                f"after minimisation, {'closed' if m['closed'] else 'open'}"
            )
        if section["truth"]:
            share = section["network_vs_truth_at_10L"]
            lines.append(
                f"- the network itself against {section['truth']} at 10L: "
                f"{100 * share:.1f}% of 100 sequences correct"
            )
        return [*lines, ""]

    def figures(
        self, network: Network, result: dict[str, Any], folder: Path, **options: Any
    ) -> tuple[dict[str, bytes], list[str]]:
        return {}, []

    def workload(self, network: Network, result: dict[str, Any]) -> Workload:
        assert isinstance(network, RecurrentNetwork)
        test = network.inputs["test"][:2000]
        items = as_python(test)
        return Workload(unit="sequences", call="item", items=items)

    def runner(self, network: Network, result: dict[str, Any]) -> Callable[[Any], Any]:
        assert isinstance(network, RecurrentNetwork)
        model = network.model
        return lambda batch: model.run(batch, states=False)[0]
