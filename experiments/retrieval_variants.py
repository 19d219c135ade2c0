"""Memory retrieval from variants: A-Hop against M-, S-, U-, K-, K2-Hop and an MLP (Wang et al. 2025).

    python experiments/retrieval_variants.py                    # everything → results/retrieval_variants.md + .png
    python experiments/retrieval_variants.py --quick --out /tmp/rv.md
    python experiments/retrieval_variants.py --parts mixed --cache /tmp/rv.json   # one part; per-run metrics kept

Parts (``--parts``, comma-separated; default all):

* ``mixed``: random patterns ``U[-1, 1]^64``, N = 2048 and 4096, the 12 mixed difficulty triplets;
* ``hard``: the high-difficulty triplets ``(δ, δ, δ)``: δ = 0.4, 0.5 on random patterns (N = 2048),
  δ = 0.6, 0.7 on 2048 MNIST test digits (d = 784, pixels in [-1, 1]); on random patterns also A-Hop
  with its weights at the global minimum of its training loss (``fit_footprint_optimum``), a reference
  for how close Adam gets to the best of the footprint family; on MNIST also A-Hop with its Adam rate
  scaled to the dimension (0.1 · 64 / d, see :data:`SCALED_LR`);
* ``ablation``: A-Hop variants on random patterns, N = 2048, (.4, .4, .4);
* ``speed``: time of the footprint similarity (and the dot product) per batch of queries at
  d ∈ {64, 128, 256}, N ∈ {2048, 4096, 8192};
* ``memory``: peak memory of the footprint similarity's forward + backward at L = S = 4096, E = 64.

Every run stores fresh patterns (seeded), trains the trainable models on variants drawn from the
same difficulty triplet and evaluates every model on held-out variants (a separate random stream).
With ``--cache`` every finished run's metrics are kept in a JSON file, so the parts can run in
separate processes (and an interrupted run resumes); the tables are rendered from all cached runs
of the current configuration.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from functools import partial
from pathlib import Path

import torch

from hopfield_layers.data.mnist import load_mnist
from hopfield_layers.data.variants import difficulty_label, make_variants, variant_log_likelihood
from hopfield_layers.memory.retrieval import (
    MODELS,
    HopfieldRetrieval,
    RetrievalModel,
    build_model,
    evaluate,
    fit_footprint_optimum,
    fit_uniformity,
    likelihood_loss,
    train,
)
from hopfield_layers.results import ResultsFile, hardware_summary, mean_std
from hopfield_layers.similarity import Footprint

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
from bench_layers import time_interleaved  # noqa: E402  (the timing helper of the layer benchmark)

PARTS = ("mixed", "hard", "ablation", "speed", "memory")
#: Groups of runs whose count ``Config.part_seeds`` can set ("mnist": the MNIST rows of "hard"; "mnist-scaled-lr":
#: the MNIST row of A-Hop with the scaled learning rate, overriding "mnist" there; "ablation-later": the later
#: ablation rows, overriding "ablation" there; "mixed@N": the mixed table at N stored patterns only, overriding
#: "mixed" there; "mixed@N(.8,0,0)": one setting of that table, in the paper's notation).
SEED_PARTS = ("mixed", "hard", "mnist", "mnist-scaled-lr", "ablation", "ablation-later")
_SIZED_SEED_PART = re.compile(r"mixed@(?P<count>[1-9][0-9]*)(?P<setting>\(.*\))?")

MIXED = [
    (0.8, 0, 0),
    (0.6, 0.3, 0),
    (0.5, 0.5, 0),
    (0.3, 0.6, 0),
    (0, 0.8, 0),
    (0, 0.6, 0.3),
    (0, 0.5, 0.5),
    (0, 0.3, 0.6),
    (0, 0, 0.8),
    (0.3, 0, 0.6),
    (0.6, 0, 0.3),
    (0.5, 0, 0.5),
]
HARD = [("random", 0.4), ("random", 0.5), ("mnist", 0.6), ("mnist", 0.7)]
#: Table 2 of Wang et al. (2025) as quoted in the issue: (accuracy, error); None where not quoted.
PAPER_HARD = {
    ("random", 0.4): {"A-Hop": (0.724, 0.106), "M-Hop": (0.520, None)},
    ("random", 0.5): {"A-Hop": (0.360, 0.227), "M-Hop": (0.195, None)},
    ("mnist", 0.6): {"A-Hop": (0.939, 0.005), "M-Hop": (0.875, None)},
    ("mnist", 0.7): {"A-Hop": (0.849, 0.015), "M-Hop": (0.661, None)},
}
ABLATIONS: dict[str, dict] = {
    "A-Hop (footprint, U triangular, dis + dot)": {},
    "unsorted q": {"sort": False},
    "U = identity": {"U": "identity"},
    "U = random (fixed)": {"U": "random"},
    "U learnable (init triangular)": {"learnable_U": True},
    "dis only": {"bases": ("dis",)},
    "dot only": {"bases": ("dot",)},
    "a fixed training set (one epoch of variants)": {"train_samples": "epoch"},
}
#: ablations added later, run as a group of their own so that the runs of the first group stay cached
LATER_ABLATIONS: dict[str, dict] = {
    "weights per stored pattern (isolated variants)": {"per_pattern": True},
    "learnable prior bias b ∈ R^N": {"prior_bias": True},
}
ABLATION_GROUPS = {"ablation": ABLATIONS, "ablation-later": LATER_ABLATIONS}
#: every ablation label, in table order (the default of ``Config.ablations``)
ALL_ABLATIONS = [label for group in ABLATION_GROUPS.values() for label in group]
ABLATION_SETTING = (0.4, 0.4, 0.4)
#: Adam learning rates of the trained models (A-Hop's is the paper's); the kernels' Φ (d × d, init identity)
#: take KERNEL_LR / sqrt(d) (larger rates turn Φ into a random projection at d = 784).
LEARNING_RATES = {"A-Hop": 0.1, "MLP": 1e-3}
#: run r draws its training variants from seed TRAIN_SEED + r and its test variants from TEST_SEED + r
TRAIN_SEED, TEST_SEED = 10_000, 20_000
KERNEL_LR = 0.008
ORACLE = "Bayes oracle"
COLUMNS = (*MODELS, ORACLE)
#: A-Hop with its footprint weights at the global minimum of the likelihood loss on a fixed training set
#: (:func:`fit_footprint_optimum`): how far A-Hop's Adam training is from the best of its own family.
OPTIMUM = "A-Hop, loss optimum"
#: A-Hop trained with Adam at ``LEARNING_RATES["A-Hop"] · LR_REFERENCE_DIM / d``. The footprint's effective
#: weights are reverse cumulative sums of ``w`` (``u_j = Σ_{k ≥ j} w_k``), so an Adam step of ``lr`` on every
#: ``w_k`` moves ``u_1`` by up to ``lr · d``. The paper's 0.1 trains to within 0.01 of the loss optimum at
#: d = 64; this keeps that step in ``u`` at any d. Identical to A-Hop at d = 64, so it is run on MNIST
#: (d = 784: lr 0.0082) only.
LR_REFERENCE_DIM = 64
SCALED_LR = f"A-Hop, lr {LEARNING_RATES['A-Hop']}·{LR_REFERENCE_DIM}/d"


class BayesOracle(RetrievalModel):
    """Reference, not a memory model: retrieves the maximum a posteriori pattern under the true variant distribution."""

    def __init__(self, patterns: torch.Tensor, difficulty) -> None:
        super().__init__(patterns)
        self.difficulty = difficulty

    def scores(self, queries: torch.Tensor) -> torch.Tensor:
        mask, noise, bias = self.difficulty
        return variant_log_likelihood(self.patterns, queries, mask=mask, noise=noise, bias=bias).to(queries.dtype)

    def forward(self, queries: torch.Tensor) -> torch.Tensor:
        return self.patterns[self.scores(queries).argmax(dim=1)]


@dataclass
class Config:
    seeds: int = 5
    #: runs per group of :data:`SEED_PARTS`, overriding ``seeds``; e.g. ``{"mnist": 1}`` when the d = 784 runs
    #: do not fit the compute budget, ``{"mixed@4096": 1}`` for one size of the mixed table.
    part_seeds: dict = field(default_factory=dict)
    dim: int = 64
    sizes: tuple[int, ...] = (2048, 4096)
    mnist_patterns: int = 2048
    epochs: int = 200
    mnist_epochs: int | None = None  # None: as epochs
    epoch_size: int = 512
    batch_size: int = 64
    test_queries: int = 1000
    kernel_epochs: int = 200
    mnist_oracle: bool = True
    mlp_hidden: int = 512
    #: variants (one fixed set, seed TRAIN_SEED + r) on which the loss optimum of A-Hop's weights is found, and
    #: the L-BFGS iterations; only on random patterns (the sorted similarities take M·N·2d floats)
    optimum_train: int = 2048
    optimum_max_iter: int = 500
    #: A-Hop's footprint memory budget in bytes (``Footprint(max_memory=...)``): 1 GiB keeps the sorted
    #: similarities of a training batch for the backward pass at d = 784, N = 2048 instead of sorting twice.
    footprint_memory: int = 2**30
    #: where the runs train and evaluate (``"cpu"``, ``"cuda"``, ``"cuda:1"``, …); the patterns and variants are drawn on
    #: the CPU (the same data on any device), and the speed and memory tables always measure the CPU
    device: str = "cpu"
    mixed: list = field(default_factory=lambda: list(MIXED))
    hard: list = field(default_factory=lambda: list(HARD))
    ablations: list = field(default_factory=lambda: list(ALL_ABLATIONS))
    speed_dims: tuple[int, ...] = (64, 128, 256)
    speed_sizes: tuple[int, ...] = (2048, 4096, 8192)
    speed_queries: int = 64
    speed_rounds: int = 3
    memory_size: int = 4096


QUICK = Config(
    seeds=2,
    dim=32,
    sizes=(128,),
    mnist_patterns=128,
    epochs=20,
    epoch_size=64,
    batch_size=32,
    test_queries=200,
    kernel_epochs=20,
    mlp_hidden=64,
    optimum_train=256,
    optimum_max_iter=100,
    mixed=[(0.8, 0, 0)],
    hard=[("random", 0.4), ("mnist", 0.6)],
    ablations=["A-Hop (footprint, U triangular, dis + dot)", "unsorted q"],
    speed_dims=(16,),
    speed_sizes=(128,),
    speed_queries=16,
    speed_rounds=1,
    memory_size=256,
)


# ---------------------------------------------------------------------------------------- runs
def _patterns(source: str, count: int, dim: int, seed: int, data_root: str | None) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if source == "random":
        return torch.rand(count, dim, generator=generator) * 2 - 1
    images, _ = load_mnist("test", root=data_root)
    chosen = torch.randperm(images.shape[0], generator=generator)[:count]
    return images[chosen].reshape(count, -1)


def _fit(model, name: str, difficulty, cfg: Config, seed: int, train_samples: int | None = None, epochs: int | None = None, scale_lr: bool = False) -> None:
    dim = model.patterns.shape[1]
    kernel_lr = KERNEL_LR / dim**0.5
    if name == "K-Hop":
        fit_uniformity(model, cfg.kernel_epochs, kernel_lr)
    elif name in ("A-Hop", "MLP", "K2-Hop"):
        generator = torch.Generator().manual_seed(TRAIN_SEED + seed)
        lr = kernel_lr if name == "K2-Hop" else LEARNING_RATES[name]
        lr = lr * LR_REFERENCE_DIM / dim if scale_lr else lr
        train(model, difficulty, epochs=epochs or cfg.epochs, lr=lr, batch_size=cfg.batch_size, epoch_size=cfg.epoch_size, train_samples=train_samples, generator=generator)


def run_setting(source: str, count: int, difficulty, models: dict[str, dict], cfg: Config, seed: int, data_root: str | None) -> dict[str, dict]:
    """Train and evaluate ``models`` (label → A-Hop options, or ``{"model": name}``) on one seed of one setting."""
    torch.manual_seed(seed)
    device = torch.device(cfg.device)
    patterns = _patterns(source, count, cfg.dim, seed, data_root)  # drawn on the CPU: the same data on any device
    mask, noise, bias = difficulty
    test = make_variants(patterns, cfg.test_queries, mask=mask, noise=noise, bias=bias, generator=torch.Generator().manual_seed(TEST_SEED + seed))
    test = tuple(t.to(device) for t in test)
    results = {}
    for label, options in models.items():
        options = dict(options)
        name = options.pop("model", "A-Hop")
        train_samples = options.pop("train_samples", None)
        train_samples = cfg.epoch_size if train_samples == "epoch" else train_samples
        scale_lr = options.pop("scale_lr", False)
        start = time.perf_counter()
        if name == ORACLE:
            model = BayesOracle(patterns, difficulty).to(device)
        elif name == OPTIMUM:
            model = build_model("A-Hop", patterns, max_memory=cfg.footprint_memory).to(device)
            index, queries = make_variants(patterns, cfg.optimum_train, mask=mask, noise=noise, bias=bias, generator=torch.Generator().manual_seed(TRAIN_SEED + seed))
            fit_footprint_optimum(model, index.to(device), queries.to(device), max_iter=cfg.optimum_max_iter)
        else:
            if name == "A-Hop":
                options.setdefault("max_memory", cfg.footprint_memory)
            model = build_model(name, patterns, hidden=cfg.mlp_hidden, **options).to(device)
            _fit(model, name, difficulty, cfg, seed, train_samples, cfg.mnist_epochs if source == "mnist" else None, scale_lr)
        fitted = time.perf_counter()
        accuracy, error = evaluate(model, *test)
        results[label] = {"accuracy": accuracy, "error": error, "train_s": fitted - start, "eval_s": time.perf_counter() - fitted}
    return results


class Runs:
    """Per-run metrics, optionally persisted in a JSON cache keyed by part, setting, seed and configuration.

    A run's key holds the :class:`Config` fields that its result depends on (``fields``; by default every
    field that is not in :attr:`SELECTING`), so that changing, say, the MNIST epochs does not invalidate
    runs on random patterns.
    """

    #: fields that only choose which runs are made (or how much memory they may use), not what a run computes
    SELECTING = (
        "seeds",
        "part_seeds",
        "footprint_memory",
        "sizes",
        "mixed",
        "hard",
        "ablations",
        "speed_dims",
        "speed_sizes",
        "speed_queries",
        "speed_rounds",
        "memory_size",
        "mnist_oracle",
        "device",
    )
    #: fields that only MNIST runs depend on
    MNIST_ONLY = ("mnist_patterns", "mnist_epochs")
    #: fields that only the loss-optimum runs depend on
    OPTIMUM_ONLY = ("optimum_train", "optimum_max_iter")

    #: the key of a stored result that holds the machine and date of its run
    PROVENANCE = "_run"

    def __init__(self, path: Path | None, cfg: Config) -> None:
        self.path, self.cfg = path, cfg
        self.provenance: Counter[str | None] = Counter()
        self.data: dict[str, dict] = json.loads(path.read_text()) if path is not None and path.exists() else {}

    def fingerprint_of(self, fields: tuple[str, ...] | None) -> str:
        """The values of the Config ``fields`` (None: every field not in :attr:`SELECTING`) as JSON, a part of each run's key."""
        values = asdict(self.cfg)
        names = [name for name in values if name not in self.SELECTING + self.OPTIMUM_ONLY] if fields is None else list(fields)
        return json.dumps({name: values[name] for name in names}, default=str)

    def get_or_run(self, key: str, compute: Callable[[], dict], fields: tuple[str, ...] | None = None, refresh: bool = False, device: str | None = None) -> dict:
        """The cached result of ``key`` under the settings ``fields``, computed (and saved) when missing or ``refresh``.

        ``device``: where ``compute`` runs (default ``cfg.device``); a run off the CPU says so in its provenance.

        A computed result is stored with the machine and date it ran on (under :attr:`PROVENANCE`), and every
        result returned is counted in :attr:`provenance` so the report can say where its numbers come from.
        """
        key = f"{key}|{self.fingerprint_of(fields)}"
        if refresh or key not in self.data:
            when = time.strftime("%Y-%m-%d", time.gmtime())
            device = self.cfg.device if device is None else device
            trained_on = "" if device == "cpu" else f"; runs on {device}"
            self.data[key] = {**compute(), self.PROVENANCE: {"hardware": hardware_summary() + trained_on, "date": when}}
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.write_text(json.dumps(self.data, indent=1))
        entry = self.data[key]
        origin = entry.get(self.PROVENANCE)
        self.provenance[None if origin is None else origin["hardware"]] += 1
        return {name: value for name, value in entry.items() if name != self.PROVENANCE}

    def provenance_text(self) -> str:
        """Which machines the reported runs ran on (this file's Hardware line is the machine that rendered it)."""
        counts = [f"{count} ran on {hardware}" for hardware, count in self.provenance.items() if hardware is not None]
        if None in self.provenance:
            counts.append(
                f"{self.provenance[None]} ran before the cache kept the machine, on this project's 2-core CPU machines with one or two torch threads (the CPU model was not kept)"
            )
        return (
            f"**Where the numbers come from.** The tables below read {sum(self.provenance.values())} runs from the cache: "
            f"{'; '.join(counts)}. The Hardware line above describes the machine that rendered this file."
        )


def run_fields(source: str, models: dict[str, dict]) -> tuple[str, ...] | None:
    """The :class:`Config` fields a run of ``models`` on ``source`` patterns depends on (None: all but the selecting ones)."""
    if list(models) == [ORACLE]:  # trains nothing: only the stored patterns and the test variants matter
        return ("mnist_patterns" if source == "mnist" else "dim", "test_queries")
    if list(models) == [OPTIMUM]:
        return ("mnist_patterns" if source == "mnist" else "dim", "test_queries", *Runs.OPTIMUM_ONLY)
    if source == "mnist":
        return None
    return tuple(f.name for f in fields(Config) if f.name not in Runs.SELECTING + Runs.MNIST_ONLY + Runs.OPTIMUM_ONLY)


def seeds_of(cfg: Config, part: str, count: int | None = None, setting: tuple[float, float, float] | None = None) -> int:
    """Runs per setting of the run group ``part`` at ``count`` stored patterns and difficulty ``setting`` (where given).

    The most specific entry of ``cfg.part_seeds`` wins: ``"part@count(setting)"`` (e.g. ``"mixed@4096(.8,0,0)"``),
    then ``"part@count"``, then ``part``, then the part it belongs to (``"hard"`` for ``"hard-optimum"``);
    ``cfg.seeds`` otherwise.
    """
    sized = f"{part}@{count}" if count is not None else None
    one = f"{sized}{difficulty_label(*setting)}" if sized is not None and setting is not None else None
    for name in (one, sized, part, part.split("-")[0]):
        if name in cfg.part_seeds:
            return int(cfg.part_seeds[name])
    return cfg.seeds


def seed_group(part: str, source: str) -> str:
    """The :data:`SEED_PARTS` group whose count a run group ``part`` takes: on MNIST ``"hard…"`` is ``"mnist…"``
    (``"hard-scaled-lr"`` → ``"mnist-scaled-lr"``, which :func:`seeds_of` falls back to ``"mnist"``)."""
    return part.replace("hard", "mnist", 1) if source == "mnist" else part


def run_models(runs: Runs, part: str, source: str, count: int, difficulty, models: dict[str, dict], data_root: str | None, log) -> dict[str, list[dict]]:
    """All seeds of one setting: ``{label: [metrics of seed 0, ...]}``."""
    collected: dict[str, list[dict]] = {label: [] for label in models}
    seeds = seeds_of(runs.cfg, seed_group(part, source), count, difficulty)
    for seed in range(seeds):
        key = "|".join(map(str, (part, source, count, difficulty, ",".join(models), seed)))
        start = time.perf_counter()
        result = runs.get_or_run(key, lambda seed=seed: run_setting(source, count, difficulty, models, runs.cfg, seed, data_root), run_fields(source, models))
        summary = ", ".join(f"{label} {m['accuracy']:.3f}" for label, m in result.items())
        log(f"[{part}] {source} N={count} {difficulty_label(*difficulty)} seed {seed}: {summary} ({time.perf_counter() - start:.0f} s)")
        for label in models:
            collected[label].append(result[label])
    return collected


def _stat(metrics: list[dict], what: str) -> str:
    return mean_std([m[what] for m in metrics])


def _mean(metrics: list[dict], what: str) -> float:
    return statistics.fmean(m[what] for m in metrics)


# ---------------------------------------------------------------------------------------- speed
def _naive_footprint(sim: Footprint, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """The footprint as written: sort with torch.sort, form U q̃ (a cumsum), then wᵀ(U q̃); plain autograd."""
    total = 0.0
    for i, base in enumerate(sim.bases):
        q = -(query.unsqueeze(3) - key.unsqueeze(2)).square() if base == "dis" else query.unsqueeze(3) * key.unsqueeze(2)
        footprint = q.sort(dim=-1, descending=True).values.cumsum(dim=-1)
        total = total + sim.base_weight[i][None, :, None, None] * (footprint @ sim.weight[i][0])
    return total


def speed_rows(runs: Runs, log, retime: bool = False) -> list[list[object]]:
    """Per (d, N): inference and training-step times of every similarity, timed interleaved in this process.

    Each (d, N) cell is cached with the runs (so a later invocation renders the same timings instead of
    measuring on a possibly busy machine); ``retime`` measures again.
    """
    cfg, rows = runs.cfg, []
    for dim in cfg.speed_dims:
        for count in cfg.speed_sizes:
            key = f"speed|{dim}|{count}|{cfg.speed_queries} queries|{cfg.speed_rounds} rounds"
            rows += runs.get_or_run(key, partial(_speed_cell, cfg, dim, count, log), fields=(), refresh=retime, device="cpu")["rows"]
    return rows


def _speed_cell(cfg: Config, dim: int, count: int, log) -> dict[str, list[list[object]]]:
    rows: list[list[object]] = []
    torch.manual_seed(0)
    patterns = torch.rand(count, dim) * 2 - 1
    index, queries = make_variants(patterns, cfg.speed_queries, mask=0.4, noise=0.4, bias=0.4)
    naive, naive_bytes = Footprint(dim), cfg.speed_queries * count * dim * 2 * 16  # sorted values, int64 indices, cumsum
    variants: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "dot product (M-Hop)": HopfieldRetrieval(patterns, "dot").scores,
        "footprint (this library)": HopfieldRetrieval(patterns, Footprint(dim)).scores,
        "footprint, unsorted (matrix products)": HopfieldRetrieval(patterns, Footprint(dim, sort=False)).scores,
    }
    if naive_bytes <= 2**31:
        variants["footprint, naive (torch.sort + cumsum, autograd)"] = lambda q, s=naive, k=patterns: _naive_footprint(s, q[None, None], k[None, None])[0, 0]

    def infer(scores, queries=queries):
        with torch.no_grad():
            scores(queries)

    def train_step(scores, queries=queries, index=index):
        loss = likelihood_loss(scores(queries), index)
        if loss.requires_grad:
            loss.backward()

    inference = time_interleaved({label: partial(infer, fn) for label, fn in variants.items()}, cfg.speed_rounds, warmup=1)
    training = time_interleaved({label: partial(train_step, fn) for label, fn in variants.items() if "M-Hop" not in label}, cfg.speed_rounds, warmup=1)
    for label in variants:
        infer_ms = statistics.median(inference[label]) * 1e3
        train_ms = statistics.median(training[label]) * 1e3 if label in training else None
        rows.append([dim, count, label, f"{infer_ms:.0f}", "—" if train_ms is None else f"{train_ms:.0f}", ""])
        log(f"[speed] d={dim} N={count} {label}: inference {infer_ms:.0f} ms, training {'—' if train_ms is None else f'{train_ms:.0f} ms'}")
    if naive_bytes > 2**31:
        rows.append([dim, count, "footprint, naive (torch.sort + cumsum, autograd)", "—", "—", f"skipped: {naive_bytes / 2**30:.1f} GiB of autograd buffers"])
    return {"rows": rows}


# Peak memory from /proc/self/status (VmHWM, VmRSS): ru_maxrss would carry the parent's high-water mark across exec.
_MEMORY_PROBE = """
import sys, time, torch
from hopfield_layers.results import process_memory_mib
from hopfield_layers.similarity import Footprint
size, dim = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
query = torch.randn(1, 1, size, dim, requires_grad=True)
key = torch.randn(1, 1, size, dim, requires_grad=True)
sim = Footprint(dim, max_memory=2**28)
base = process_memory_mib("VmRSS")
start = time.perf_counter()
scores = sim(query, key)
forward = time.perf_counter() - start
(scores.softmax(-1) @ key[0, 0]).square().sum().backward()
total = time.perf_counter() - start
peak = process_memory_mib("VmHWM")
print(peak, peak - base, forward, total - forward, float(sim.weight.grad.abs().sum()) > 0, float(query.grad.abs().sum()) > 0)
"""


def memory_row(runs: Runs, size: int, dim: int, retime: bool = False) -> list[object]:
    """The peak-memory row, measured in a fresh process; cached with the runs (``retime`` measures again)."""
    return runs.get_or_run(f"memory|{size}|{dim}", partial(_memory_probe, size, dim), fields=(), refresh=retime, device="cpu")["row"]


def _memory_probe(size: int, dim: int) -> dict[str, list[object]]:
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(size), str(dim)], capture_output=True, text=True, check=True)
    peak, extra, forward, backward, grad_w, grad_q = done.stdout.split()
    materialised = size * size * dim * 4 / 2**30
    return {
        "row": [
            f"L = S = {size}, E = {dim}",
            f"{float(peak):.0f}",
            f"{float(extra):.0f}",
            f"{materialised:.1f}",
            f"{float(forward):.1f}",
            f"{float(backward):.1f}",
            "ok" if grad_w == grad_q == "True" else "missing",
        ]
    }


# ---------------------------------------------------------------------------------------- tables
def mixed_tables(runs: Runs, results: ResultsFile, data_root, log) -> dict:
    cfg, summary = runs.cfg, {}
    models = {name: {"model": name} for name in COLUMNS}
    for count in cfg.sizes:
        acc_rows, err_rows = [], []
        counts = [seeds_of(cfg, "mixed", count, difficulty) for difficulty in cfg.mixed]
        varying = len(set(counts)) > 1  # some settings have more runs than others: a runs column says which
        for difficulty, seeds in zip(cfg.mixed, counts):
            collected = run_models(runs, "mixed", "random", count, difficulty, models, data_root, log)
            summary[(count, difficulty)] = {name: _mean(m, "accuracy") for name, m in collected.items()}
            label = [difficulty_label(*difficulty)] + ([seeds] if varying else [])
            acc_rows.append(label + [_stat(collected[name], "accuracy") for name in COLUMNS])
            err_rows.append(label + [_stat(collected[name], "error") for name in COLUMNS])
        headers = ["(d_mask, d_noise, d_bias)", *(["runs"] if varying else []), *MODELS, f"{ORACLE} (reference)"]
        over = f"the runs of each row, {min(counts)}–{max(counts)}" if varying else f"{counts[0]} runs"
        note = (
            "The paper's per-setting numbers for this table were not available to us (only Table 2 is quoted in the issue); no paper column. "
            f"{ORACLE}: the maximum a posteriori pattern under the true variant distribution (independent-mask approximation), an upper reference, not a memory model."
        )
        results.add_table(headers, acc_rows, title=f"Mixed variants, random patterns U[-1, 1]^{cfg.dim}, N = {count}: accuracy (mean ± std over {over})", note=note)
        results.add_table(headers, err_rows, title=f"Mixed variants, N = {count}: error E‖T(x) − ξ‖² / d")
    return summary


def hard_table(runs: Runs, results: ResultsFile, data_root, log) -> None:
    cfg = runs.cfg
    rows, reading_rows = [], []
    for source, level in cfg.hard:
        count = cfg.mnist_patterns if source == "mnist" else cfg.sizes[0]
        oracle = source != "mnist" or cfg.mnist_oracle
        # on MNIST the oracle is a run group of its own ("hard-oracle"): it costs minutes at d = 784 and
        # can be added to cached model runs
        models = {name: {"model": name} for name in (COLUMNS if source != "mnist" else MODELS)}
        collected = run_models(runs, "hard", source, count, (level, level, level), models, data_root, log)
        if source == "mnist" and oracle:
            collected |= run_models(runs, "hard-oracle", source, count, (level, level, level), {ORACLE: {"model": ORACLE}}, data_root, log)
        if source != "mnist":  # a run group of its own, added to cached model runs
            collected |= run_models(runs, "hard-optimum", source, count, (level, level, level), {OPTIMUM: {"model": OPTIMUM}}, data_root, log)
        else:  # likewise; at d = 64 it would repeat A-Hop
            collected |= run_models(runs, "hard-scaled-lr", source, count, (level, level, level), {SCALED_LR: {"model": "A-Hop", "scale_lr": True}}, data_root, log)
        paper = PAPER_HARD.get((source, level), {})
        setting = f"{'MNIST' if source == 'mnist' else 'random'} ({level}, {level}, {level})"
        stated = seeds_of(cfg, seed_group("hard", source))  # the count the table's title states
        for name in sorted(collected, key=[*MODELS, SCALED_LR, OPTIMUM, ORACLE].index):  # A-Hop's variants right after it
            p_acc, p_err = paper.get(name, (None, None))
            cells = [_stat(collected[name], "accuracy"), "—" if p_acc is None else f"{p_acc:.3f}", _stat(collected[name], "error"), "—" if p_err is None else f"{p_err:.3f}"]
            runs_of_row = len(collected[name])
            label = name if runs_of_row == stated else f"{name} ({runs_of_row} run{'s' if runs_of_row > 1 else ''})"
            rows.append([setting, label, *cells])
        if not oracle:
            continue
        as_variance = (level, level**0.5, level)
        oracle_variance = run_models(runs, "hard-variance", source, count, as_variance, {ORACLE: {"model": ORACLE}}, data_root, log)[ORACLE]
        paper_acc = [f"{paper[name][0]:.3f}" if name in paper else "—" for name in ("A-Hop", "M-Hop")]
        reading_rows.append([setting, _stat(collected[ORACLE], "accuracy"), _stat(oracle_variance, "accuracy"), *paper_acc])
    results.add_table(
        ["setting", "model", "accuracy (ours)", "accuracy (paper, Table 2)", "error (ours)", "error (paper, Table 2)"],
        rows,
        title=(
            f"High difficulty (Table 2): random N = {cfg.sizes[0]}, d = {cfg.dim}, mean ± std over {seeds_of(cfg, 'hard')} runs; "
            f"MNIST N = {cfg.mnist_patterns} test digits, d = 784, {seeds_of(cfg, 'mnist')} run(s)"
        ),
        note=(
            "Paper values are those quoted in the issue (A-Hop accuracy and error, M-Hop accuracy); '—' where not quoted. Our error is per dimension, "
            f"E‖T(x) − ξ‖² / d, in the data's own scale ([-1, 1]). {OPTIMUM}: A-Hop (the same footprint, U triangular, β_b = 1) whose weights "
            f"minimise the likelihood loss exactly on one fixed set of {cfg.optimum_train} training variants: once q is sorted the score is linear "
            "in u_b = β_b Uᵀw_b, so the loss is convex and L-BFGS on the precomputed sorted similarities finds its global minimum "
            f"(≤ {cfg.optimum_max_iter} iterations); the best the footprint similarity can do under the loss A-Hop is trained with. Random patterns only "
            f"(at d = 784 the sorted similarities of 2048 variants would take 26 GB). {SCALED_LR}: A-Hop trained exactly as A-Hop (same patterns, "
            f"variants and seeds) but with Adam's rate scaled by {LR_REFERENCE_DIM} / d: u_j = Σ_{{k≥j}} w_k, so a step of lr on every w_k moves u_1 by up to lr·d, "
            f"and the paper's 0.1 comes within 0.01 of the loss optimum at d = 64; MNIST only (at d = 64 it is A-Hop).{'' if cfg.mnist_oracle else f' The {ORACLE} was not run on MNIST in this run (its float64 likelihood costs minutes per setting at d = 784).'}"
        ),
    )
    results.add_table(
        ["setting", f"{ORACLE}: d_noise a standard deviation (ours)", f"{ORACLE}: d_noise a variance", "A-Hop (paper)", "M-Hop (paper)"],
        reading_rows,
        title="Which noise level? The best possible accuracy under the two readings of N(0, d_noise·I)",
        note=(
            "The oracle's accuracy bounds every retrieval under that reading of the noise: a paper number above it cannot come from "
            "variants generated that way. All our tables use the standard-deviation reading (x ← ξ + d_noise·ε)."
        ),
    )


def ablation_table(runs: Runs, results: ResultsFile, data_root, log) -> None:
    cfg = runs.cfg
    unknown = [label for label in cfg.ablations if label not in ALL_ABLATIONS]
    if unknown:
        raise ValueError(f"unknown ablations {unknown}; expected labels of {ALL_ABLATIONS}")
    collected: dict[str, list[dict]] = {}
    for part, group in ABLATION_GROUPS.items():
        models = {label: options for label, options in group.items() if label in cfg.ablations}
        if models:
            collected |= run_models(runs, part, "random", cfg.sizes[0], ABLATION_SETTING, models, data_root, log)
    rows = [
        [label, len(collected[label]), _stat(collected[label], "accuracy"), _stat(collected[label], "error"), f"{_mean(collected[label], 'train_s'):.0f}"]
        for label in cfg.ablations
    ]
    results.add_table(
        ["A-Hop variant", "runs", "accuracy", "error", "training time (s, mean)"],
        rows,
        title=f"Ablations on random patterns, N = {cfg.sizes[0]}, d = {cfg.dim}, {difficulty_label(*ABLATION_SETTING)}, mean ± std over the runs of each row",
        note=f"'a fixed training set': every epoch passes over the same {cfg.epoch_size} variants (drawn once) instead of fresh ones (the paper's 512 training samples vs unlimited). 'U = random': fixed U[0, 1) entries; every variant starts from Uᵀw = 1 (the base similarity). "
        f"'weights per stored pattern': a footprint weight vector w_b per stored pattern and base ({cfg.sizes[0]} × 2 × {cfg.dim} weights), "
        "each initialised as A-Hop's; 'learnable prior bias': a learnable b_k added to the score of stored pattern k (init 0).",
    )


def figure(summary: dict, cfg: Config, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(cfg.sizes), 1, figsize=(12, 3.2 * len(cfg.sizes)), squeeze=False)
    width = 0.8 / len(MODELS)
    for ax, count in zip(axes[:, 0], cfg.sizes):
        for j, name in enumerate(MODELS):
            values = [summary[(count, d)][name] for d in cfg.mixed]
            ax.bar([i + (j - len(MODELS) / 2 + 0.5) * width for i in range(len(cfg.mixed))], values, width, label=name)
        oracle = [summary[(count, d)][ORACLE] for d in cfg.mixed]
        ax.scatter(range(len(cfg.mixed)), oracle, marker="_", s=900, color="black", label=f"{ORACLE} (reference)", zorder=3)
        ax.set_xticks(range(len(cfg.mixed)), [difficulty_label(*d) for d in cfg.mixed])
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        counts = sorted({seeds_of(cfg, "mixed", count, d) for d in cfg.mixed})
        runs = f"{counts[0]} runs" if len(counts) == 1 else f"{counts[0]}–{counts[-1]} runs per setting"
        ax.set_title(f"random patterns, N = {count}, d = {cfg.dim} (mean over {runs})")
    axes[0, 0].legend(ncol=len(COLUMNS), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.35))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def overrides(assignments: list[str]) -> dict[str, object]:
    """``["epochs=20", "mixed=[(0.8, 0, 0)]"]`` → ``{"epochs": 20, "mixed": [(0.8, 0, 0)]}`` (Config fields only)."""
    names, parsed = {f.name for f in fields(Config)}, {}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        if name not in names or not value:
            raise ValueError(f"--set expects FIELD=VALUE with FIELD one of {sorted(names)}; got {assignment!r}")
        try:
            parsed[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError) as error:
            raise ValueError(f"--set {name}: {value!r} is not a Python literal") from error
    return parsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "retrieval_variants.md")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--cache", type=Path, default=None, help="JSON file keeping per-run metrics (resume, split runs)")
    parser.add_argument("--seeds", type=int, default=None, help="number of runs per setting (default 5; quick 2)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="numbers of stored random patterns (default 2048 4096); the first is used by 'hard' and 'ablation'")
    parser.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE", help="override Config fields (Python literals), e.g. epochs=20 'mixed=[(0.8, 0, 0)]'")
    parser.add_argument("--data-root", default=None, help="data root (default $HOPFIELD_DATA)")
    parser.add_argument("--retime", action="store_true", help="measure the speed and memory tables again instead of using the cached ones")
    parser.add_argument(
        "--device",
        default=None,
        help="where the runs train and evaluate: cpu (default) or cuda[:N]; the variants are the same on any device, the run keys do not "
        "change, a run off the CPU says so in the report, and the speed and memory tables always measure the CPU",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    if args.seeds is not None:
        cfg = replace(cfg, seeds=args.seeds)
    if args.sizes is not None:
        cfg = replace(cfg, sizes=tuple(args.sizes))
    try:
        cfg = replace(cfg, **overrides(args.set))
    except ValueError as error:
        parser.error(str(error))
    if args.device is not None:
        cfg = replace(cfg, device=args.device)
    try:
        device = torch.device(cfg.device)
    except (RuntimeError, TypeError) as error:
        parser.error(f"--device must be cpu or cuda[:N]; got {cfg.device!r} ({error})")
    if device.type not in ("cpu", "cuda") or (device.type == "cuda" and not torch.cuda.is_available()):
        parser.error(f"--device {cfg.device!r} is not available here: cpu, or cuda[:N] where torch.cuda.is_available() (it is {torch.cuda.is_available()})")
    if not isinstance(cfg.part_seeds, dict) or any(
        not isinstance(k, str) or (k not in SEED_PARTS and not _SIZED_SEED_PART.fullmatch(k)) or isinstance(v, bool) or not isinstance(v, int) or v < 1
        for k, v in cfg.part_seeds.items()
    ):
        parser.error(
            f"part_seeds must map names from {SEED_PARTS} (or 'mixed@N', N stored patterns, or 'mixed@N(.8,0,0)', one mixed setting) to positive ints; got {cfg.part_seeds!r}"
        )
    labels = [difficulty_label(*d) for d in dict.fromkeys([*MIXED, *cfg.mixed])]
    unknown_settings = sorted(k for k in cfg.part_seeds if (m := _SIZED_SEED_PART.fullmatch(k)) and m["setting"] and m["setting"] not in labels)
    if unknown_settings:
        parser.error(f"part_seeds names unknown mixed settings {unknown_settings}; expected 'mixed@N' followed by one of {labels}")
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}; expected a subset of {PARTS}")
    torch.manual_seed(0)

    def log(message: str) -> None:
        print(message, flush=True)

    runs = Runs(args.cache, cfg)
    results = ResultsFile(
        "Memory retrieval from variants: the adaptive Hopfield network (A-Hop)",
        seeds=list(range(max([cfg.seeds, *cfg.part_seeds.values()]))),
        description=(
            "Reproduces the memory-retrieval experiments of Wang et al. (2025, arXiv 2511.20609): stored patterns are "
            "retrieved from variants (noise N(0, d_noise·I), then round(d·d_mask) dimensions replaced by U[-1, 1], then a "
            "random-sign shift ±d_bias). Accuracy = P[argmin_ξ' ‖T(x) − ξ'‖ = ξ], error = E‖T(x) − ξ‖² / d, on "
            f"{cfg.test_queries} held-out variants per run, mean ± std over the runs stated in each table (run r: seed r for the patterns, "
            f"{TRAIN_SEED} + r for training variants, {TEST_SEED} + r for test variants). Models: M-Hop (dot + softmax, β = 1), S-Hop "
            "(dot + sparsemax, β = 1), U-Hop (−L1 + argmax), K-Hop (linear Φ, init identity, trained with the uniformity "
            f"loss on the stored patterns: Adam lr {KERNEL_LR}/√d, {cfg.kernel_epochs} epochs), K2-Hop (the same Φ trained "
            f"with the likelihood loss, lr {KERNEL_LR}/√d), MLP (4 layers, hidden {cfg.mlp_hidden}) and A-Hop (footprint similarity, dis + dot, "
            "U triangular, init = base similarity, + softmax, β = 1). Trained models minimise the likelihood loss "
            f"E[−log softmax(s(Ξ, x))_k] with Adam (lr: A-Hop 0.1, MLP 0.001) for {cfg.epochs} epochs"
            f"{'' if cfg.mnist_epochs is None else f' ({cfg.mnist_epochs} on MNIST)'}; an epoch "
            f"passes over {cfg.epoch_size} fresh variants in batches of {cfg.batch_size}. Runs and timings were taken on 2-core CPUs (a run on a GPU says so below), "
            "with other work possibly running."
        ),
    )
    full = Config()
    changed = [
        f"`{f.name}` = {getattr(cfg, f.name)!r} (full: {getattr(full, f.name)!r})"
        for f in fields(Config)
        if f.name != "device" and getattr(cfg, f.name) != getattr(full, f.name)  # where runs train is not a protocol change
    ]
    if changed:
        results.add_text(
            "**Reduced protocol** (to fit the CPU budget of this run; nothing is extrapolated). This run differs from the full protocol in: "
            + "; ".join(changed)
            + ". The full protocol is `python experiments/retrieval_variants.py --cache results/retrieval_variants.json` (resumable; "
            "`--parts` splits it into separate processes)."
        )
    summary = None
    if "mixed" in parts:
        summary = mixed_tables(runs, results, args.data_root, log)
        image = args.out.with_suffix(".png")
        figure(summary, cfg, image)
        results.add_image(image, f"Accuracy of every model on the {len(cfg.mixed)} mixed settings run (random patterns).")
    if "hard" in parts:
        hard_table(runs, results, args.data_root, log)
    if "ablation" in parts:
        ablation_table(runs, results, args.data_root, log)
    if "speed" in parts:
        rows = speed_rows(runs, log, retime=args.retime)
        results.add_table(
            ["d", "N", "similarity", "inference (ms)", "training step (ms)", "note"],
            rows,
            title=f"Speed: one batch of {cfg.speed_queries} queries against N stored patterns (median of {cfg.speed_rounds} interleaved rounds)",
            note=(
                "Inference = scores without gradient; training step = scores, likelihood loss and backward pass to the "
                "similarity's parameters (the retrieval benchmark's step). 'this library' = NumPy's values-only sort, "
                "u = Uᵀw (no cumsum over the footprint), chunks of stored patterns recomputed in the backward pass. "
                "The paper's Table 14 was not available to us; no paper column. With `--cache` the timings are kept with the runs "
                "and reused when the tables are rendered again (`--retime` measures again)."
            ),
        )
    if "memory" in parts:
        results.add_table(
            ["problem", "peak RSS (MiB)", "above start (MiB)", "one materialised (L, S, E) float32 tensor (GiB)", "forward (s)", "backward (s)", "gradients"],
            [memory_row(runs, cfg.memory_size, 64, retime=args.retime)],
            title="Peak memory: footprint similarity forward + backward (gradients to queries, keys and weights)",
            note="Measured in a fresh process (VmHWM of /proc/self/status: the whole process, Python and torch included), max_memory = 256 MiB per chunk; cached like the timings.",
        )
    results.description += "\n\n" + runs.provenance_text()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results.write(args.out)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
