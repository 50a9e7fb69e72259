"""The iterated family: a block applied again and again until the answer settles (DT-nets).

* Network: net2code's DT-net (Bansal et al. 2022), 2-D on mazes or 1-D on bit strings. Its
  answer to a problem is its prediction at the stopping rule (`settle`): every counted pixel's
  top probability >= 0.9 and no change for 10 iterations, so nobody guesses an iteration count.
* Domain: `ProblemDomain`: every problem of a small size (all 13,824 5x5 mazes; all 4,096
  12-bit strings), then sampled problems from the training size up.
* Observe: 200 fresh problems of the training size with the network's answers, and for mazes
  the rule table learned from its trajectories on 200 mazes each of the training size and 4
  larger (`strategies/rules.py`).
* Strategies: deletion-only, by-count, rule-table (mazes); scan (bit strings).
* Verified by: every problem of the small size (exhaustive), the NumPy variant and program.py
  both; the sampled sizes time network and program on the same problems, in one run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks import MAX_LISTED, Check
from ..domain import ProblemDomain
from ..emit import NUMPY_FILE, PROGRAM_FILE, load_function
from ..errors import ConfigError
from ..network import Network
from ..strategies.base import Candidate
from ..strategies.rules import IterationBehaviour
from . import Options, Workload

if TYPE_CHECKING:
    import torch

    from ..checkpoint import RunFolder
    from ..zoo.thinking.model import DTNet

VERIFY_SEED = 4242
MAZE_SIZES = (9, 13, 21, 33, 59)
BIT_SIZES = (32, 64, 128, 256, 512)
EXHAUSTIVE_MAZE = 5  # every 5x5 maze: 192 spanning trees x 72 start-end pairs
EXHAUSTIVE_BITS = 12  # every 12-bit string
COUNT = 100  # sampled problems per size
LARGE_COUNT = 30  # above 33x33 mazes or 256 bits
OBSERVED = 200  # problems the candidates are compared on, and mazes per size the table reads
PROGRAM_ONLY = {"maze": (201, 20), "bits": (10_000, 20)}  # too large for the network on a CPU
STRATEGIES = ("deletion-only", "by-count", "rule-table", "scan")


@dataclass(repr=False, kw_only=True)
class IteratedNetwork(Network):
    """A DT-net and the problem it was trained on (mazes or bit strings) at `train_size`."""

    problem: str
    train_size: int

    @property
    def model(self) -> DTNet:
        return self.module

    def signature(self) -> dict[str, Any]:
        config = self.model.config
        return {
            "problem": self.problem,
            "dim": config.dim,
            "width": config.width,
            "recall": config.recall,
            "kind": config.kind,
            "train_size": self.train_size,
        }


def from_run(module: Any, config: Any, run: RunFolder) -> IteratedNetwork:
    problem = "maze" if config.dim == 2 else "bits"
    size = run.training.get("size", 9 if problem == "maze" else 32)
    params = sum(p.numel() for p in module.parameters())
    recall = "recall" if config.recall else "no-recall"
    return IteratedNetwork(
        description=f"{recall} {config.kind} on {problem} (width {config.width}, "
        f"{params:,} parameters)",
        source=str(run.path),
        n_parameters=params,
        module=module,
        architecture=config.kind,
        run=run.config,
        problem=problem,
        train_size=int(size),
    )


def iteration_cap(problem: str, size: int) -> int:
    """Iterations worth trying at a size: the information has to cross the problem."""
    if problem == "maze":
        return max(100, (size + 2) ** 2 // 2)
    return max(100, 2 * size)


def check_sizes(problem: str, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Fail before any work if a size is out of range."""
    from ..zoo.thinking.data import MAX_BITS, check_maze_size

    for size in sizes:
        if problem == "maze":
            check_maze_size(size)
        elif not 1 <= size <= MAX_BITS:
            raise ConfigError(f"bit-string length {size} must be in 1..{MAX_BITS}")
    return tuple(sizes)


def problems(problem: str, size: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` seeded problems of `size`: (problems, labels): pixel kinds (n, H, W) or bits
    (n, L), with the true answers (for the checks against the truth only)."""
    from ..zoo.thinking.data import make_mazes, make_prefix_sums

    if problem == "maze":
        mazes = make_mazes(count, size, seed)
        return mazes.kinds, mazes.labels
    data = make_prefix_sums(count, size, seed)
    return data.bits, data.labels


def encode(problem: str, items: np.ndarray) -> np.ndarray:
    """Problems as the network's input: RGB mazes (n, 3, H, W) or bits (n, 1, L) float32."""
    from ..zoo.thinking.data import COLOURS

    if problem == "maze":
        return np.ascontiguousarray(COLOURS[items].transpose(0, 3, 1, 2))
    return items[:, None, :].astype(np.float32)


def counted(problem: str, items: np.ndarray) -> np.ndarray:
    """The positions an answer is judged on: non-wall pixels, or every bit."""
    return items != 0 if problem == "maze" else np.ones(items.shape, dtype=bool)


def settle(
    model: DTNet,
    x: torch.Tensor,
    mask: torch.Tensor,
    *,
    max_iters: int,
    threshold: float = 0.9,
    patience: int = 10,
    batch: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """The network's answers at its stopping rule: each problem stops once every counted
    position is confident (top probability >= `threshold`) and the prediction has not changed
    for `patience` iterations (or at `max_iters`). Returns the iterations used (n,) and the
    answers (n, *spatial) uint8."""
    import torch

    if not 0.5 <= threshold < 1 or patience < 1:
        raise ConfigError(f"threshold {threshold} must be in [0.5, 1) and patience {patience} >= 1")
    n_all = len(x)
    stops = np.full(n_all, max_iters, dtype=np.int64)
    answers = np.zeros((n_all, *x.shape[2:]), dtype=np.uint8)
    model.eval()
    with torch.no_grad():
        for begin in range(0, n_all, batch):
            part = slice(begin, min(n_all, begin + batch))
            xs, ms = x[part], mask[part]
            n = len(xs)
            state = model.initial_state(xs)
            prev = None
            still = torch.zeros(n, dtype=torch.long)
            done = torch.zeros(n, dtype=torch.bool)
            stop_at = torch.full((n,), max_iters, dtype=torch.long)
            answer = torch.zeros((n, *xs.shape[2:]), dtype=torch.uint8)
            for t in range(1, max_iters + 1):
                state = model.step(state, xs, t - 1)
                logits = model.readout(state)
                prob = torch.softmax(logits, 1).amax(1)  # (n, *spatial)
                confident = ((prob >= threshold) | ~ms).flatten(1).all(1)
                pred = logits.argmax(1)
                same = (
                    torch.zeros(n, dtype=torch.bool)
                    if prev is None
                    else ((pred == prev) | ~ms).flatten(1).all(1)
                )
                still = torch.where(same & confident, still + 1, torch.zeros_like(still))
                newly = (still >= patience) & ~done
                if t == max_iters:
                    newly = ~done
                if newly.any():
                    answer[newly] = pred[newly].to(torch.uint8)
                    stop_at[newly] = t
                    done |= newly
                if bool(done.all()):
                    break
                prev = pred
            stops[part] = stop_at.numpy()
            answers[part] = answer.numpy()
    return stops, answers


def answers_of(
    network: IteratedNetwork, items: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The network's answers on problems of one size (batched by area), and the iterations."""
    import torch

    x = torch.from_numpy(encode(network.problem, items))
    mask = torch.from_numpy(counted(network.problem, items))
    area = int(np.prod(items.shape[1:]))
    batch = max(50, min(1000, 20_000 // area))
    stops, answers = settle(
        network.model, x, mask, max_iters=iteration_cap(network.problem, size), batch=batch
    )
    answers[~counted(network.problem, items)] = 0
    return stops, answers


def _agree(problem: str, items: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per problem: equal on every counted position.  # (n,)"""
    same = (a == b) | ~counted(problem, items)
    return same.reshape(len(same), -1).all(1)


def _listed(problem: str, items: np.ndarray, ok: np.ndarray) -> tuple[dict[str, Any], ...]:
    """The first disagreeing problems, by index (and the bits, for short strings)."""
    out = []
    for i in np.flatnonzero(~ok)[:MAX_LISTED].tolist():
        entry: dict[str, Any] = {"problem": i}
        if problem == "bits" and items.shape[1] <= 64:
            entry["bits"] = "".join(str(int(v)) for v in items[i])
        out.append(entry)
    return tuple(out)


def _time_network(model: DTNet, x: torch.Tensor, iters: int, batch: int = 50) -> float:
    import torch

    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            model(x[i : i + batch], iters)[0].argmax(1)
    return time.perf_counter() - start


class Iterated:
    name = "iterated"
    options = frozenset({"sizes", "count"})
    report_options = frozenset({"compare", "size"})

    def claims(self, network: Network) -> bool:
        return isinstance(network, IteratedNetwork)

    def domain(self, network: Network, options: Options) -> ProblemDomain:
        assert isinstance(network, IteratedNetwork)
        if not network.model.recurrent:
            raise ConfigError(
                f"{network.source or network.description} holds a feed-forward net "
                f"({network.model.config.kind}); only recurrent DT-nets have a rule"
            )
        problem = network.problem
        default = MAZE_SIZES if problem == "maze" else BIT_SIZES
        sizes = check_sizes(problem, options.sizes or default)
        if options.count is not None and options.count < 1:
            raise ConfigError(f"--count {options.count} must be >= 1")
        small = EXHAUSTIVE_MAZE if problem == "maze" else EXHAUSTIVE_BITS
        from ..zoo.thinking.data import maze_count

        every = maze_count(small) if problem == "maze" else 2**small
        return ProblemDomain(problem, small, every, sizes, network.train_size)

    def strategies(self, domain: ProblemDomain) -> tuple[str, ...]:
        return STRATEGIES

    def observe(
        self, network: Network, domain: ProblemDomain, options: Options, progress: bool
    ) -> IterationBehaviour:
        assert isinstance(network, IteratedNetwork)
        from ..strategies.rules import learn_rule

        problem, size = network.problem, network.train_size
        if problem == "bits":
            size = 2 * size  # a 1-bit probe cannot read trajectories: fit the answers, longer
        items, _ = problems(problem, size, OBSERVED, VERIFY_SEED + 1)
        _, answers = answers_of(network, items, size)

        def learn() -> Any:
            mazes = [problems(problem, s, OBSERVED, 77)[0] for s in (size, size + 4)]
            warmup = problems(problem, size, 50, 78)[0]
            return learn_rule(
                network.model,
                mazes,
                lambda kinds: encode(problem, kinds),
                warmup=warmup,
                progress=progress,
            )

        return IterationBehaviour(
            network.model, problem, items, answers, learn if problem == "maze" else None
        )

    def screen(self, observation: IterationBehaviour, candidate: Candidate) -> float:
        return float(candidate.stats.get("agreement_with_network", 0.0))

    def checks(
        self,
        network: Network,
        domain: ProblemDomain,
        files: dict[str, str],
        options: Options,
        *,
        evidence: dict[str, Any],
        quick: bool = False,
        progress: bool = False,
    ) -> list[Check]:
        from tqdm.auto import tqdm

        from ..zoo.thinking.data import all_bit_strings, all_mazes

        assert isinstance(network, IteratedNetwork)
        problem = network.problem
        if PROGRAM_FILE not in files:
            return []
        program = load_function(files[PROGRAM_FILE])
        unit = "mazes" if problem == "maze" else "bit strings"
        small = domain.exhaustive_size
        items = all_mazes(small).kinds if problem == "maze" else all_bit_strings(small).bits
        _, answers = answers_of(network, items, small)
        what = f"every {small}x{small} maze" if problem == "maze" else f"every {small}-bit string"
        runs = []  # (check name, outputs, how they were made, defining)
        if NUMPY_FILE in files:
            batch = np.asarray(load_function(files[NUMPY_FILE])(items))
            runs.append(("network", batch, f"{NUMPY_FILE} on {what} ({len(items):,})", True))
        outputs = np.stack([np.asarray(program(item)) for item in items])
        alone = NUMPY_FILE not in files  # then program.py is the file that decides
        runs.append(("program.py", outputs, f"{PROGRAM_FILE} on {what}, one at a time", alone))
        checks = []
        for name, values, how, defining in runs:
            ok = _agree(problem, items, values, answers)
            checks.append(
                Check(
                    name=name,
                    against="network",
                    scope="exhaustive",
                    n=len(items),
                    n_agree=int(ok.sum()),
                    unit=unit,
                    size=small,
                    description=f"{how}, against the network's answer at its stopping rule",
                    defining=defining,
                    disagreements=_listed(problem, items, ok),
                )
            )
        if quick:
            return checks
        count = options.count or COUNT
        large = 33 if problem == "maze" else 256
        for size in tqdm(domain.sizes, disable=not progress, desc="check", unit="size"):
            n = LARGE_COUNT if size > large and options.count is None else count
            checks += self._sampled(network, program, size, n, options.seed, size == small)
        size, n = PROGRAM_ONLY[problem]
        items, labels = problems(problem, size, n, VERIFY_SEED)
        start = time.perf_counter()
        answered = [np.asarray(program(item)) for item in items]
        seconds = time.perf_counter() - start
        ok = np.array([np.array_equal(o, y) for o, y in zip(answered, labels, strict=True)])
        checks.append(
            Check(
                name=f"truth at {size}",
                against="truth",
                scope="sampled",
                n=n,
                n_agree=int(ok.sum()),
                unit=unit,
                size=size,
                description=f"{PROGRAM_FILE} against the true answer on {n} problems too large "
                "to run the network on here",
                within_domain=False,
                details={"program_ms_per_problem": round(1000 * seconds / n, 2)},
            )
        )
        return checks

    def _sampled(
        self, network: IteratedNetwork, program: Any, size: int, n: int, seed: int, within: bool
    ) -> list[Check]:
        """Network and program on the same `n` held-out problems of `size`, both timed."""
        import torch

        problem = network.problem
        unit = "mazes" if problem == "maze" else "bit strings"
        items, labels = problems(problem, size, n, VERIFY_SEED + seed)
        stops, answers = answers_of(network, items, size)
        start = time.perf_counter()
        outputs = np.stack([np.asarray(program(item)) for item in items]).astype(np.uint8)
        program_s = time.perf_counter() - start
        mean_iters = max(1, int(round(float(stops.mean()))))
        network_s = _time_network(
            network.model, torch.from_numpy(encode(problem, items)), mean_iters
        )
        agree = _agree(problem, items, outputs, answers)
        net_ok = _agree(problem, items, answers, labels)
        rule_ok = _agree(problem, items, outputs, labels)
        details = {
            "network_iterations_mean": round(float(stops.mean()), 1),
            "network_hit_cap": int((stops >= iteration_cap(problem, size)).sum()),
            "iteration_cap": iteration_cap(problem, size),
            "network_solved": float(net_ok.mean()),
            "program_solved": float(rule_ok.mean()),
            "agreement_on_solved": float(agree[net_ok].mean()) if net_ok.any() else None,
            "network_ms_per_problem": round(1000 * network_s / n, 3),
            "program_ms_per_problem": round(1000 * program_s / n, 3),
            "speedup": round(network_s / max(program_s, 1e-9), 1),
        }
        return [
            Check(
                name=f"network at {size}",
                against="network",
                scope="sampled",
                n=n,
                n_agree=int(agree.sum()),
                unit=unit,
                size=size,
                description=f"{PROGRAM_FILE} on {n} held-out problems of size {size}, against "
                "the network at its stopping rule (both timed on them)",
                within_domain=within,
                disagreements=_listed(problem, items, agree),
                details=details,
            ),
            Check(
                name=f"truth at {size}",
                against="truth",
                scope="sampled",
                n=n,
                n_agree=int(rule_ok.sum()),
                unit=unit,
                size=size,
                description=f"{PROGRAM_FILE} against the true answer on the same {n} problems",
                within_domain=within,
            ),
        ]

    def section(
        self,
        network: Network,
        observation: IterationBehaviour,
        candidate: Candidate,
        options: Options,
    ) -> dict[str, Any]:
        assert isinstance(network, IteratedNetwork)
        return {
            "problem": network.problem,
            "train_size": network.train_size,
            "observed_problems": len(observation.problems),
            "rule": {k: v for k, v in candidate.stats.items() if k not in ("table", "by_count")},
            "table": candidate.stats.get("table"),
            "by_count": candidate.stats.get("by_count"),
        }

    def report(self, result: dict[str, Any]) -> list[str]:
        rows = [c for c in result["checks"] if c["name"].startswith("network at ")]
        rule = result["iterated"]["rule"]
        lines = ["## Rule", ""]
        if rule.get("description"):
            lines.append(f"- rule: {rule['description']}")
        if rule.get("consistency") is not None:
            lines.append(
                f"- consistency with the network's transitions: {100 * rule['consistency']:.3f}%"
            )
        lines += [
            "",
            "| size | n | net iters (mean) | net solved | program solved | agreement | agreement "
            "on solved | net ms | program ms | speed-up |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for check in rows:
            d = check["details"]
            on_solved = d["agreement_on_solved"]
            lines.append(
                f"| {check['size']} | {check['n']} | {d['network_iterations_mean']} | "
                f"{100 * d['network_solved']:.1f}% | {100 * d['program_solved']:.1f}% | "
                f"{100 * check['agreement']:.1f}% | "
                f"{'n/a' if on_solved is None else f'{100 * on_solved:.1f}%'} | "
                f"{d['network_ms_per_problem']} | {d['program_ms_per_problem']} | "
                f"{d['speedup']}x |"
            )
        for check in result["checks"]:
            if check["name"].startswith("truth at ") and "program_ms_per_problem" in check.get(
                "details", {}
            ):
                lines.append(
                    f"| {check['size']} | {check['n']} | not run | - | "
                    f"{100 * check['agreement']:.1f}% | - | - | - | "
                    f"{check['details']['program_ms_per_problem']} | - |"
                )
        return [*lines, ""]

    def figures(
        self, network: Network, result: dict[str, Any], folder: Path, **options: Any
    ) -> tuple[dict[str, bytes], list[str]]:
        """Pictures of a maze or string, the network thinking, its answer beside the label and
        the rule's, and accuracy against iterations (from eval.json)."""
        from ..zoo.thinking.pictures import pictures

        assert isinstance(network, IteratedNetwork)
        file = folder / PROGRAM_FILE
        program = load_function(file.read_text(encoding="utf-8")) if file.is_file() else None
        return pictures(network, folder, program, options.get("compare"), options.get("size"))

    def workload(self, network: Network, result: dict[str, Any]) -> Workload:
        assert isinstance(network, IteratedNetwork)
        items, _ = problems(network.problem, network.train_size, 100, VERIFY_SEED)
        unit = "mazes" if network.problem == "maze" else "bit strings"
        return Workload(unit=unit, call="item", items=items.tolist())

    def runner(self, network: Network, result: dict[str, Any]) -> Callable[[Any], Any]:
        assert isinstance(network, IteratedNetwork)
        margin = 2 if network.problem == "maze" else 0  # a maze of size n has n + 2 pixels

        def run(batch: Any) -> Any:
            items = np.asarray(batch, dtype=np.uint8)
            return answers_of(network, items, int(items.shape[-1]) - margin)[1]

        return run
