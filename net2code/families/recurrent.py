"""The recurrent family: sequences in, one output per step; programs are loops.

Two kinds of member, one family:

* `RecurrentNetwork`: net2code's MIPS RNN from a run folder, h_t = f([h_{t-1}, enc(x_t)]),
  y_t = g(h_t), which also keeps the training *inputs* (never the labels). Its domain comes from
  the run: the alphabet, the training length L, and the longest length at which every sequence
  can be enumerated (at most 2^20). White-box strategies read its cell.
* `SequenceNetwork` (`net2code.sequence`): anyone's causal sequence network (a module, `.pt2`,
  ONNX, a Hugging Face folder). Its domain is a `seq(...) len:..N` spec; causality is checked
  before anything else. Only the black-box strategies (L*, counter machines) apply.

Verified by: every sequence over the alphabet up to N (a user's network: each length from 1 to
N; a run: the longest enumerable length, each shorter sequence being a prefix). Sampled checks
beyond the domain: at L and 2L for runs (held-out inputs), at 10N and 100N for a user's network;
the ground truth, when known (a preset, or `--truth`), at 10L or at 10N and 100N. Real-valued
inputs have no alphabet to enumerate, so such a program is never called verified.
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
from ..errors import CheckpointError, ConfigError, DomainError, Net2CodeError
from ..network import Network
from ..sequence import SequenceNetwork, n_bits, sample_inputs
from ..strategies.base import Candidate
from ..strategies.loops import LoopProgram, SequenceBehaviour, input_names
from . import Options, Workload

if TYPE_CHECKING:
    from ..checkpoint import RunFolder
    from ..zoo.sequence.model import SequenceRNN

INPUTS_FILE = "inputs.npz"
OBSERVED_SEQUENCES = 4000  # training inputs the state is discretised on
LONG_SEQUENCES = 500
STRATEGIES = ("stateless", "formula", "counter", "recurrence", "table")  # white-box
BLACK_BOX = ("lstar", "counter-machine")
REAL_TOLERANCE = 1e-4
SCREEN_SEQUENCES = 20_000
DEFAULT_ALPHABET = 64  # the most tokens a default domain takes the whole embedding for
DEFAULT_ENUMERATED = 1 << 14  # sequences of the longest length a default domain enumerates
LONG_CHECKED = (200, 50)  # sequences at 10N and at 100N


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
    """A preset name (a MIPS task, or a language: tomita1..7, dyck1, parity, majority), or a
    .py file defining truth(xs) -> the list of outputs for one sequence (ints, or tuples of
    bits)."""
    from ..zoo.sequence.languages import LANGUAGES
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
            return np.array([_pack(namespace["truth"](seq)) for seq in as_python(x)])

        return str(path), vectorised
    if spec.lower() in LANGUAGES:
        return spec.lower(), LANGUAGES[spec.lower()].truth
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
            out[i] = _pack(function(seq))
        except (ValueError, KeyError, TypeError, ZeroDivisionError, OverflowError, IndexError) as e:
            errors[i] = f"{type(e).__name__}: {e}"[:200]
    return out, errors


def _pack(outputs: Any) -> np.ndarray:
    """One sequence's outputs as (length,) floats; tuples of bits are packed (unit i: bit i)."""
    values = np.asarray(outputs, dtype=np.float64)
    if values.ndim == 2:
        values = (values * 2.0 ** np.arange(values.shape[1])).sum(1)
    return values


def _run_batch(function: Callable[..., Any], x: np.ndarray) -> np.ndarray:
    """Outputs (n, length) of the NumPy variant; steps beyond a table's machine are NaN."""
    from ..strategies.loops import UNKNOWN

    out = np.asarray(function(x))
    if out.ndim == 3:  # bits (n, length, units): packed
        return (out * 2 ** np.arange(out.shape[2])).sum(2).astype(np.float64)
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
    bits: int | None = None,
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
                "program": None if np.isnan(value) else _shown(value, bits),
                against: _shown(reference[i, t], bits),
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


def _shown(value: Any, bits: int | None) -> Any:
    """A step's output for result.json: the number, or the tuple of its bits."""
    if bits is None:
        return value.item()
    return [int(value) >> i & 1 for i in range(bits)]


def _sample_like(inputs: np.ndarray, n: int, length: int, seed: int) -> np.ndarray:
    """Sequences whose steps are drawn from the steps seen in `inputs` (n, length, d)."""
    pool = inputs.reshape(-1, inputs.shape[-1])
    rng = np.random.default_rng(seed)
    return pool[rng.integers(len(pool), size=(n, length))]


def _given_domain(spec: Any) -> SequenceDomain | None:
    """--domain as a SequenceDomain (None when not given); a point domain is refused."""
    if spec is None:
        return None
    if isinstance(spec, SequenceDomain):
        return spec
    if isinstance(spec, str) and spec.strip().startswith("seq("):
        return SequenceDomain.parse(spec)
    text = spec if isinstance(spec, str) else spec.spec()
    raise DomainError(
        f"domain {text!r} is for points; a sequence network takes a sequence domain, e.g. "
        '"seq(x:0..1) len:0..14 -> argmax"'
    )


def default_domain(network: SequenceNetwork) -> SequenceDomain:
    """Every token of the embedding, lengths up to the longest with at most 2^14 sequences;
    argmax for several outputs per step, round for one."""
    if not network.tokens or network.vocab is None:
        raise DomainError(
            f"the network ({network.description}) has no alphabet net2code can read: pass a "
            'sequence domain, e.g. --domain "seq(x:0..1) len:0..14 -> argmax"'
        )
    k = network.vocab
    if k > DEFAULT_ALPHABET:
        raise DomainError(
            f"the network embeds {k:,} tokens, more than the {DEFAULT_ALPHABET} a default domain "
            'takes: pass the tokens you care about, e.g. --domain "seq(x:{0,1}) len:0..12"'
        )
    length = 1
    while k ** (length + 1) <= DEFAULT_ENUMERATED and length < 14:
        length += 1
    if network.longest is not None:
        length = max(1, min(length, network.longest))
    readout = "argmax" if network.n_outputs > 1 else "round"
    return SequenceDomain((IntRange("x", 0, k - 1),), length, readout, min_length=0, given=True)


def _screen_inputs(domain: SequenceDomain, seed: int) -> np.ndarray:
    """What candidates are screened on: every sequence of the longest checked length, or a
    sample of them.  # (n, N, d)"""
    n = domain.exhaustive_length
    if n is None:
        return sample_inputs(domain, 2000, domain.length, seed)
    k = domain.alphabet_size or 1
    if k**n <= SCREEN_SEQUENCES:
        return domain.enumerate(n)
    return domain.sample(SCREEN_SEQUENCES, n, seed)


def _program_outputs(program: Any, x: np.ndarray) -> np.ndarray:
    """A candidate's outputs (n, length): its NumPy variant when it has one, else program()."""
    code = program.numpy()
    if code is not None:
        return _run_batch(load_function(render(code, [], "")), x)
    return _run_scalar(load_function(render(program.python(), [], "")), x)[0]


def _long_runs(
    network: SequenceNetwork, domain: SequenceDomain, seed: int
) -> list[tuple[int, np.ndarray, np.ndarray | str]]:
    """Random sequences at 10N and 100N with the network's outputs on them, or why the network
    could not run there (a length past its positions)."""
    n = domain.exhaustive_length or domain.length
    out: list[tuple[int, np.ndarray, np.ndarray | str]] = []
    for factor, count in zip((10, 100), LONG_CHECKED, strict=True):
        length = factor * n
        x = sample_inputs(domain, count, length, seed + factor)
        if not network.runs_at(domain, length):
            out.append((factor, x, f"the network takes at most {network.longest} steps"))
            continue
        try:
            out.append((factor, x, network.read(x, domain)))
        except Net2CodeError as exc:
            out.append((factor, x, str(exc)))
    return out


def _sequence_checks(
    network: SequenceNetwork,
    domain: SequenceDomain,
    files: dict[str, str],
    options: Options,
    *,
    quick: bool,
) -> list[Check]:
    """A user's sequence network: every sequence up to N (defining), then random sequences at
    10N and 100N against the network, and against the truth when one is given."""
    program = load_function(files[PROGRAM_FILE])
    batch = load_function(files[NUMPY_FILE]) if NUMPY_FILE in files else None
    tolerance = 0.0 if domain.readout != "real" else REAL_TOLERANCE
    bits = n_bits(domain, network.n_outputs)
    checks: list[Check] = []
    n = domain.exhaustive_length
    if n is not None:
        lo = max(1, domain.min_length)
        parts = []
        for length in range(lo, n + 1):
            x = domain.enumerate(length)
            reference = network.read(x, domain)
            if batch is not None:
                values, errors = _run_batch(batch, x), dict[int, str]()
            else:
                values, errors = _run_scalar(program, x)
            parts.append(
                _sequence_check(
                    "network",
                    values,
                    reference,
                    x,
                    tolerance,
                    against="network",
                    scope="exhaustive",
                    description="",
                    errors=errors,
                    bits=bits,
                )
            )
        used = NUMPY_FILE if batch is not None else PROGRAM_FILE
        alphabet = " ".join(r.spec() for r in domain.inputs)
        prefix = f" after prefix {list(domain.prefix)}" if domain.prefix else ""
        total, agree = sum(c.n for c in parts), sum(c.n_agree for c in parts)
        empty = ""
        listed = tuple(d for c in parts for d in c.disagreements)
        if domain.min_length == 0:  # the empty sequence: no step, so no output at all
            empty = " and the empty sequence"
            total += 1
            try:
                ok = len(program([])) == 0
            except Exception as exc:  # the emitted program itself fails on it
                ok = False
                listed = ({"inputs": [], "error": f"{type(exc).__name__}: {exc}"[:200]}, *listed)
            agree += ok
        checks.append(
            Check(
                name="network",
                against="network",
                scope="exhaustive",
                n=total,
                n_agree=agree,
                unit="sequences",
                size=n,
                description=f"{used} on every sequence of length {lo} to {n} over {alphabet}"
                f"{prefix}{empty}: {total:,} sequences, every step compared",
                defining=True,
                disagreements=listed[:MAX_LISTED],
                details={
                    "steps_agree": float(
                        sum(c.details["steps_agree"] * c.n * (c.size or 1) for c in parts)
                        / max(1, sum(c.n * (c.size or 1) for c in parts))
                    ),
                    "lengths": [lo, n],
                },
            )
        )
    if quick:
        return checks
    truth = None
    if options.truth is not None:
        truth = load_truth(options.truth)
    for factor, x, outputs in _long_runs(network, domain, options.seed + 7):
        if isinstance(outputs, str):
            continue  # the section says why
        reference = outputs
        values, errors = _run_scalar(program, x)
        length = x.shape[1]
        checks.append(
            _sequence_check(
                f"network at {factor}N={length}",
                values,
                reference,
                x,
                tolerance,
                against="network",
                scope="sampled",
                description=f"{PROGRAM_FILE} on {len(x)} random sequences of length {length} "
                f"({factor} times the longest checked exhaustively)",
                errors=errors,
                within_domain=False,
                bits=bits,
            )
        )
        if truth is not None:
            name, function = truth
            checks.append(
                _sequence_check(
                    f"truth at {factor}N={length}",
                    values,
                    function(x),
                    x,
                    tolerance,
                    against="truth",
                    scope="sampled",
                    description=f"{PROGRAM_FILE} against {name} on the same {len(x)} sequences",
                    errors=errors,
                    within_domain=False,
                    bits=bits,
                )
            )
    return checks


def _generic_section(
    network: SequenceNetwork,
    observation: SequenceBehaviour,
    candidate: Candidate,
    options: Options,
) -> dict[str, Any]:
    """The recurrent section for a user's sequence network (no training length, no cell)."""
    from ..strategies.automata import CounterProgram

    program = candidate.program
    domain_spec = options.domain
    domain = _given_domain(domain_spec) or default_domain(network)
    out: dict[str, Any] = {
        "training_length": None,
        "observed_sequences": len(observation.inputs),
        "machine": None,
        "program": program.details() if isinstance(program, LoopProgram | CounterProgram) else None,
        "general": bool(getattr(program, "general", False)),
        "truth": None,
        "causality": network.check_causal(domain, options.seed),
        "lstar": None,
        "network_vs_truth": None,
        "long_checks_skipped": {},
    }
    learned = observation._learned
    if learned is not None:
        out["lstar"] = {"states": learned.machine.n_states, **learned.stats}
    truth = load_truth(options.truth) if options.truth is not None else None
    shares = {}
    for factor, x, outputs in _long_runs(network, domain, options.seed + 7):
        label = f"at {factor}N={x.shape[1]}"
        if isinstance(outputs, str):
            out["long_checks_skipped"][label] = outputs
        elif truth is not None:
            correct = (outputs == truth[1](x)).all(1).mean()
            shares[label] = f"{100 * correct:.1f}% of {len(x)} sequences"
    if truth is not None:
        out["truth"] = truth[0]
        out["network_vs_truth"] = shares
    return out


class Recurrent:
    name = "recurrent"
    options = frozenset({"truth", "domain"})
    report_options: frozenset[str] = frozenset()

    def claims(self, network: Network) -> bool:
        return isinstance(network, RecurrentNetwork | SequenceNetwork)

    def domain(self, network: Network, options: Options) -> SequenceDomain:
        if options.truth is not None:
            load_truth(options.truth)  # an unknown preset or a missing file fails now
        if isinstance(network, SequenceNetwork):
            domain = _given_domain(options.domain) or default_domain(network)
            network.check_domain(domain)
            network.check_causal(domain, options.seed)
            return domain
        assert isinstance(network, RecurrentNetwork)
        config = network.model.config
        given = _given_domain(options.domain)
        if given is not None:
            if len(given.inputs) != len(config.inputs):
                raise DomainError(
                    f"domain {given.spec()!r} has {len(given.inputs)} inputs per step; the "
                    f"RNN takes {len(config.inputs)}"
                )
            return given
        names = input_names(len(config.inputs))
        components: list[IntRange | RealInterval] = []
        for name, spec in zip(names, config.inputs, strict=True):
            if spec.integer:
                components.append(IntRange(name, int(spec.low), int(spec.high)))
            else:
                components.append(RealInterval(name, spec.low, spec.high))
        output = config.output
        readout = "argmax" if output.kind == "classes" else "round" if output.integer else "real"
        return SequenceDomain(tuple(components), network.length, readout)

    def strategies(self, domain: SequenceDomain) -> tuple[str, ...]:
        if domain.given:  # a user's sequence network: black-box first
            return (*BLACK_BOX, *STRATEGIES)
        return (*STRATEGIES, *BLACK_BOX)

    def observe(
        self, network: Network, domain: SequenceDomain, options: Options, progress: bool
    ) -> SequenceBehaviour:
        finite = domain.alphabet_size is not None
        length = domain.exhaustive_length
        symbols = domain.symbols() if finite else None
        common: dict[str, Any] = {
            "integer_inputs": finite,
            "integer_outputs": domain.readout != "real",
            "symbols": symbols,
            "exhaustive_length": length,
            "seed": options.seed,
        }
        if isinstance(network, SequenceNetwork):
            screen = _screen_inputs(domain, options.seed)
            long = 10 * (length or domain.length)
            return SequenceBehaviour(
                model=None,
                inputs=screen,
                tolerance=0.0 if domain.readout != "real" else REAL_TOLERANCE,
                oracle=lambda x: network.read(x, domain),
                long_length=long if network.runs_at(domain, long) else None,
                bits=n_bits(domain, network.n_outputs),
                max_length=None
                if network.longest is None
                else network.longest - len(domain.prefix),
                **common,
            )
        assert isinstance(network, RecurrentNetwork)
        model = network.model
        return SequenceBehaviour(
            model=model,
            inputs=network.inputs["train"][:OBSERVED_SEQUENCES],
            tolerance=model.config.output.tolerance,
            oracle=lambda x: model.run(x, states=False)[0],
            long_length=10 * length if length else None,
            **common,
        )

    def screen(self, observation: SequenceBehaviour, candidate: Candidate) -> float:
        """The share of observed sequences on which the program equals the network."""
        if candidate.program is None:
            return 0.0
        values = _program_outputs(candidate.program, observation.inputs)
        reference = observation.reference.astype(np.float64)
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
        if PROGRAM_FILE not in files:
            return []
        if isinstance(network, SequenceNetwork):
            return _sequence_checks(network, domain, files, options, quick=quick)
        assert isinstance(network, RecurrentNetwork)
        model = network.model
        tolerance = model.config.output.tolerance
        checks: list[Check] = []
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
        if isinstance(network, SequenceNetwork):
            return _generic_section(network, observation, candidate, options)
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
            "lstar": None
            if observation._learned is None
            else {"states": observation._learned.machine.n_states, **observation._learned.stats},
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
        lines = ["## Loop", ""]
        if section["training_length"] is not None:
            lines.append(
                f"- trained at length {section['training_length']}; the program is {reach}"
            )
        else:
            lines.append(f"- the program is {reach}")
        if section.get("causality"):
            c = section["causality"]
            lines.append(
                f"- causal: on {c['sequences']} random sequences of length {c['length']}, "
                "changing later steps never moved an earlier output"
            )
        program = section.get("program") or {}
        if "delta" in program:
            lines.append(
                f"- one-counter machine: the counter adds {program['delta']} per input; "
                f"{program['control_states']}-state control over (input, sign of the counter)"
                + (f": {program['control']}" if program["control"] else " (a table)")
            )
        learned = section.get("lstar")
        if learned:
            lines.append(
                f"- L*: {learned['states']} states, {learned['membership_sequences']:,} "
                f"sequences queried in {learned['forward_calls']} forward calls, "
                f"{learned['counterexamples_exhaustive']} counterexamples up to N and "
                f"{learned['counterexamples_long']} on the long walks "
                f"({'agrees' if learned['agrees_on_long_walks'] else 'does not agree'} with the "
                "network on them)"
            )
        for name, reason in (section.get("long_checks_skipped") or {}).items():
            lines.append(f"- no check {name}: {reason}")
        for name, share in (section.get("network_vs_truth") or {}).items():
            lines.append(f"- the network itself against {section['truth']} {name}: {share}")
        if section["machine"]:
            m = section["machine"]
            lines.append(
                f"- machine: {m['states_on_data']} states on the data, {m['states_minimal']} "
                f"after minimisation, {'closed' if m['closed'] else 'open'}"
            )
        if section["truth"] and section.get("network_vs_truth_at_10L") is not None:
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
        if isinstance(network, SequenceNetwork):
            domain = SequenceDomain.parse(result["domain"]["spec"])
            length = int(result.get("bench_length") or 100)
            if not network.runs_at(domain, length):
                raise DomainError(
                    f"bench length {length} exceeds the longest input the network takes "
                    f"({network.longest})"
                )
            count = max(10, min(2000, 20_000 // length))
            x = sample_inputs(domain, count, length, 0)
            return Workload(unit="sequences", call="item", items=as_python(x))
        assert isinstance(network, RecurrentNetwork)
        test = network.inputs["test"][:2000]
        if result.get("bench_length"):
            length = int(result["bench_length"])
            test = _sample_like(test, max(10, min(2000, 20_000 // length)), length, 0)
        items = as_python(test)
        return Workload(unit="sequences", call="item", items=items)

    def runner(self, network: Network, result: dict[str, Any]) -> Callable[[Any], Any]:
        if isinstance(network, SequenceNetwork):
            domain = SequenceDomain.parse(result["domain"]["spec"])
            return lambda batch: network.read(
                np.asarray(batch).reshape(len(batch), -1, len(domain.inputs)), domain
            )
        assert isinstance(network, RecurrentNetwork)
        model = network.model
        return lambda batch: model.run(batch, states=False)[0]
