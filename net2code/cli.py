"""The `net2code` command line: train, extract, verify, bench, demo.

Bad input ends with one line on stderr naming the value and the limit, and exit code 2.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .errors import Net2CodeError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Turn a trained neural network into ordinary, verified code.",
)
train_app = typer.Typer(no_args_is_help=True, help="Train a network on a built-in task.")
app.add_typer(train_app, name="train")

F = TypeVar("F", bound=Callable[..., Any])

NoProgress = Annotated[bool, typer.Option("--no-progress", help="Hide progress bars.")]


def _friendly(func: F) -> F:
    """Turn net2code's own errors into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Net2CodeError as exc:
            typer.echo(f"net2code: error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("net2code: interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@train_app.command("modular")
@_friendly
def train_modular(
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder to write.")],
    op: Annotated[
        str, typer.Option(help="add, sub, mul, ... or an expression in a and b.")
    ] = "add",
    p: Annotated[int, typer.Option("--p", help="The modulus.")] = 59,
    model: Annotated[str, typer.Option(help="transformer, mlp or mlp-concat.")] = "transformer",
    attention_rate: Annotated[float, typer.Option(help="Alpha in [0, 1] (transformer).")] = 1.0,
    d_model: Annotated[int, typer.Option(help="Embedding width.")] = 128,
    d_mlp: Annotated[int | None, typer.Option(help="MLP width (default 4*d_model).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for init and split.")] = 0,
    train_fraction: Annotated[
        float, typer.Option(help="Share of the p*p pairs to train on.")
    ] = 0.8,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay.")] = 1.0,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 1e-3,
    max_steps: Annotated[int, typer.Option(help="Upper bound on full-batch steps.")] = 20_000,
    min_steps: Annotated[
        int, typer.Option(help="Train at least this long (Fourier structure keeps sharpening).")
    ] = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train on op(a, b) mod p and save a safetensors checkpoint with its config."""
    from .train import TrainConfig, save_run, train

    config = TrainConfig(
        p=p,
        op=op,
        model=model,
        d_model=d_model,
        d_mlp=d_mlp,
        attention_rate=attention_rate,
        seed=seed,
        train_fraction=train_fraction,
        weight_decay=weight_decay,
        lr=lr,
        max_steps=max_steps,
        min_steps=min_steps,
    )
    result = train(config, progress=not no_progress)
    save_run(result, output)
    s = result.summary()
    typer.echo(
        f"trained {config.model} on {config.task().name}: {s['steps']} steps in {s['seconds']}s, "
        f"train loss {s['train_loss']:.3g}, test accuracy {s['test_accuracy']:.4f}, "
        f"all pairs {s['full_domain_accuracy']:.4f} -> {output}"
    )


@train_app.command("rnn")
@_friendly
def train_rnn_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder to write.")],
    data: Annotated[
        Path | None, typer.Option(help="An .npz with x (n, L[, d]) and y (n, L).")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="A MIPS preset instead of --data (e.g. Parity_All).")
    ] = None,
    search: Annotated[
        bool, typer.Option("--search", help="Find the smallest hidden size reaching 100%.")
    ] = False,
    hidden: Annotated[int, typer.Option(help="Hidden (state) size, without --search.")] = 4,
    sizes: Annotated[
        str, typer.Option(help="Hidden sizes --search tries, in order.")
    ] = "1,2,4,8,16",
    width: Annotated[int, typer.Option(help="Hidden width of the MLPs f and g.")] = 32,
    max_steps: Annotated[int, typer.Option(help="Adam steps per hidden size at most.")] = 3000,
    sequences: Annotated[int, typer.Option(help="Sequences to generate with --task.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed for init, split and --task data.")] = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train an RNN h_t = f([h_{t-1}, x_t]), y_t = g(h_t) on sequence data (MIPS)."""
    from .sequence.data import load_npz, validate
    from .sequence.tasks import get_task
    from .sequence.train import RNNTrainConfig, save_rnn_run, train_rnn

    if (data is None) == (task is None):
        raise Net2CodeError("give exactly one of --data FILE.npz and --task NAME")
    try:
        size_list = tuple(int(v) for v in sizes.split(",") if v.strip())
    except ValueError:
        raise Net2CodeError(
            f"--sizes {sizes!r} is not a comma-separated list of integers"
        ) from None
    config = RNNTrainConfig(
        hidden=hidden, width=width, search=search, sizes=size_list, max_steps=max_steps, seed=seed
    )
    if task is not None:
        preset = get_task(task)
        if sequences < 10:
            raise Net2CodeError(f"--sequences {sequences} is too few; need at least 10")
        x, y = preset.generate(sequences, seed=seed)
        dataset, source, name = validate(x, y, preset.name), f"preset {preset.name}", preset.name
    else:
        assert data is not None
        dataset, source, name = load_npz(data), str(data), None
    result = train_rnn(dataset, config, progress=not no_progress)
    save_rnn_run(result, output, data_source=source, task=name)
    s = result.summary()
    tried = ", ".join(f"h={a['hidden']}: {100 * a['test_accuracy']:.2f}%" for a in s["attempts"])
    typer.echo(
        f"trained an RNN on {source}: hidden size {s['hidden']}, test accuracy "
        f"{100 * s['test_accuracy']:.3f}% ({tried}) in {s['seconds']}s -> {output}"
    )


def _ints(option: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise Net2CodeError(
            f"{option} {text!r} is not a comma-separated list of integers"
        ) from None
    if not values:
        raise Net2CodeError(f"{option} {text!r} names no values")
    return values


def _train_thinking(task: str, output: Path, size: int, **options: Any) -> None:
    from .thinking.train import ThinkTrainConfig, train_thinking

    no_progress = options.pop("no_progress")
    recall = not options.pop("no_recall")
    config = ThinkTrainConfig(task=task, size=size, recall=recall, **options)
    result = train_thinking(config, output, progress=not no_progress)
    s = result.summary()
    early = " (stopped at --max-minutes)" if s["stopped_early"] else ""
    typer.echo(
        f"trained a {'recall ' if recall else 'no-recall '}{config.model} ({s['parameters']:,} "
        f"parameters) on size {size}: {s['steps']} steps in {s['seconds']}s{early}; exact match "
        f"at {config.max_iters} iterations {100 * (s['final_accuracy'] or 0):.1f}% -> {output}"
    )


Width = Annotated[int, typer.Option(help="Channels of the recurrent state.")]
MaxIters = Annotated[int, typer.Option(help="Training iterations T of the recurrent block.")]
Alpha = Annotated[float, typer.Option(help="Weight of the progressive loss, in [0, 1].")]
Steps = Annotated[int, typer.Option(help="Adam steps (a fresh batch each step).")]
Batch = Annotated[int, typer.Option(help="Problems per step.")]
NoRecall = Annotated[
    bool, typer.Option("--no-recall", help="Do not feed the input to every iteration.")
]
ModelKind = Annotated[
    str, typer.Option(help="dt_net (recurrent) or ff_net (the feed-forward baseline).")
]
MaxMinutes = Annotated[
    float | None, typer.Option(help="Stop early after this many minutes (recorded).")
]
Seed = Annotated[int, typer.Option(help="Seed for init and data.")]
Lr = Annotated[float, typer.Option(help="Adam learning rate.")]
Warmup = Annotated[int, typer.Option(help="Linear learning-rate warmup steps.")]


@train_app.command("maze")
@_friendly
def train_maze(
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder to write.")],
    size: Annotated[int, typer.Option(help="Maze size n (odd); the grid is n + 2 pixels.")] = 9,
    width: Width = 32,
    max_iters: MaxIters = 20,
    alpha: Alpha = 0.5,
    steps: Steps = 4000,
    batch: Batch = 32,
    lr: Lr = 1e-3,
    warmup: Warmup = 100,
    no_recall: NoRecall = False,
    model: ModelKind = "dt_net",
    max_minutes: MaxMinutes = None,
    seed: Seed = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train a DT-net on fresh n x n mazes with the progressive loss (Bansal et al. 2022)."""
    _train_thinking(
        "maze",
        output,
        size,
        width=width,
        max_iters=max_iters,
        alpha=alpha,
        steps=steps,
        batch=batch,
        lr=lr,
        warmup=warmup,
        no_recall=no_recall,
        model=model,
        max_minutes=max_minutes,
        seed=seed,
        no_progress=no_progress,
    )


@train_app.command("prefix-sums")
@_friendly
def train_prefix_sums(
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder to write.")],
    bits: Annotated[int, typer.Option(help="Training string length.")] = 32,
    width: Width = 64,
    max_iters: MaxIters = 30,
    alpha: Alpha = 1.0,
    steps: Steps = 2000,
    batch: Batch = 64,
    lr: Lr = 1e-3,
    warmup: Warmup = 100,
    no_recall: NoRecall = False,
    model: ModelKind = "dt_net",
    max_minutes: MaxMinutes = None,
    seed: Seed = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train a 1-D DT-net on random bit strings to output their running parity."""
    _train_thinking(
        "prefix_sums",
        output,
        bits,
        width=width,
        max_iters=max_iters,
        alpha=alpha,
        steps=steps,
        batch=batch,
        lr=lr,
        warmup=warmup,
        no_recall=no_recall,
        model=model,
        max_minutes=max_minutes,
        seed=seed,
        no_progress=no_progress,
    )


@app.command()
@_friendly
def evaluate(
    path: Annotated[Path, typer.Argument(help="A DT-net run folder (net2code train maze ...).")],
    sizes: Annotated[
        str | None, typer.Option(help="Sizes to test (default 9,13,21,33,59 or 32..512 bits).")
    ] = None,
    iters: Annotated[
        str | None, typer.Option(help="Test iteration counts, comma-separated.")
    ] = None,
    count: Annotated[int, typer.Option(help="Problems per size.")] = 100,
    large_count: Annotated[
        int, typer.Option(help="Problems per size above 33 (mazes) or 256 bits.")
    ] = 50,
    no_stop: Annotated[
        bool, typer.Option("--no-stop", help="Skip the confidence-based stopping rule.")
    ] = False,
    no_error_correction: Annotated[
        bool, typer.Option("--no-error-correction", help="Skip the corruption experiments.")
    ] = False,
    no_progress: NoProgress = False,
) -> None:
    """Extrapolation: exact match by size x test iterations -> eval.json, eval.md."""
    from .thinking.run import EvaluateConfig, evaluate_run
    from .thinking.train import is_thinking_run

    if not is_thinking_run(path):
        raise Net2CodeError(f"{path} is not a DT-net run folder (no config.json of a dt_net)")
    config = EvaluateConfig(
        sizes=_ints("--sizes", sizes) if sizes else None,
        iters=_ints("--iters", iters) if iters else None,
        count=count,
        large_count=large_count,
        stop=not no_stop,
        error_correction=not no_error_correction,
    )
    from .thinking.run import render_eval

    result = evaluate_run(path, config, progress=not no_progress)
    typer.echo(render_eval(result).rstrip())
    typer.echo(f"-> {path}/eval.json, {path}/eval.md")


@app.command()
@_friendly
def report(
    path: Annotated[Path, typer.Argument(help="A DT-net run folder.")],
    compare: Annotated[
        list[Path] | None,
        typer.Option(help="Other evaluated runs to plot alongside (e.g. no recall); repeatable."),
    ] = None,
    size: Annotated[int | None, typer.Option(help="Size of the example problem.")] = None,
) -> None:
    """Pictures and tables: a maze, the network thinking, prediction vs label, accuracy plot."""
    from .thinking.report import render_report
    from .thinking.train import is_thinking_run

    if not is_thinking_run(path):
        raise Net2CodeError(f"{path} is not a DT-net run folder (no config.json of a dt_net)")
    written = render_report(path, compare=compare, size=size)
    typer.echo(f"wrote {written} (open it in any Markdown viewer)")


@app.command()
@_friendly
def data(
    task: Annotated[str, typer.Argument(help="A MIPS preset, e.g. Binary_Addition.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .npz to write.")],
    sequences: Annotated[int, typer.Option(help="How many sequences.")] = 20_000,
    length: Annotated[int, typer.Option(help="Steps per sequence.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
) -> None:
    """Write a preset's data file (x, y) for `net2code train rnn --data`."""
    from .sequence.data import save_npz
    from .sequence.tasks import get_task

    preset = get_task(task)
    if sequences < 10 or length < 1:
        raise Net2CodeError(f"--sequences {sequences} must be >= 10 and --length {length} >= 1")
    x, y = preset.generate(sequences, length, seed)
    save_npz(output, x, y)
    typer.echo(f"{preset.name}: x {x.shape}, y {y.shape} -> {output}")


@app.command()
@_friendly
def suite(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the table and runs.")
    ] = Path("runs/suite"),
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated preset names (default: all 22).")
    ] = None,
    jobs: Annotated[int, typer.Option(help="Parallel workers.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train, extract and verify every MIPS sequence task; write suite.md and suite.json."""
    from .sequence.suite import SuiteConfig, render, run_suite, solved
    from .sequence.tasks import TASKS

    names = tuple(t.strip() for t in tasks.split(",")) if tasks else tuple(TASKS)
    rows = run_suite(
        SuiteConfig(tasks=names, n_jobs=jobs, seed=seed), output, progress=not no_progress
    )
    typer.echo(render(rows, 0.0).rsplit("\n\n", 1)[0])
    typer.echo(f"{sum(solved(r) for r in rows)} of {len(rows)} solved -> {output}/suite.md")


def _is_rnn_run(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    config = folder / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model", {}).get("kind") == "rnn"
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return False


def _out_dir(path: Path, output: Path | None) -> Path:
    if output is not None:
        return output
    return path if path.is_dir() else path.parent


@app.command()
@_friendly
def extract(
    path: Annotated[
        Path, typer.Argument(help="A run folder, model.safetensors, .onnx or .pt2 file.")
    ],
    domain: Annotated[
        str | None,
        typer.Option(help='e.g. "a:0..58 b:0..58", "x1:bit x2:bit", "x:[-1,1] y:[-1,1] -> real".'),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder to write.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds for the program search.")] = 120.0,
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            help="Force a strategy (repeatable): boolean, dsl, tree, approx-tree, lookup."
        ),
    ] = None,
    truth: Annotated[
        str | None,
        typer.Option(
            help="RNN runs: a preset name or a .py defining truth(xs), checked at 10x length."
        ),
    ] = None,
    sizes: Annotated[
        str | None, typer.Option(help="DT-net runs: sizes to verify the rule at.")
    ] = None,
    count: Annotated[int, typer.Option(help="DT-net runs: problems per size.")] = 100,
    no_progress: NoProgress = False,
) -> None:
    """Extract the smallest program that reproduces the network, verify it, emit program.py.

    PATH is a net2code run folder, a model.safetensors, an ONNX file or a torch.export .pt2.
    """
    from .network import load
    from .pipeline import extract as run_extract
    from .pipeline import make_strategies

    if timeout <= 0:
        raise Net2CodeError(f"--timeout {timeout} must be > 0 seconds")
    from .thinking.train import is_thinking_run

    if is_thinking_run(path):
        from .thinking.run import ExtractConfig, render_extract
        from .thinking.run import extract_run as extract_thinking

        config = ExtractConfig(sizes=_ints("--sizes", sizes) if sizes else None, count=count)
        result = extract_thinking(path, output, config, progress=not no_progress)
        typer.echo(render_extract(result).rstrip())
        typer.echo(f"wrote program.py, result.json, extract.md -> {_out_dir(path, output)}")
        return
    if _is_rnn_run(path):
        from .sequence.run import extract_run

        result = extract_run(path, output, truth=truth, timeout=timeout)
        status = "verified" if result["verified"] else "NOT verified"
        typer.echo(
            f"{result['kind']}: {result['description']}  [{status} at length "
            f"{result['training_length']}: {100 * result['agreement']:.3f}% of steps agree; "
            f"correct at 10x length: {result['correct_at_10L']}]"
        )
        typer.echo(f"wrote program.py, result.json, report.md -> {_out_dir(path, output)}")
        return
    make_strategies(strategy)  # unknown names fail before the network is loaded
    network = load(path)
    extraction = run_extract(
        network, domain, strategies=strategy, timeout=timeout, progress=not no_progress
    )
    folder = extraction.save(_out_dir(path, output))
    typer.echo(extraction.summary_line())
    typer.echo(f"wrote program.py, program_numpy.py, result.json, report.md -> {folder}")


@app.command()
@_friendly
def verify(
    path: Annotated[
        Path, typer.Argument(help="The run folder or model file the program came from.")
    ],
    program: Annotated[
        Path | None, typer.Option(help="program.py to check (default: the one beside the run).")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="Domain (default: from result.json).")] = None,
) -> None:
    """Re-check an emitted program.py against the network on every point; exit 1 if any differ."""
    from .domain import Domain
    from .emit import load_function
    from .network import load
    from .probe import probe
    from .verify import percent, verify_scalar

    program = program or _out_dir(path, None) / "program.py"
    if not program.is_file():
        raise Net2CodeError(
            f"program {str(program)!r} does not exist: run `net2code extract` first"
        )
    network = load(path)
    if domain is None:
        result_file = program.parent / "result.json"
        domain = json.loads(result_file.read_text())["domain"] if result_file.is_file() else None
    dom = Domain.parse(domain) if domain else network.natural_domain
    if not dom.is_finite:
        raise Net2CodeError(
            f"verify re-checks finite domains point by point; {dom.spec()!r} is a box "
            "(see result.json for its proof and sampled check)"
        )
    behaviour = probe(network, dom)
    try:
        function = load_function(program.read_text(encoding="utf-8"))
    except (SyntaxError, KeyError) as exc:
        raise Net2CodeError(f"{program} does not define a valid program(): {exc}") from None
    check = verify_scalar(function, behaviour, limit=len(behaviour.outputs))
    n, agree = check["checked"], check["agree"]
    status = "verified" if agree == n else "NOT verified"
    typer.echo(f"{program}: {status}: {agree:,}/{n:,} points agree ({percent(agree, n)})")
    if agree != n:
        raise typer.Exit(1)


@app.command()
@_friendly
def bench(
    path: Annotated[Path, typer.Argument(help="The run folder or model file.")],
    program_dir: Annotated[
        Path | None, typer.Option(help="Folder with program.py and result.json (default: the run).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write bench.*")
    ] = None,
    max_seconds: Annotated[float, typer.Option(help="Time cap per measurement.")] = 20.0,
) -> None:
    """Throughput and peak memory, network vs program, at batch 1 and full batch."""
    from .bench import BenchConfig, render_bench_markdown, write_bench
    from .bench import bench as run_bench

    program_dir = program_dir or _out_dir(path, None)
    report = run_bench(path, program_dir, BenchConfig(max_seconds=max_seconds))
    write_bench(report, output or program_dir)
    typer.echo(render_bench_markdown(report))


@app.command()
@_friendly
def surgery(
    path: Annotated[Path, typer.Argument(help="A run folder of a modular-addition network.")],
    p: Annotated[int, typer.Option("--p", help="The new modulus p'.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write.")],
) -> None:
    """Move the network's algorithm to Z_p': a program, and a rebuilt network, for p'."""
    from ._util import atomic_write_json, provenance, staged_dir
    from .checkpoint import save_checkpoint
    from .domain import MAX_DOMAIN_POINTS
    from .emit import load_function
    from .mechanism.analysis import analyse, logit_tensor
    from .mechanism.faithful import emit_faithful, fit_faithful
    from .mechanism.run import applies
    from .mechanism.surgery import surgery as run_surgery
    from .network import load
    from .pipeline import extract as run_extract

    if p < 2:
        raise Net2CodeError(f"--p {p} is invalid: the new modulus must be >= 2")
    if p * p > MAX_DOMAIN_POINTS:
        raise Net2CodeError(
            f"--p {p} gives {p * p:,} pairs, over the limit of {MAX_DOMAIN_POINTS:,}"
        )
    network = load(path)
    extraction = run_extract(network, mechanism=False)
    if not (extraction.verified and applies(network, extraction.program)):
        raise Net2CodeError(
            f"{path} does not compute (a + b) mod p (its program: "
            f"{extraction.program.source if extraction.program else 'none'}); "
            "surgery needs addition"
        )
    assert network.module is not None and network.vocab is not None
    p_old = network.vocab
    mechanism = analyse(network.module, p_old)
    faithful = fit_faithful(mechanism, logit_tensor(network.module, p_old))
    result = run_surgery(faithful, network.module, p)
    header = [
        f"Surgery by net2code: the {mechanism.kind} algorithm of {path} (p = {p_old}), moved to "
        f"p' = {p}: circle angles 2*pi*k/{p_old} became 2*pi*k/{p}.",
        f"Correct on {result.program_agreement * p * p:,.0f}/{p * p:,} pairs of Z_{p} "
        "(against (a + b) mod p').",
    ]
    source = emit_faithful(result.program, header)
    function = load_function(source)
    emitted = sum(int(function(a, b) == (a + b) % p) for a in range(p) for b in range(p))
    summary = {
        "verified": emitted == p * p,
        "agreement": emitted / (p * p),
        "truth": "(a + b) mod p'",
        "domain": f"a:0..{p - 1} b:0..{p - 1}",
        "domain_size": p * p,
        "program": "program.py",
        "strategy": "surgery",
        "mechanism": {"class": mechanism.kind, "frequencies": mechanism.frequencies},
        **result.to_dict(),
        "network": "network/ (embedding and unembedding refit at the new angles)",
        **provenance(None),
    }
    module = result.network
    with staged_dir(output) as tmp:
        (tmp / "program.py").write_text(source, encoding="utf-8")
        atomic_write_json(tmp / "result.json", summary)
        save_checkpoint(tmp / "network", module, module.config, {"surgery": summary})  # type: ignore[arg-type]
    status = "verified" if summary["verified"] else "NOT verified"
    typer.echo(
        f"program for p'={p}: {status}, {emitted:,}/{p * p:,} pairs correct; rebuilt network: "
        f"{100 * result.network_accuracy:.2f}% accurate on Z_{p} -> {output}"
    )


@app.command()
@_friendly
def sweep(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the table and plot.")],
    attention_rates: Annotated[
        str, typer.Option(help="Comma-separated alphas.")
    ] = "0,0.2,0.4,0.6,0.8,1",
    widths: Annotated[str, typer.Option(help="Comma-separated d_model values.")] = "32,64",
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "0,1",
    p: Annotated[int, typer.Option("--p", help="The modulus.")] = 59,
    max_steps: Annotated[int, typer.Option(help="Steps per run at most.")] = 4000,
    min_steps: Annotated[int, typer.Option(help="Steps per run at least.")] = 2000,
    jobs: Annotated[int, typer.Option(help="Parallel workers (-1: every core).")] = -1,
    backend: Annotated[
        str, typer.Option(help="joblib backend: loky, threading, dask, ray.")
    ] = "loky",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    no_progress: NoProgress = False,
) -> None:
    """Train and classify many transformers (attention rate x width x seed) in parallel."""
    from .sweep import SweepConfig, class_fractions
    from .sweep import sweep as run_sweep

    def numbers(text: str, kind: type) -> tuple:
        try:
            return tuple(kind(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise Net2CodeError(
                f"cannot read {text!r} as comma-separated {kind.__name__}s"
            ) from None

    config = SweepConfig(
        attention_rates=numbers(attention_rates, float), widths=numbers(widths, int),
        seeds=numbers(seeds, int), p=p, max_steps=max_steps, min_steps=min_steps, n_jobs=jobs,
        backend=backend,
    )  # fmt: skip
    rows = run_sweep(config, output, scheduler=scheduler, progress=not no_progress)
    for rate, fractions in class_fractions(rows).items():
        typer.echo(f"alpha {rate:g}: " + ", ".join(f"{k} {v:.2f}" for k, v in fractions.items()))
    typer.echo(f"{len(rows)} runs -> {output}/sweep.md, sweep.csv, sweep.json, phase.png")


@app.command()
@_friendly
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder.")] = Path("runs/demo"),
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train a p=59 addition transformer, extract and verify it, print the program and speed-up."""
    from .bench import BenchConfig, write_bench
    from .bench import bench as run_bench
    from .network import load
    from .pipeline import extract as run_extract
    from .train import TrainConfig, save_run, train

    start = time.perf_counter()
    config = TrainConfig(p=59, op="add", model="transformer", attention_rate=1.0, seed=seed)
    typer.echo(f"[1/4] training a {config.model} on {config.task().name} (seed {seed}) ...")
    result = train(config, progress=not no_progress)
    save_run(result, output)
    s = result.summary()
    typer.echo(
        f"      {s['steps']} steps, {s['seconds']}s; test accuracy {s['test_accuracy']:.4f}, "
        f"all 3,481 pairs {s['full_domain_accuracy']:.4f}"
    )
    typer.echo("[2/4] extracting a program from the network alone (it never sees the labels) ...")
    extraction = run_extract(load(output), timeout=120, progress=not no_progress)
    extraction.save(output)
    typer.echo(f"[3/4] {extraction.summary_line()}")
    if extraction.mechanism is not None:
        mech = extraction.mechanism.mechanism
        typer.echo(
            f"      mechanism: {mech.kind} (key frequencies {mech.frequencies}; "
            f"{'; '.join(mech.reasons)}); see {output}/report.html"
        )
    typer.echo("[4/4] benchmarking network vs program ...")
    report = run_bench(output, output, BenchConfig(max_seconds=10))
    write_bench(report, output)
    typer.echo("")
    typer.echo((extraction.python_source or "").rstrip())
    typer.echo("")
    r = report["ratios"]
    typer.echo(
        f"speed-up of program.py over the network: {r['throughput_batch_1']:,.0f}x at batch 1, "
        f"{r['throughput_batch_full']:,.1f}x at full batch (program_numpy.py); "
        f"peak memory {r['peak_rss_batch_1']:.0f}x smaller"
    )
    typer.echo(f"outputs in {output}/ ; total {time.perf_counter() - start:.0f}s")


def main() -> None:
    app(prog_name="net2code")


if __name__ == "__main__":
    main()
