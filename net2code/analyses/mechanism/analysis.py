"""Fourier analysis and the diagnostics of "The Clock and the Pizza".

Everything here reads the network itself: its embedding, its hidden activations, its logits
and their gradients. The "correct" class of (a, b) is the network's own argmax, never a label.

Definitions (Zhong, Liu, Tegmark, Andreas 2023; Nanda et al. 2023):
* key frequencies: the embedding's DFT over tokens; the set is cut at the largest energy gap;
* neuron frequencies: each hidden neuron's 2-D DFT over (a, b), its dominant frequency;
* circularity: PCA of the embedding; for each of the top 4 components, the share of its
  variance held by its single best DFT frequency; their mean (the paper: below ~0.99 is
  non-circular; reported, see `classify` for what decides);
* gradient symmetricity: mean cosine of d logit_c / d E_a and d logit_c / d E_b over 100
  seeded random triples (forced to 1 when inputs enter as E_a + E_b);
* distance irrelevance: the correct-class logit laid out by s = a+b, d = a-b (mod p):
  mean_d std_s L[s, d] / std(L); near 0 is Pizza, near 1 Clock;
* logit FVE per circle, as the paper's evaluation code computes it (`circle_fve`): every part
  of the embedding zeroed except one circle; the network run on all p^2 pairs with that
  ablated embedding; the z-scored (a, b, c) logits against each z-scored template at the
  circle's frequency: Clock cos(w(a+b-c)), Pizza 2|cos(w(a-b)/2)|(|cos(w(a+b-c)/2)| -
  |sin(w(a+b-c)/2)|), accompanying pizza -(cos(wc)(cos 2wa + cos 2wb) + sin(wc)(sin 2wa +
  sin 2wb)) with w at the frequency the circle doubles; FVE = 1 - Var(L - T) / Var(L). The
  circle is the embedding's projection on frequency k (the paper: a pair of its 20 principal
  components, kept as `per_circle_fve_pca`; the same plane unless PCA mixes two circles);
* logit fit over all keys (`logit_fit_clock`, `logit_fit_pizza`; not the paper's FVE): the
  least-squares fit of the intact network's z-scored logits by every key circle's templates.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

MAX_KEYS = 12


@dataclass
class Mechanism:
    """What the weights say the network does, with the numbers behind the call."""

    p: int
    kind: str  # clock, pizza, mixed or non-circular
    frequencies: list[int]
    metrics: dict[str, float]
    reasons: list[str]
    embedding_spectrum: list[float]  # energy share of k = 1..(p-1)//2
    circles: list[dict[str, Any]] = field(default_factory=list)  # PCA pairs and their frequency
    neuron_frequencies: dict[int, int] = field(default_factory=dict)  # k -> number of neurons
    neuron_census: list[dict[str, Any]] = field(default_factory=list)  # the same, per layer
    per_circle_fve: dict[int, dict[str, Any]] = field(default_factory=dict)
    per_circle_fve_pca: dict[int, dict[str, Any]] = field(default_factory=dict)  # paper's code
    accompanying: dict[int, int] = field(default_factory=dict)  # k -> the key it doubles

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["class"] = data.pop("kind")
        return data


def _basis(p: int, k: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = 2 * np.pi * k / p
    return np.cos(w * x), np.sin(w * x)


def spectrum(matrix: np.ndarray, p: int) -> np.ndarray:
    """Energy share of each frequency k = 1..(p-1)//2 along axis 0.  # (p, d) -> (K,)"""
    centred = matrix - matrix.mean(axis=0, keepdims=True)
    coefficients = np.fft.rfft(centred, axis=0)  # (p//2 + 1, d)
    energy = (np.abs(coefficients[1 : (p - 1) // 2 + 1]) ** 2).sum(axis=1)
    total = energy.sum()
    return energy / total if total > 0 else energy


def key_frequencies(shares: np.ndarray) -> list[int]:
    """The top frequencies up to the largest drop in energy (ratio of consecutive shares)."""
    order = np.argsort(shares)[::-1]
    top = shares[order[: MAX_KEYS + 1]]
    ratios = top[:-1] / np.maximum(top[1:], 1e-12)
    cut = int(np.argmax(ratios)) + 1
    return sorted(int(k) + 1 for k in order[:cut])


def input_rows(module: Any, p: int) -> tuple[np.ndarray, np.ndarray]:
    """The embedding rows of a's and of b's p tokens.  # each (p, d_model) float64

    They are the same rows unless the network gives b its own vocabulary (`diff_vocab`)."""
    if hasattr(module, "input_rows"):
        rows_a, rows_b = module.input_rows(p)
        return rows_a.detach().double().numpy(), rows_b.detach().double().numpy()
    rows = module.embed.weight.detach().double().numpy()[:p]
    return rows, rows


def _grid(p: int) -> torch.Tensor:
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    return torch.from_numpy(np.stack([a.reshape(-1), b.reshape(-1)], axis=1))  # (p*p, 2)


@torch.no_grad()
def logit_tensor(module: Any, p: int) -> np.ndarray:
    """Logits on every pair.  # (p, p, p) float64, indexed [a, b, c]"""
    module.eval()
    return module(_grid(p)).double().numpy().reshape(p, p, -1)


def circularity(embedding: np.ndarray, p: int) -> tuple[float, list[dict[str, Any]]]:
    """Mean best-frequency share of the top 4 principal components, and the PCA circles."""
    centred = embedding - embedding.mean(axis=0, keepdims=True)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    components = centred @ vt.T  # (p, rank): token coordinates on each component
    shares, best = [], []
    for i in range(min(8, components.shape[1])):
        column = components[:, i] / (np.linalg.norm(components[:, i]) + 1e-12)
        energy = np.abs(np.fft.rfft(column))[1:] ** 2
        energy = energy[: (p - 1) // 2]
        shares.append(float(energy.max() / max(energy.sum(), 1e-12)))
        best.append(int(np.argmax(energy)) + 1)
    variance = singular**2 / (singular**2).sum()
    circles = [
        {
            "components": [i, i + 1],
            "frequencies": [best[i], best[i + 1]],
            "variance": float(variance[i] + variance[i + 1]),
            "is_circle": best[i] == best[i + 1],
        }
        for i in range(0, min(8, len(best)) - 1, 2)
    ]
    return float(np.mean(shares[:4])), circles


def layer_activations(module: Any, p: int) -> list[np.ndarray]:
    """Every hidden layer's activations on all pairs.  # n_layers x (p*p, width)"""
    with torch.no_grad():
        if hasattr(module, "layer_activations"):
            layers = module.layer_activations(_grid(p))
        else:
            layers = [module.hidden_activations(_grid(p))]
    return [layer.double().numpy() for layer in layers]


def neuron_frequencies(
    module: Any, p: int, acts: np.ndarray | None = None
) -> tuple[dict[int, int], float]:
    """Each hidden neuron's dominant frequency in its 2-D DFT over (a, b) (Nanda et al.),
    counted per frequency, and the share of active neurons that one frequency explains
    (at least half of the neuron's variance). The last hidden layer unless `acts` is given."""
    if acts is None:
        acts = layer_activations(module, p)[-1]  # (p*p, d_mlp)
    acts = acts.reshape(p, p, -1)
    acts = acts - acts.mean(axis=(0, 1), keepdims=True)
    coefficients = np.abs(np.fft.fft2(acts, axes=(0, 1))) ** 2  # (p, p, d_mlp)
    half = (p - 1) // 2
    counts: dict[int, int] = {}
    single, active = 0, 0
    norms = coefficients.sum(axis=(0, 1))
    for n in range(acts.shape[-1]):
        if norms[n] < 1e-12:
            continue
        share = np.zeros(half)
        for k in range(1, half + 1):
            rows = [k, p - k]
            cols = [0, k, p - k]
            block = (
                coefficients[np.ix_(rows, cols, [n])].sum() + coefficients[0, [k, p - k], n].sum()
            )
            share[k - 1] = block / norms[n]
        k = int(np.argmax(share)) + 1
        counts[k] = counts.get(k, 0) + 1
        active += 1
        single += int(share[k - 1] >= 0.5)
    ranked = dict(sorted(counts.items(), key=lambda item: -item[1]))
    return ranked, single / active if active else 0.0


def gradient_symmetricity(module: Any, p: int, samples: int = 100, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    triples = rng.integers(0, p, size=(samples, 3))
    module.eval()
    dtype = next(module.parameters()).dtype
    rows_a, rows_b = (torch.as_tensor(r, dtype=dtype) for r in input_rows(module, p))
    cosines = []
    for a, b, c in triples.tolist():
        e = torch.stack([rows_a[a], rows_b[b]])[None].requires_grad_(True)  # (1, 2, d)
        logit = module.forward_embedded(e)[0, c]
        (grad,) = torch.autograd.grad(logit, e)
        cosines.append(float(nn.functional.cosine_similarity(grad[0, 0], grad[0, 1], dim=0)))
    return float(np.mean(cosines))


def distance_irrelevance(logits: np.ndarray) -> float:
    p = logits.shape[0]
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    predicted = logits.argmax(-1)  # the network's own answer
    correct = np.take_along_axis(logits, predicted[..., None], axis=-1)[..., 0]  # (p, p)
    s, d = (a + b) % p, (a - b) % p
    table = np.zeros((p, p))
    table[s, d] = correct
    if table.std() <= 1e-6 * max(logits.std(), 1e-12):
        return 1.0  # the correct logit is constant: it ignores a - b entirely
    return float(table.std(axis=0).mean() / table.std())


TEMPLATES = ("clock_cos", "clock_sin", "pizza", "accompanying")


def templates(p: int, k: int) -> dict[str, np.ndarray]:
    """Per-circle logit templates on the (a, b, c) grid, computed once per (p, k, name) and
    shared read-only.  # each (p, p, p)"""
    return {name: template(p, k, name) for name in TEMPLATES}


CACHED_UP_TO = 128  # p beyond which templates (p^3 floats each) are not kept


def template(p: int, k: int, name: str) -> np.ndarray:
    """One logit template at frequency k.  # (p, p, p), read-only"""
    return _cached_template(p, k, name) if p <= CACHED_UP_TO else _template(p, k, name)


@functools.lru_cache(maxsize=64)
def _cached_template(p: int, k: int, name: str) -> np.ndarray:
    return _template(p, k, name)


def _template(p: int, k: int, name: str) -> np.ndarray:
    a, b, c = np.meshgrid(np.arange(p), np.arange(p), np.arange(p), indexing="ij", sparse=True)
    w = 2 * np.pi * k / p
    x = w * (a + b - c)
    if name == "clock_cos":
        out = np.cos(x)
    elif name == "clock_sin":
        out = np.sin(x)
    elif name == "pizza":
        out = 2 * np.abs(np.cos(w * (a - b) / 2)) * (np.abs(np.cos(x / 2)) - np.abs(np.sin(x / 2)))
    elif name == "accompanying":
        out = -(
            np.cos(w * c) * (np.cos(2 * w * a) + np.cos(2 * w * b))
            + np.sin(w * c) * (np.sin(2 * w * a) + np.sin(2 * w * b))
        )
    else:
        raise KeyError(f"template {name!r} is unknown; known: {TEMPLATES}")
    out = np.broadcast_to(out, (p, p, p)).copy()
    out.flags.writeable = False
    return out


PCA_COMPONENTS = 20  # the paper's evaluation code
NEGLIGIBLE = 1e-9  # share of the embedding's variance below which a circle is not there


CIRCLE_SHARE = 0.02  # a frequency holding this share of the embedding's energy is a circle


def circle_fve(
    module: Any, p: int, method: str = "fourier", shares: np.ndarray | None = None
) -> dict[int, dict[str, Any]]:
    """The paper's logit FVE of each circle of the embedding (see the module docstring), keyed
    by its frequency, largest circle first.

    `method="fourier"` (the default): the circle at frequency k is the embedding's projection
    on the cos/sin(2 pi k x / p) directions over the tokens, every frequency holding 2% of the
    energy. `method="pca"`, as the paper's code does it: the two principal components (of the
    top 20) whose token coordinates have the same best DFT frequency. The two agree when PCA
    separates the circles; when circles of similar size mix in PCA (as on net2code's trained
    fixtures) the components are blends, and the PCA figures understate every template.
    Separate vocabularies: b's rows get their own projection. Needs `module.forward_embedded`
    and an embedding (`input_rows`)."""
    rows_a, rows_b = input_rows(module, p)  # (p, d) each: the input tokens
    if shares is None:
        shares = spectrum(rows_a, p)
    a, b = (g.reshape(-1) for g in np.meshgrid(np.arange(p), np.arange(p), indexing="ij"))
    kept: dict[int, tuple[np.ndarray, np.ndarray, dict[str, Any]]] = {}
    if method == "fourier":
        for k in np.argsort(shares)[::-1] + 1:
            if shares[k - 1] < CIRCLE_SHARE:
                break
            extra = {"variance": float(shares[k - 1])}
            kept[int(k)] = (_keep_frequency(rows_a, p, k), _keep_frequency(rows_b, p, k), extra)
    elif method == "pca":
        pca_a = _circle_pca(rows_a, p)
        pca_b = pca_a if rows_b is rows_a else _circle_pca(rows_b, p)
        for k, indices in pca_a["by_frequency"].items():
            if len(indices) < 2 or len(pca_b["by_frequency"].get(k, [])) < 2:
                continue
            if pca_a["variance"][indices[:2]].sum() < NEGLIGIBLE:
                continue  # numerically absent: rank-deficient embeddings give such components
            pair = indices[:2]  # the two largest components at this frequency
            extra = {"components": pair, "variance": float(pca_a["variance"][pair].sum())}
            kept[k] = (
                _keep_circle(pca_a, pair),
                _keep_circle(pca_b, pca_b["by_frequency"][k][:2]),
                extra,
            )
    else:
        raise ValueError(f"method {method!r} is unknown; choose fourier or pca")
    out: dict[int, dict[str, Any]] = {}
    dtype = next(module.parameters()).dtype
    for k, (ablated_a, ablated_b, extra) in kept.items():
        pairs = np.stack([ablated_a[a], ablated_b[b]], axis=1)  # (p*p, 2, d): only this circle
        with torch.no_grad():
            logits = module.forward_embedded(torch.as_tensor(pairs, dtype=dtype))
        tensor = logits.double().numpy().reshape(p, p, -1)[:, :, :p]  # (p, p, p) [a, b, c]
        out[k] = {
            "clock": explained(tensor, template(p, k, "clock_cos")),
            "pizza": explained(tensor, template(p, k, "pizza")),
            "accompanying": explained(tensor, template(p, half_frequency(k, p), "accompanying")),
            **extra,
        }
    return dict(sorted(out.items(), key=lambda item: -item[1]["variance"]))


def _keep_frequency(rows: np.ndarray, p: int, k: int) -> np.ndarray:
    """The embedding rows with everything but frequency k (over the tokens) removed: their
    mean plus their projection on cos/sin(2 pi k x / p).  # (p, d)"""
    x = np.arange(p)
    basis = np.stack([np.cos(2 * np.pi * k * x / p), np.sin(2 * np.pi * k * x / p)], axis=1)
    basis /= np.linalg.norm(basis, axis=0, keepdims=True)  # (p, 2), orthonormal for 0 < k < p/2
    mean = rows.mean(axis=0, keepdims=True)
    return np.asarray(mean + basis @ (basis.T @ (rows - mean)))


def _circle_pca(rows: np.ndarray, p: int) -> dict[str, Any]:
    """PCA (20 components) of embedding rows, with the components grouped by their best
    frequency over the tokens."""
    mean = rows.mean(axis=0, keepdims=True)
    _, singular, vt = np.linalg.svd(rows - mean, full_matrices=False)
    components = vt[:PCA_COMPONENTS]  # (20, d)
    coordinates = (rows - mean) @ components.T  # (p, 20)
    by_frequency: dict[int, list[int]] = {}
    for i in range(coordinates.shape[1]):
        energy = np.abs(np.fft.rfft(coordinates[:, i]))[1 : (p - 1) // 2 + 1] ** 2
        by_frequency.setdefault(int(np.argmax(energy)) + 1, []).append(i)
    return {
        "mean": mean,
        "components": components,
        "coordinates": coordinates,
        "variance": singular[: len(components)] ** 2 / max(float((singular**2).sum()), 1e-12),
        "by_frequency": by_frequency,
    }


def _keep_circle(pca: dict[str, Any], pair: list[int]) -> np.ndarray:
    """The embedding rows with every principal component but `pair` zeroed.  # (p, d)"""
    keep = np.zeros(len(pca["components"]), dtype=bool)
    keep[pair] = True
    return np.asarray(pca["mean"] + (pca["coordinates"] * keep) @ pca["components"])


def half_frequency(k: int, p: int) -> int:
    """The frequency h with 2h = ±k (mod p): an accompanying circle at k doubles the angles of
    a main circle at h, so its template, -(cos(wc)(cos 2wa + cos 2wb) + ...), has w at h."""
    if p % 2 == 0:
        return k
    h = k * pow(2, -1, p) % p
    return min(h, p - h)


def explained(logits: np.ndarray, template: np.ndarray) -> float:
    """1 - Var(L - T) / Var(L) for the z-scored logits L and template T."""

    def z(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / max(float(x.std()), 1e-12)

    zl = z(logits)
    return float(1.0 - (zl - z(template)).var() / max(float(zl.var()), 1e-12))


def fve(target: np.ndarray, features: list[np.ndarray]) -> float:
    """Fraction of variance of `target` explained by least squares on `features` + constant."""
    y = target.reshape(-1)
    x = np.stack([f.reshape(-1) for f in features] + [np.ones_like(y)], axis=1)
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coefficients
    return float(1.0 - residual.var() / max(y.var(), 1e-12))


def _cross_entropy(logits: np.ndarray, answers: np.ndarray) -> float:
    """Mean cross-entropy in float64.  # logits (n, p), answers (n,)"""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(answers)), answers].mean())


def restricted_and_excluded_loss(logits: np.ndarray, keys: list[int]) -> tuple[float, float, float]:
    """Nanda et al.'s progress measures, with the network's own answers as targets.

    Each class's logit, as a function of (a, b), is projected onto cos/sin(w_k (a + b)) for the
    key frequencies. Restricted: that projection plus the logit's mean; excluded: the logit
    minus the projection. Returns (full, restricted, excluded) cross-entropies on all pairs.
    """
    p = logits.shape[0]
    flat = logits.reshape(p * p, -1)  # (p*p, p)
    answers = flat.argmax(-1)
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    s = (a + b).reshape(-1)
    directions = []
    for k in keys:
        for f in (np.cos, np.sin):
            v = f(2 * np.pi * k * s / p)
            directions.append(v / np.linalg.norm(v))
    basis = np.stack(directions, axis=1)  # (p*p, 2K), orthonormal
    mean = flat.mean(axis=0, keepdims=True)
    projection = basis @ (basis.T @ (flat - mean))
    return (
        _cross_entropy(flat, answers),
        _cross_entropy(mean + projection, answers),
        _cross_entropy(flat - projection, answers),
    )


def analyse(module: Any, p: int) -> Mechanism:
    """Fourier analysis, the paper's diagnostics, and a call: clock, pizza, mixed, non-circular."""
    embedding, embedding_b = input_rows(module, p)  # (p, d) each
    shares = spectrum(embedding, p)
    if embedding_b is not embedding:  # b's own vocabulary: the energy of both
        shares = (shares + spectrum(embedding_b, p)) / 2
    keys = key_frequencies(shares)
    logits = logit_tensor(module, p)
    z = (logits - logits.mean()) / max(logits.std(), 1e-12)
    circ, circles = circularity(embedding, p)
    clock_features, pizza_features = [], []
    for k in keys:
        clock_features += [template(p, k, "clock_cos"), template(p, k, "clock_sin")]
        pizza_features.append(template(p, k, "pizza"))
    per_circle = circle_fve(module, p, shares=shares)
    per_circle_pca = circle_fve(module, p, method="pca")
    metrics = {
        "circularity": circ,
        "distance_irrelevance": distance_irrelevance(logits),
        "gradient_symmetricity": gradient_symmetricity(module, p),
        "logit_fit_clock": fve(z, clock_features),
        "logit_fit_pizza": fve(z, pizza_features),
        "key_frequency_energy": float(shares[[k - 1 for k in keys]].sum()),
    }
    full, restricted, excluded = restricted_and_excluded_loss(logits, keys)
    metrics.update(loss=full, restricted_loss=restricted, excluded_loss=excluded)
    kind, reasons = classify(metrics, getattr(module, "config", None))
    neurons: dict[int, int] = {}
    census: list[dict[str, Any]] = []
    if hasattr(module, "hidden_activations") or hasattr(module, "layer_activations"):
        for layer, acts in enumerate(layer_activations(module, p)):
            counts, share = neuron_frequencies(module, p, acts)
            census.append({"layer": layer, "neurons": counts, "one_frequency": share})
        neurons = census[-1]["neurons"]
        metrics["neurons_one_frequency"] = census[-1]["one_frequency"]
    doubles = {}
    for k in keys:
        for base in keys:
            small = shares[k - 1] < 0.5 * shares[base - 1]  # a side circle, not a main one
            if base != k and small and k in ((2 * base) % p, (-2 * base) % p):
                doubles[k] = base
    if doubles:
        pairs = ", ".join(f"{k} = ±2·{base}" for k, base in doubles.items())
        reasons.append(f"accompanying circles at doubled frequencies (mod {p}): {pairs}")
    return Mechanism(
        accompanying=doubles,
        p=p,
        kind=kind,
        frequencies=keys,
        metrics=metrics,
        reasons=reasons,
        embedding_spectrum=shares.tolist(),
        circles=circles,
        neuron_frequencies=neurons,
        neuron_census=census,
        per_circle_fve=per_circle,
        per_circle_fve_pca=per_circle_pca,
    )


FOURIER_SPARSE = 0.8  # share of embedding energy in the key frequencies
CLOCK_DI = 0.5  # midway between the paper's Pizza (~0.2) and Clock (~0.85) references
SYMMETRIC_GS = 0.9  # the paper's Pizza networks sit at ~0.99, its Clocks at 0.3-0.6


def classify(metrics: dict[str, float], config: Any = None) -> tuple[str, list[str]]:
    """The call and the numbers behind it.

    1. Circular: the key frequencies hold >= 80% of the embedding's energy (the PCA
       circularity is reported too, but two circles of similar size mix in PCA).
    2. Distance irrelevance decides the side: >= 0.5 Clock, < 0.5 Pizza.
    3. Gradient symmetricity must agree (< 0.9 for a Clock, >= 0.9 for a Pizza), except
       where the architecture forces it to 1 (inputs entering as E_a + E_b): it is never
       decisive alone. Disagreement gives "mixed".
    The per-circle logit FVE (the paper's) and the fit over all keys are reported alongside,
    not used for the call: the paper, too, decides by distance irrelevance and gradient
    symmetricity, and shows the FVE as support.
    """
    di, gs = metrics["distance_irrelevance"], metrics["gradient_symmetricity"]
    energy = metrics["key_frequency_energy"]
    forced = getattr(config, "kind", None) == "mlp"
    reasons = []
    if energy < FOURIER_SPARSE:
        reasons.append(
            f"the key frequencies hold {energy:.2f} < {FOURIER_SPARSE} of the embedding's energy"
        )
        return "non-circular", reasons
    reasons.append(f"the key frequencies hold {energy:.2f} of the embedding's energy")
    fve = (
        f"logit fit over all keys: clock {metrics['logit_fit_clock']:.2f}, "
        f"pizza {metrics['logit_fit_pizza']:.2f}"
    )
    if di >= CLOCK_DI:
        reasons.append(
            f"distance irrelevance {di:.2f} >= {CLOCK_DI}: the correct logit ignores a-b"
        )
        if forced or gs < SYMMETRIC_GS:
            reasons.append(
                f"gradient symmetricity {gs:.2f}"
                + (" (forced by E_a + E_b)" if forced else f" < {SYMMETRIC_GS}")
            )
            reasons.append(fve)
            return "clock", reasons
    else:
        reasons.append(
            f"distance irrelevance {di:.2f} < {CLOCK_DI}: the correct logit depends on a-b"
        )
        if forced or gs >= SYMMETRIC_GS:
            reasons.append(
                f"gradient symmetricity {gs:.2f}"
                + (" (forced by E_a + E_b)" if forced else f" >= {SYMMETRIC_GS}")
            )
            reasons.append(fve)
            return "pizza", reasons
    reasons.append(f"gradient symmetricity {gs:.2f} disagrees; {fve}")
    return "mixed", reasons
