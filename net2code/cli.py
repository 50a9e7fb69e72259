"""The `net2code` command line.

Two groups: the generic verbs that work on every family's runs and files (`extract`, `verify`,
`bench`, `report`), and the zoo of built-in task families (`demo`, `train ...`, `data`,
`suite`, `sweep`, `surgery`, `evaluate`). Errors are handled in one place, `main()`.

Exit codes: 0 done; 1 not verified (`verify` found a disagreement, or `extract --strict` found
no verified program); 2 bad input, with one line on stderr naming the value and the limit;
130 interrupted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .errors import Net2CodeError

EXIT_NOT_VERIFIED = 1
EXIT_BAD_INPUT = 2
EPILOG = (
    "Exit codes: 0 done; 1 not verified (verify, or extract --strict); 2 bad input (one line "
    "on stderr); 130 interrupted."
)
CHECK = "Extract and check (every family)"
ZOO = "Zoo: built-in tasks, their networks and experiments"


class _Grouped(TyperGroup):
    """Plain help (no markup, so brackets in help texts survive) with the commands listed
    under their group's heading."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        width = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            panel = getattr(command, "rich_help_panel", None) or ZOO
            groups.setdefault(panel, []).append((name, command.get_short_help_str(width)))
        for panel, rows in groups.items():
            with formatter.section(panel):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=_Grouped,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Turn a trained neural network into ordinary, verified code.",
    epilog=EPILOG,
)
train_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Train a network on a built-in task."
)
app.add_typer(train_app, name="train", rich_help_panel=ZOO)
decompiler_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="The learned decompiler: build a network zoo, train the meta-model on it.",
)
app.add_typer(decompiler_app, name="decompiler", rich_help_panel=ZOO)

# Options shared by several commands, declared once.
Output = Annotated[Path, typer.Option("-o", "--output", help="Folder to write.")]
MaybeOutput = Annotated[
    Path | None, typer.Option("-o", "--output", help="Folder to write (default: beside PATH).")
]
Seed = Annotated[int, typer.Option(help="Seed (recorded in every output).")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="Hide progress bars.")]
Jobs = Annotated[int, typer.Option(help="Parallel workers (-1: every core).")]
Backend = Annotated[str, typer.Option(help="joblib backend: loky, threading, dask, ray.")]
Scheduler = Annotated[str | None, typer.Option(help="Dask scheduler address.")]
Timeout = Annotated[float, typer.Option(help="Seconds for the program search.")]
RunPath = Annotated[
    Path,
    typer.Argument(
        help="A run folder, model.safetensors, .onnx or .pt2 file, or an output folder "
        "holding result.json."
    ),
]


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


def _floats(option: str, text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise Net2CodeError(f"{option} {text!r} is not a comma-separated list of numbers") from None
    if not values:
        raise Net2CodeError(f"{option} {text!r} names no values")
    return values


def _out_dir(path: Path, output: Path | None) -> Path:
    if output is not None:
        return output
    return path if path.is_dir() else path.parent


def _result_folder(path: Path) -> Path:
    """The output folder a verb reads: PATH itself, or the folder beside a file."""
    return path if path.is_dir() else path.parent


# ------------------------------------------------------------------- extract and check
@app.command(rich_help_panel=CHECK)
def extract(
    path: RunPath,
    domain: Annotated[
        str | None,
        typer.Option(
            help='e.g. "a:0..58 b:0..58", "x1:bit x2:bit", "x:[-1,1] -> real"; sequences: '
            '"seq(x:0..1) len:0..14 -> argmax".'
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="The JSON config of a TransformerLens-layout state dict (.pt/.pth)."),
    ] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option(help="Force a strategy (repeatable); each family has its own list."),
    ] = None,
    truth: Annotated[
        str | None,
        typer.Option(help="Recurrent: a preset name or a .py defining truth(xs), checked at 10L."),
    ] = None,
    sizes: Annotated[
        str | None, typer.Option(help="Iterated: problem sizes to check at, e.g. 9,13,21.")
    ] = None,
    count: Annotated[int | None, typer.Option(help="Iterated: problems per size.")] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit 1 when the program is not verified, or there is none."),
    ] = False,
    allow_large: Annotated[
        bool,
        typer.Option("--allow-large", help="Write emitted programs over 100 KB too."),
    ] = False,
    beam: Annotated[
        int | None, typer.Option(help="--strategy learned: proposals to check (default 64).")
    ] = None,
    decompiler: Annotated[
        Path | None,
        typer.Option(help="--strategy learned: a meta-model .safetensors (default: shipped)."),
    ] = None,
    no_repair: Annotated[
        bool,
        typer.Option(
            "--no-repair",
            help="--strategy learned: check the proposals only (no one-node repair of them).",
        ),
    ] = False,
    no_guide: Annotated[
        bool,
        typer.Option(
            "--no-guide",
            help="--strategy learned: a plain beam (not guided by the network's outputs).",
        ),
    ] = False,
    output: MaybeOutput = None,
    timeout: Timeout = 120.0,
    seed: Seed = 0,
    no_progress: NoProgress = False,
) -> None:
    """Extract the smallest program that reproduces the network, check it, write program.py.

    Writes program.py, program_numpy.py (where there is one), result.json, report.md and
    report.html. Family options (--domain, --truth, --sizes, --count) are refused by the
    families that do not use them.
    """
    from .network import load
    from .pipeline import extract as run_extract
    from .strategies import family_of

    if timeout <= 0:
        raise Net2CodeError(f"--timeout {timeout} must be > 0 seconds")
    for name in strategy or ():
        family_of(name)  # unknown names fail before the network is loaded
    chosen: list[Any] | None = list(strategy) if strategy else None
    if beam is not None or decompiler is not None or no_repair or no_guide:
        if not chosen or "learned" not in chosen:
            raise Net2CodeError(
                "--beam, --decompiler, --no-repair and --no-guide are options of --strategy learned"
            )
        from .strategies.learned import DEFAULT_BEAM, LearnedDecompiler

        learned = LearnedDecompiler(
            beam=DEFAULT_BEAM if beam is None else beam,
            model=decompiler,
            repair=not no_repair,
            guided=not no_guide,
        )
        chosen = [learned if name == "learned" else name for name in chosen]
    network = load(path, config)
    extraction = run_extract(
        network,
        domain,
        strategies=chosen,
        timeout=timeout,
        truth=truth,
        sizes=_ints("--sizes", sizes) if sizes else None,
        count=count,
        seed=seed,
        progress=not no_progress,
        allow_large=allow_large,
    )
    folder = extraction.save(_out_dir(path, output))
    typer.echo(extraction.summary_line())
    for note in extraction.notes:
        typer.echo(note, err=True)
    for analysis in extraction.analyses.values():
        typer.echo(f"  {analysis.summary()}")
    written = sorted(p.name for p in folder.iterdir() if p.name in _written(extraction))
    typer.echo(f"wrote {', '.join(written)} -> {folder}")
    if strict and not extraction.verified:
        raise typer.Exit(EXIT_NOT_VERIFIED)


def _written(extraction: Any) -> set[str]:
    from .pipeline import RESULT_FILE
    from .report import HTML_FILE, REPORT_FILE

    names = {*extraction.files, RESULT_FILE, REPORT_FILE, HTML_FILE}
    for analysis in extraction.analyses.values():
        names |= set(analysis.files)
    return names


@app.command(rich_help_panel=CHECK)
def verify(
    path: Annotated[
        Path, typer.Argument(help="An output folder holding result.json and program.py.")
    ],
    program: Annotated[
        Path | None,
        typer.Option(help="program.py to check instead of the one in the folder."),
    ] = None,
    no_progress: NoProgress = False,
) -> None:
    """Re-run the checks that define `verified` on the emitted program; exit 1 if any differ.

    The network is the one result.json names; the domain and options are those it records.
    """
    from .checks import is_verified
    from .emit import NUMPY_FILE, PROGRAM_FILE, load_function
    from .families import Options, get
    from .network import load
    from .result import read

    result_file, result = read(_result_folder(path))
    folder = result_file.parent
    program_file = program or folder / PROGRAM_FILE
    if not program_file.is_file():
        raise Net2CodeError(f"program {str(program_file)!r} does not exist: run `net2code extract`")
    source = program_file.read_text(encoding="utf-8")
    try:
        load_function(source)
    except (SyntaxError, KeyError, NameError) as exc:
        raise Net2CodeError(f"{program_file} does not define a valid program(): {exc}") from None
    files = {PROGRAM_FILE: source}
    if program is None and (folder / NUMPY_FILE).is_file():
        files[NUMPY_FILE] = (folder / NUMPY_FILE).read_text(encoding="utf-8")
    if result["network"]["source"] is None:
        raise Net2CodeError(f"{result_file} names no network file to check against")
    network = load(result["network"]["source"])
    family = get(result["family"])
    recorded = dict(result["options"])
    feed_forward = result["family"] == "feed-forward"
    options = Options(
        domain=result["domain"]["spec"] if feed_forward else None,
        truth=recorded.get("truth"),
        sizes=tuple(recorded["sizes"]) if recorded.get("sizes") else None,
        count=recorded.get("count"),
        seed=recorded.get("seed", 0),
    )
    proof = next((c for c in result["checks"] if c["name"] == "network, per region"), None)
    evidence = {"proof": proof["proof"], "regions": proof["n"]} if proof else {}
    domain = family.domain(network, options)
    checks = family.checks(
        network, domain, files, options, evidence=evidence, quick=True, progress=not no_progress
    )
    for check in checks:
        typer.echo(f"{check.name}: {check.sentence()}")
    ok = is_verified(checks)
    typer.echo(f"{program_file}: {'verified' if ok else 'NOT verified'}")
    if not ok:
        raise typer.Exit(EXIT_NOT_VERIFIED)


@app.command(rich_help_panel=CHECK)
def bench(
    path: RunPath,
    program_dir: Annotated[
        Path | None,
        typer.Option(help="Folder with program.py and result.json, when PATH is the network."),
    ] = None,
    output: MaybeOutput = None,
    max_seconds: Annotated[float, typer.Option(help="Time cap per measurement.")] = 20.0,
    length: Annotated[
        list[int] | None,
        typer.Option(help="Sequence networks: time at this length (repeatable; default 100)."),
    ] = None,
) -> None:
    """Throughput and peak memory, network vs program, at batch 1 and full batch."""
    from .bench import BenchConfig, render_bench_markdown, write_bench
    from .bench import bench as run_bench

    if max_seconds <= 0:
        raise Net2CodeError(f"--max-seconds {max_seconds} must be > 0")
    folder = output or program_dir or _result_folder(path)
    lengths: list[int | None] = list(length) if length else [None]
    for n in lengths:
        config = BenchConfig(max_seconds=max_seconds, length=n)
        report = run_bench(path, program_dir, config)
        write_bench(report, folder, suffix="" if not length or len(length) == 1 else f"-{n}")
        typer.echo(render_bench_markdown(report))


@app.command(rich_help_panel=CHECK)
def report(
    path: Annotated[Path, typer.Argument(help="An output folder holding result.json.")],
    compare: Annotated[
        list[Path] | None,
        typer.Option(help="Iterated: other evaluated runs to plot alongside; repeatable."),
    ] = None,
    size: Annotated[
        int | None, typer.Option(help="Iterated: the size of the example problem.")
    ] = None,
) -> None:
    """Remake report.md and report.html from result.json, with the family's figures."""
    from .report import write_report

    written = write_report(_result_folder(path), compare=compare, size=size)
    typer.echo(f"wrote {written} and report.html")


# ------------------------------------------------------------------------------- zoo
@app.command(rich_help_panel=ZOO)
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder.")] = Path("runs/demo"),
    seed: Seed = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train a p=59 addition transformer, extract and verify it, print the program and speed-up."""
    from .bench import BenchConfig, write_bench
    from .bench import bench as run_bench
    from .network import load
    from .pipeline import extract as run_extract
    from .zoo.modular.train import TrainConfig, save_run, train

    start = time.perf_counter()
    config = TrainConfig(
        p=59, op="add", model="transformer", attention_rate=1.0, seed=seed, stop="accuracy"
    )
    typer.echo(
        f"[1/4] training a {config.model} on {config.task().name} (seed {seed}; the demo's fast "
        "stop at 100% accuracy, before the cleanup phase: `net2code train modular` trains on "
        "through it) ..."
    )
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
    for analysis in extraction.analyses.values():
        typer.echo(f"      {analysis.summary()}; see {output}/report.html")
    typer.echo("[4/4] benchmarking network vs program ...")
    measured = run_bench(output, config=BenchConfig(max_seconds=10))
    write_bench(measured, output)
    typer.echo("")
    if extraction.program is not None:  # program.py without its docstring header
        typer.echo(extraction.program.python().body.strip())
    typer.echo("")
    r = measured["ratios"]
    typer.echo(
        f"speed-up of program.py over the network: {r['throughput_batch_1']:,.0f}x at batch 1, "
        f"{r['throughput_batch_full']:,.1f}x at full batch (program_numpy.py); "
        f"peak memory {r['peak_rss_batch_1']:.0f}x smaller"
    )
    typer.echo(f"outputs in {output}/ ; total {time.perf_counter() - start:.0f}s")


@train_app.command("modular")
def train_modular(
    output: Output,
    op: Annotated[
        str, typer.Option(help="add, sub, mul, ... or an expression in a and b.")
    ] = "add",
    p: Annotated[int, typer.Option("--p", help="The modulus.")] = 59,
    model: Annotated[str, typer.Option(help="transformer, mlp or mlp-concat.")] = "transformer",
    attention_rate: Annotated[float, typer.Option(help="Alpha in [0, 1] (transformer).")] = 1.0,
    d_model: Annotated[int, typer.Option(help="Embedding width.")] = 128,
    d_mlp: Annotated[int | None, typer.Option(help="MLP width (default 4*d_model).")] = None,
    layers: Annotated[int, typer.Option(help="Transformer blocks (or MLP hidden layers).")] = 1,
    activation: Annotated[
        str, typer.Option(help="relu, gelu, gelu_tanh, tanh or square.")
    ] = "relu",
    layer_norm: Annotated[bool, typer.Option(help="Pre-LayerNorm (transformer).")] = False,
    diff_vocab: Annotated[
        bool, typer.Option(help="b gets its own tokens (the paper's diff_vocab).")
    ] = False,
    eqn_sign: Annotated[
        bool, typer.Option(help='Append an "=" token; logits read there (the paper\'s eqn_sign).')
    ] = False,
    seed: Seed = 0,
    train_fraction: Annotated[
        float, typer.Option(help="Share of the p*p pairs to train on.")
    ] = 0.8,
    weight_decay: Annotated[
        float, typer.Option(help="AdamW weight decay (2: the Clock/Pizza paper's).")
    ] = 2.0,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 1e-3,
    max_steps: Annotated[int, typer.Option(help="Upper bound on full-batch steps.")] = 20_000,
    min_steps: Annotated[
        int, typer.Option(help="Train at least this long (Fourier structure keeps sharpening).")
    ] = 0,
    stop: Annotated[
        str,
        typer.Option(
            help="cleanup: train on after 100% until Nanda's cleanup phase is over (key "
            "frequencies hold 80% of the embedding's energy, restricted loss low); accuracy: "
            "stop at 100%; auto: cleanup for transformers on add/sub."
        ),
    ] = "auto",
    no_progress: NoProgress = False,
) -> None:
    """Train on op(a, b) mod p and save a safetensors checkpoint with its config."""
    from .zoo.modular.train import TrainConfig, save_run, train

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
        n_layers=layers,
        activation=activation,
        layer_norm=layer_norm,
        diff_vocab=diff_vocab,
        eqn_sign=eqn_sign,
        stop=stop,
    )
    result = train(config, progress=not no_progress)
    save_run(result, output)
    s = result.summary()
    typer.echo(
        f"trained {config.model} on {config.task().name}: {s['steps']} steps in {s['seconds']}s, "
        f"train loss {s['train_loss']:.3g}, test accuracy {s['test_accuracy']:.4f}, "
        f"all pairs {s['full_domain_accuracy']:.4f} -> {output}"
    )
    typer.echo(f"stopped by {s['stop_reason']}")


def _seed_list(text: str) -> tuple[int, ...]:
    """'0..9' or '0,3,5'."""
    if ".." in text:
        lo, _, hi = text.partition("..")
        try:
            first, last = int(lo), int(hi)
        except ValueError:
            raise Net2CodeError(f"--seeds {text!r} is not a range like 0..9") from None
        if last < first or last - first >= 10_000:
            raise Net2CodeError(f"--seeds {text!r}: give first..last with 1 to 10,000 seeds")
        return tuple(range(first, last + 1))
    return _ints("--seeds", text)


@train_app.command("matmul")
def train_matmul(
    output: Output,
    shape: Annotated[str, typer.Option(help="n,m,p: A is n x m, B is m x p.")] = "2,2,2",
    rank: Annotated[int, typer.Option(help="Products R (Strassen: 7 for 2,2,2).")] = 7,
    seed: Seed = 0,
    seeds: Annotated[
        str | None, typer.Option(help="Several seeds in parallel, e.g. 0..9; the best is kept.")
    ] = None,
    restarts: Annotated[int, typer.Option(help="Networks trained at once per seed.")] = 32,
    plain_steps: Annotated[int, typer.Option(help="Adam steps before the penalty.")] = 2000,
    snap_steps: Annotated[
        int, typer.Option(help="Steps with the {-1, 0, 1} penalty and the L1 weight.")
    ] = 6000,
    max_seconds: Annotated[float, typer.Option(help="Time cap per seed.")] = 60.0,
    jobs: Annotated[int, typer.Option(help="Parallel seeds (-1: every core).")] = -1,
    no_progress: NoProgress = False,
) -> None:
    """Train bilinear networks c = W((U vec A) * (V vec B)) on random matrices, pushed to
    coefficients in {-1, 0, 1}; keep the best seed's network and every seed's outcome."""
    from .zoo.matmul.model import BilinearConfig, save_matmul_run
    from .zoo.matmul.scheme import parse_shape
    from .zoo.matmul.train import MatmulConfig, best_of, train_seed, train_seeds

    try:
        sides = parse_shape(shape)
    except ValueError as exc:
        raise Net2CodeError(f"--shape: {exc}") from None
    config = MatmulConfig(
        shape=sides,
        rank=rank,
        seed=seed,
        restarts=restarts,
        plain_steps=plain_steps,
        snap_steps=snap_steps,
        max_seconds=max_seconds,
    )
    start = time.perf_counter()
    if seeds is None:
        results = [train_seed(config, progress=not no_progress)]
    else:
        results = train_seeds(config, list(_seed_list(seeds)), n_jobs=jobs)
    best = best_of(results)
    training = {
        **config.to_dict(),
        "seeds": [r.summary() for r in results],
        "best_seed": best.config.seed,
        "exact_seeds": sum(r.exact for r in results),
        "wall_seconds": round(time.perf_counter() - start, 2),
    }
    save_matmul_run(
        output, best.weights, BilinearConfig(shape=sides, rank=rank), training, best.config.seed
    )
    n, m, p = sides
    typer.echo(
        f"rank {rank} for ({n}x{m})({m}x{p}): {training['exact_seeds']} of {len(results)} seeds "
        f"rounded to an exact scheme; best seed {best.config.seed} "
        f"({best.best.failing} Brent equations failing) in {training['wall_seconds']}s -> {output}"
    )


@train_app.command("rnn")
def train_rnn_command(
    output: Output,
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
    seed: Seed = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train an RNN h_t = f([h_{t-1}, x_t]), y_t = g(h_t) on sequence data (MIPS)."""
    from .zoo.sequence.data import load_npz, validate
    from .zoo.sequence.tasks import get_task
    from .zoo.sequence.train import RNNTrainConfig, save_rnn_run, train_rnn

    if (data is None) == (task is None):
        raise Net2CodeError("give exactly one of --data FILE.npz and --task NAME")
    config = RNNTrainConfig(
        hidden=hidden,
        width=width,
        search=search,
        sizes=_ints("--sizes", sizes),
        max_steps=max_steps,
        seed=seed,
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


def _train_thinking(task: str, output: Path, size: int, **options: Any) -> None:
    from .zoo.thinking.train import ThinkTrainConfig, train_thinking

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
Lr = Annotated[float, typer.Option(help="Adam learning rate.")]
Warmup = Annotated[int, typer.Option(help="Linear learning-rate warmup steps.")]


@train_app.command("maze")
def train_maze(
    output: Output,
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
def train_prefix_sums(
    output: Output,
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


@app.command(rich_help_panel=ZOO)
def data(
    task: Annotated[str, typer.Argument(help="A MIPS preset, e.g. Binary_Addition.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .npz to write.")],
    sequences: Annotated[int, typer.Option(help="How many sequences.")] = 20_000,
    length: Annotated[int, typer.Option(help="Steps per sequence.")] = 10,
    seed: Seed = 0,
) -> None:
    """Write a preset's data file (x, y) for `net2code train rnn --data`."""
    from .zoo.sequence.data import save_npz
    from .zoo.sequence.tasks import get_task

    preset = get_task(task)
    if sequences < 10 or length < 1:
        raise Net2CodeError(f"--sequences {sequences} must be >= 10 and --length {length} >= 1")
    x, y = preset.generate(sequences, length, seed)
    save_npz(output, x, y)
    typer.echo(f"{preset.name}: x {x.shape}, y {y.shape} -> {output}")


@app.command(rich_help_panel=ZOO)
def suite(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the table and runs.")
    ] = Path("runs/suite"),
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated preset names (default: all 22).")
    ] = None,
    jobs: Annotated[int, typer.Option(help="Parallel workers.")] = 2,
    seed: Seed = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train, extract and check every MIPS sequence task; write suite.md and suite.json."""
    from .zoo.sequence.suite import SuiteConfig, render, run_suite, solved
    from .zoo.sequence.tasks import TASKS

    names = tuple(t.strip() for t in tasks.split(",")) if tasks else tuple(TASKS)
    rows = run_suite(
        SuiteConfig(tasks=names, n_jobs=jobs, seed=seed), output, progress=not no_progress
    )
    typer.echo(render(rows, 0.0).rsplit("\n\n", 1)[0])
    typer.echo(f"{sum(solved(r) for r in rows)} of {len(rows)} solved -> {output}/suite.md")


@app.command(rich_help_panel=ZOO)
def sweep(
    output: Output,
    attention_rates: Annotated[
        str, typer.Option(help="Comma-separated alphas.")
    ] = "0,0.2,0.4,0.6,0.8,1",
    widths: Annotated[str, typer.Option(help="Comma-separated d_model values.")] = "32,64",
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "0,1",
    p: Annotated[int, typer.Option("--p", help="The modulus.")] = 59,
    max_steps: Annotated[int, typer.Option(help="Steps per run at most.")] = 4000,
    min_steps: Annotated[int, typer.Option(help="Steps per run at least.")] = 2000,
    jobs: Jobs = -1,
    backend: Backend = "loky",
    scheduler: Scheduler = None,
    no_progress: NoProgress = False,
) -> None:
    """Train and classify many transformers (attention rate x width x seed) in parallel."""
    from .zoo.modular.sweep import SweepConfig, class_fractions
    from .zoo.modular.sweep import sweep as run_sweep

    config = SweepConfig(
        attention_rates=_floats("--attention-rates", attention_rates),
        widths=_ints("--widths", widths),
        seeds=_ints("--seeds", seeds),
        p=p,
        max_steps=max_steps,
        min_steps=min_steps,
        n_jobs=jobs,
        backend=backend,
    )
    rows = run_sweep(config, output, scheduler=scheduler, progress=not no_progress)
    for rate, fractions in class_fractions(rows).items():
        typer.echo(f"alpha {rate:g}: " + ", ".join(f"{k} {v:.2f}" for k, v in fractions.items()))
    typer.echo(f"{len(rows)} runs -> {output}/sweep.md, sweep.csv, sweep.json, phase.png")


@app.command("reproduce-pizza", rich_help_panel=ZOO)
def reproduce_pizza(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Checkpoints: .pt/.pth state dicts with JSON configs (the paper's save/, "
            "Nanda's runs, TransformerLens) or net2code run folders."
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for pizza.md/.csv/.json.")
    ] = Path("runs/pizza"),
    no_progress: NoProgress = False,
) -> None:
    """The Clock/Pizza analysis over a folder of checkpoints: one row per model (alpha, layers,
    width, DI, GS, circularity, per-circle FVE, class, the faithful program's agreement)."""
    from .zoo.modular.reproduce import run

    rows = run(folder, output, progress=not no_progress)
    for row in rows:
        typer.echo(f"{row['model']}: {row['class'] or row['note']}")
    typer.echo(f"{len(rows)} models -> {output}/pizza.md, pizza.csv, pizza.json")


@app.command(rich_help_panel=ZOO)
def surgery(
    path: Annotated[Path, typer.Argument(help="A run folder of a modular-addition network.")],
    p: Annotated[int, typer.Option("--p", help="The new modulus p'.")],
    output: Output,
) -> None:
    """Move the network's algorithm to Z_p': a program, and a rebuilt network, for p'."""
    from .zoo.modular.surgery import run_surgery

    result = run_surgery(path, p, output)
    truth = next(c for c in result["checks"] if c["against"] == "truth")
    rebuilt = next(c for c in result["checks"] if c["against"] == "network")
    accuracy = result["feed-forward"]["surgery"]["network_accuracy"]
    typer.echo(
        f"program for p'={p}: correct on {truth['n_agree']:,}/{truth['n']:,} pairs against "
        f"(a + b) mod p' (exhaustive); rebuilt network {100 * accuracy:.2f}% accurate on Z_{p}, "
        f"agreeing with the program on {rebuilt['n_agree']:,} pairs -> {output}"
    )


@app.command(rich_help_panel=ZOO)
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
    """Extrapolation of a DT-net: exact match by size x test iterations -> eval.json, eval.md."""
    from .zoo.thinking.evaluate import EvaluateConfig, evaluate_run, render_eval

    config = EvaluateConfig(
        sizes=_ints("--sizes", sizes) if sizes else None,
        iters=_ints("--iters", iters) if iters else None,
        count=count,
        large_count=large_count,
        stop=not no_stop,
        error_correction=not no_error_correction,
    )
    result = evaluate_run(path, config, progress=not no_progress)
    typer.echo(render_eval(result).rstrip())
    typer.echo(f"-> {path}/eval.json, {path}/eval.md")


# ------------------------------------------------------------------- learned decompiler
def _space(text: str) -> Any:
    from .zoo.decompiler.programs import Space

    kind, _, number = text.partition(":")
    if kind not in ("boolean", "modular") or not number.isdigit():
        raise Net2CodeError(f"--space {text!r} must be boolean:K or modular:P, e.g. boolean:4")
    return Space(kind, k=int(number)) if kind == "boolean" else Space(kind, p=int(number))


@decompiler_app.command("zoo")
def decompiler_zoo(
    output: Output,
    space: Annotated[str, typer.Option(help="boolean:K (K bits) or modular:P.")] = "boolean:4",
    programs: Annotated[int, typer.Option(help="Programs to sample (one per semantics).")] = 20_000,
    sizes: Annotated[str, typer.Option(help="Program sizes in nodes, low,high.")] = "1,25",
    draw_sizes: Annotated[
        str, typer.Option(help="Sizes of the random trees drawn (which functions), low,high.")
    ] = "1,40",
    form: Annotated[
        str | None,
        typer.Option(
            help="How each function is written: expansion (one spelling per function, each "
            "input before what it guards; boolean spaces' default), canonical (the same, "
            "operands sorted) or shrunk (the smallest tree drawn, pruned; modular's default)."
        ),
    ] = None,
    widths: Annotated[str, typer.Option(help="Hidden widths, comma-separated.")] = "16,32",
    seeds: Annotated[str, typer.Option(help="Network seeds, comma-separated.")] = "0,1",
    steps: Annotated[int, typer.Option(help="Adam steps per network.")] = 600,
    jobs: Jobs = -1,
    backend: Backend = "loky",
    scheduler: Scheduler = None,
    seed: Seed = 0,
    no_progress: NoProgress = False,
) -> None:
    """Sample programs and train networks to imitate them -> shards/, manifest.jsonl."""
    from joblib import parallel_config

    from ._util import JOBLIB_BACKENDS, joblib_backend
    from .zoo.decompiler.programs import sample_programs
    from .zoo.decompiler.zoo import ZooConfig, build_zoo, read_manifest

    if backend not in JOBLIB_BACKENDS:  # before minutes of sampling
        raise Net2CodeError(f"--backend {backend!r} is unknown; choose one of {JOBLIB_BACKENDS}")
    chosen = _space(space)
    form = chosen.form(form)
    bounds = _ints("--sizes", sizes)
    if len(bounds) != 2:
        raise Net2CodeError(f"--sizes {sizes!r} must be two numbers, low,high")
    low, high = bounds
    drawn = _ints("--draw-sizes", draw_sizes)
    if len(drawn) != 2:
        raise Net2CodeError(f"--draw-sizes {draw_sizes!r} must be two numbers, low,high")
    config = ZooConfig(widths=_ints("--widths", widths), seeds=_ints("--seeds", seeds), steps=steps)
    if programs < 1:
        raise Net2CodeError(f"--programs {programs} must be at least 1")
    sampled = sample_programs(
        chosen,
        programs,
        sizes=(low, high),
        draw_sizes=(drawn[0], drawn[1]),
        seed=seed,
        form=form,
    )
    client = joblib_backend(backend, scheduler)
    try:
        with parallel_config(backend=backend):
            build_zoo(
                chosen,
                sampled,
                output,
                config,
                jobs=jobs,
                progress=not no_progress,
                sampler={
                    "programs": programs,
                    "sizes": [low, high],
                    "draw_sizes": list(drawn),
                    "seed": seed,
                },
            )
    finally:
        if client is not None:
            client.close()
    rows = read_manifest(output)
    matched = sum(row["matched"] for row in rows)
    typer.echo(
        f"{len(sampled):,} programs, {len(rows):,} networks ({matched:,} match their program "
        f"everywhere) -> {output}"
    )


@decompiler_app.command("train")
def decompiler_train(
    zoo: Annotated[list[Path], typer.Option(help="A zoo folder (repeatable).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .safetensors to write.")],
    minutes: Annotated[float, typer.Option(help="Wall-clock limit.")] = 30.0,
    steps: Annotated[
        int,
        typer.Option(help="Most optimiser steps; the schedule ends at these or --minutes."),
    ] = 7_000,
    batch: Annotated[int, typer.Option(help="Networks per step.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, cosine).")] = 1e-3,
    pool: Annotated[
        int,
        typer.Option(help="Batches drawn at once and cut by program length (1: no bucketing)."),
    ] = 16,
    d_model: Annotated[int, typer.Option(help="Width of the meta-model.")] = 128,
    encoder_layers: Annotated[
        int, typer.Option(help="Transformer layers over the neuron tokens.")
    ] = 2,
    decoder_layers: Annotated[
        int, typer.Option(help="Transformer layers of the program decoder.")
    ] = 3,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 2,
    device: Annotated[
        str, typer.Option(help="cpu, or cuda for a bigger run on a GPU (the shipped models: cpu).")
    ] = "cpu",
    half: Annotated[
        bool, typer.Option(help="Store the weights as 16-bit floats (half the file).")
    ] = False,
    seed: Seed = 0,
    no_progress: NoProgress = False,
) -> None:
    """Train the meta-model on zoo folders (their train split) -> one safetensors file."""
    import json

    from .zoo.decompiler.model import ModelConfig
    from .zoo.decompiler.programs import Space
    from .zoo.decompiler.train import TrainConfig, train

    if output.suffix != ".safetensors":
        raise Net2CodeError(f"--output {str(output)!r} must end in .safetensors")
    summaries = []
    for folder in zoo:
        summary_file = folder / "zoo.json"
        if not summary_file.is_file():
            raise Net2CodeError(f"{summary_file} is missing: build it with `decompiler zoo`")
        summaries.append(json.loads(summary_file.read_text())["space"])
    if any(s != summaries[0] for s in summaries):
        raise Net2CodeError("the zoo folders hold different program spaces")
    model, record = train(
        zoo,
        Space.from_dict(summaries[0]),
        ModelConfig(d_model=d_model, encoder_layers=encoder_layers, decoder_layers=decoder_layers),
        TrainConfig(
            steps=steps,
            minutes=minutes,
            batch=batch,
            lr=lr,
            pool=pool,
            seed=seed,
            threads=threads,
            device=device,
        ),
        progress=not no_progress,
        log=None if no_progress else lambda point: typer.echo(f"\n{point}", err=True),
    )
    record["name"] = output.stem
    model.save(output, record, half=half)
    typer.echo(
        f"{record['steps_run']:,} steps in {record['minutes']:.1f} min ({device}) on "
        f"{record['train_networks']:,} networks; validation exact match (greedy) "
        f"{record['validation_exact']} -> {output}"
    )


def main() -> None:
    """Run the command line. Every error is handled here: net2code's own, and a file the
    system will not let us read or write, become one line on stderr and exit 2 (typer handles
    usage errors and exits, and turns an interrupt into exit 130)."""
    try:
        app(prog_name="net2code")
    except Net2CodeError as exc:
        typer.echo(f"net2code: error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except OSError as exc:
        typer.echo(f"net2code: error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
