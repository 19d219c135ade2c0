"""Reproduce the multiple-instance-learning tables: bit patterns (Hu et al. 2023) and the MIL benchmarks.

    python experiments/reproduce_mil.py [--part {bit_pattern,benchmarks,all}] [--protocol {full,reduced,small}]
                                        [--workers 2] [--budget-minutes M] [--cache results/runs/mil.jsonl]
                                        [--seeds N] [--hopfield-max-bag-size N [KIND=N ...]] [--out-dir results] [--quick]
                                        [--accelerator {cpu,gpu,auto}]

Writes ``results/mil_bit_pattern.md`` and ``results/mil_benchmarks.md``. Every training run (one
dataset/setting, model variant, fold and seed) is recorded as one JSON line in ``--cache`` (the run
record kept beside the tables, ``results/runs/mil.jsonl``), keyed by all its settings; a later call
skips recorded runs, so ``--budget-minutes`` chunks of the protocol accumulate, and the tables are
rendered from whatever is recorded for the chosen protocol (each cell says how many runs it holds
when it is incomplete).

Bit patterns (Hu et al. 2023, Appendix H.1.1; hyperparameters of their Table 10: batch 128, AdamW
lr 1e-3, β = 0.25, 8 heads of size 8, 3 update steps, dropout 0.5): bag sizes 20–300 with one
signal per positive bag, and bag sparsity 1–50 % at bag size 200; rows are Hopfield and
HopfieldPooling with every separation (+ the footprint similarity when it is registered) and the
attention / gated-attention pooling of Ilse et al. (2018); test accuracy at the best validation
epoch, mean ± std over seeds.

Benchmarks (Tiger, Fox, Elephant, UCSB, Musk1, Musk2; ``$HOPFIELD_DATA/mil``): stratified 10-fold
cross-validation, 10 % of each training part held out for validation, early stopping on validation
ROC-AUC and testing the best validation epoch; the hyperparameter grid is searched on the first fold
(first seed) only, then every fold is trained with each seed (a new fold assignment and
initialisation per seed); ROC-AUC: mean over folds per seed, mean ± std over seeds.

``--accelerator gpu`` trains each run on the GPU (Lightning's accelerator; the run keys do not change, each
new run records the device it trained on, and the tables state the CPU- and GPU-hours separately).
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import datetime
import functools
import hashlib
import itertools
import json
import logging
import math
import multiprocessing
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hopfield_layers.results import ResultsFile, append_json_line, mean_std, read_json_lines  # noqa: E402
from hopfield_layers.similarity import SIMILARITIES  # noqa: E402

PAPERS = {
    "dense": ("Hu et al. 2023, Table 2 (dense)", {"tiger": 0.878, "fox": 0.600, "elephant": 0.907, "ucsb": 0.880}),
    "sparse": ("Hu et al. 2023, Table 2 (sparse)", {"tiger": 0.892, "fox": 0.611, "elephant": 0.912, "ucsb": 0.877}),
    "footprint": ("A-Hop paper, Table 4 (A-Hop)", {"tiger": 0.9030, "fox": 0.6753, "elephant": 0.9451, "ucsb": 0.8935}),
}
#: where each paper column comes from, as the tables' notes say it
PAPER_SOURCES = "; ".join(f"{kind}: {label}" for kind, (label, _) in PAPERS.items())
DATASETS = ("tiger", "fox", "elephant", "ucsb", "musk1", "musk2")


def paper_number(kind: str, dataset: str) -> float | None:
    """The paper's mean ROC-AUC for a model kind on a dataset (None where no paper reports one)."""
    return PAPERS.get(kind, ("", {}))[1].get(dataset)


#: what a benchmark run's best checkpoint and early stopping go by (see :attr:`BenchmarkProtocol.selection`)
SELECTIONS = ("auroc", "auroc_then_loss")


# ---------------------------------------------------------------------- what is run
@dataclass(frozen=True)
class Variant:
    """A table row: the pooling layer and its separation/similarity."""

    name: str
    layer: str  # "hopfield", "hopfield_pooling", "attention", "gated_attention"
    separation: str = "softmax"
    similarity: str = "dot"


#: the Hopfield rows' kinds (their names' first word, as ``--hopfield-max-bag-size KIND=N`` takes them):
#: kind → (separation, similarity)
HOPFIELD_ROWS = {"dense": ("softmax", "dot"), "sparse": ("sparsemax", "dot"), "entmax": ("entmax15", "dot"), "footprint": ("softmax", "footprint")}
HOPFIELD_KINDS = tuple(HOPFIELD_ROWS)


def hopfield_variants(layers: tuple[str, ...]) -> list[Variant]:
    """Dense, sparse and entmax rows per layer, plus footprint rows when that similarity is registered."""
    label = {"hopfield": "Hopfield", "hopfield_pooling": "HopfieldPooling"}
    kinds = {kind: row for kind, row in HOPFIELD_ROWS.items() if row[1] in SIMILARITIES}
    return [Variant(f"{kind} {label[layer]}", layer, separation, similarity) for layer in layers for kind, (separation, similarity) in kinds.items()]


def parse_bag_limits(tokens: list[str]) -> tuple[int | None, tuple[tuple[str, int], ...]]:
    """``["100", "footprint=50"]`` → ``(100, (("footprint", 50),))``; ValueError naming the bad token."""
    size: int | None = None
    by_kind: dict[str, int] = {}
    for token in tokens:
        kind, sep, value = token.rpartition("=")
        if sep and kind not in HOPFIELD_KINDS:
            raise ValueError(f"--hopfield-max-bag-size: the kind in {token!r} must be one of {', '.join(HOPFIELD_KINDS)}")
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"--hopfield-max-bag-size: {token!r} must be N or KIND=N with N ≥ 1")
        if (kind in by_kind) if kind else (size is not None):
            raise ValueError(f"--hopfield-max-bag-size: {token!r} repeats a limit already given")
        if kind:
            by_kind[kind] = int(value)
        else:
            size = int(value)
    return size, tuple(by_kind.items())


def bit_pattern_variants(layers: tuple[str, ...] = ("hopfield", "hopfield_pooling", "attention", "gated_attention")) -> list[Variant]:
    """The bit-pattern rows of the given layers (Hopfield rows per separation/similarity, then the attention baselines)."""
    hopfield = hopfield_variants(tuple(layer for layer in ("hopfield", "hopfield_pooling") if layer in layers))
    baselines = [Variant(name, layer) for name, layer in (("attention (Ilse et al.)", "attention"), ("gated attention (Ilse et al.)", "gated_attention")) if layer in layers]
    return [*hopfield, *baselines]


def benchmark_variants() -> list[Variant]:
    return [Variant(v.name.split()[0], v.layer, v.separation, v.similarity) for v in hopfield_variants(("hopfield_pooling",))]


@dataclass(frozen=True)
class BitPatternProtocol:
    bag_sizes: tuple[int, ...] = (20, 50, 100, 150, 200, 300)
    sparsity_bag_size: int = 200
    sparsities: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5)
    seeds: tuple[int, ...] = tuple(range(10))
    num_bits: int = 8
    num_signals: int = 8
    num_train: int = 1000
    num_val: int = 250
    num_test: int = 500
    max_epochs: int = 30
    patience: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    embedding: tuple[int, ...] = (64,)
    num_heads: int = 8
    head_dim: int = 8
    scaling: float = 0.25
    update_steps: int = 3
    dropout: float = 0.5
    attention_hidden: int = 64
    layers: tuple[str, ...] = ("hopfield", "hopfield_pooling", "attention", "gated_attention")
    #: run the ``Hopfield`` rows (self-association over the whole bag) only for bags up to this size (None: all)
    hopfield_max_bag_size: int | None = None
    #: per-row exceptions to ``hopfield_max_bag_size``: (kind, size) with kind the row's first word (e.g. "footprint")
    hopfield_max_bag_size_by_kind: tuple[tuple[str, int], ...] = ()

    def hopfield_limit(self, variant: Variant) -> int | None:
        """The largest bag a row is run on (None: every bag); only ``Hopfield`` rows are limited."""
        if variant.layer != "hopfield":
            return None
        return dict(self.hopfield_max_bag_size_by_kind).get(variant.name.split()[0], self.hopfield_max_bag_size)

    def hopfield_limits_text(self, long: bool = False) -> str:
        """``"bags ≤ 100 (footprint ≤ 50)"``, or with ``long`` ``"bags of up to 100 instances (footprint: up to 50)"``."""
        if self.hopfield_max_bag_size is None:
            text = "bags of any size" if long else "all bags"
        else:
            text = f"bags of up to {self.hopfield_max_bag_size} instances" if long else f"bags ≤ {self.hopfield_max_bag_size}"
        if self.hopfield_max_bag_size_by_kind:
            text += " (" + ", ".join(f"{kind}: up to {size}" if long else f"{kind} ≤ {size}" for kind, size in self.hopfield_max_bag_size_by_kind) + ")"
        return text

    def settings(self) -> list[tuple[str, int, int]]:
        """(table, bag size, positives per positive bag)."""
        sizes = [("bag size", size, 1) for size in self.bag_sizes]
        return sizes + [("bag sparsity", self.sparsity_bag_size, max(1, round(s * self.sparsity_bag_size))) for s in self.sparsities]


#: the recorded ROC-AUCs are float32 values: a mean this close to a paper number counts as equal to it
AUROC_RESOLUTION = 1e-6


def meets_paper(mean: float, paper: float) -> bool:
    """Whether a mean of recorded ROC-AUCs is at or above the paper's number (equal up to ``AUROC_RESOLUTION``)."""
    return mean >= paper - AUROC_RESOLUTION


#: the benchmark hyperparameter grid (a reduction of Hu et al. 2023, Table 12; their public script searches
#: β ∈ {0.1, 10}, we keep 1 between them).
FULL_GRID = {
    "lr": (1e-3, 1e-4),
    "embedding": ((64,), (128, 128)),
    "heads_dim": ((8, 16), (12, 32)),
    "scaling": (0.1, 1.0, 10.0),
    "dropout": (0.0, 0.75),
}


@dataclass(frozen=True)
class BenchmarkProtocol:
    datasets: tuple[str, ...] = DATASETS
    num_folds: int = 10
    seeds: tuple[int, ...] = tuple(range(5))
    max_epochs: int = 50
    patience: int = 10
    batch_size: int = 4
    lr_decay: float = 0.98
    weight_decay: float = 1e-4
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = tuple(FULL_GRID.items())
    #: what the best checkpoint and early stopping of every run go by: ``"auroc"`` (validation ROC-AUC; the first
    #: epoch at the best value wins) or ``"auroc_then_loss"`` (ties on the ROC-AUC broken by the validation loss)
    selection: str = "auroc"

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}; got {self.selection!r}")

    def configs(self) -> list[dict[str, Any]]:
        names = [name for name, _ in self.grid]
        return [dict(zip(names, values)) for values in itertools.product(*(values for _, values in self.grid))]


PROTOCOLS = {
    "full": (BitPatternProtocol(), BenchmarkProtocol()),
    # what fits a few hours of a 2-core CPU (see the results files for what was run)
    "reduced": (
        BitPatternProtocol(seeds=tuple(range(5)), num_train=500, max_epochs=20, patience=5),
        BenchmarkProtocol(
            seeds=tuple(range(3)),
            max_epochs=30,
            patience=8,
            grid=(("lr", (1e-3, 1e-4)), ("embedding", ((64,), (128, 128))), ("scaling", (0.1, 1.0)), ("dropout", (0.0, 0.75)), ("heads_dim", ((8, 16),))),
        ),
    ),
    # a few CPU-hours of this 2-core CPU: the bit-pattern table at 5 seeds and a short training budget
    # (lr 3e-3, 1 update step, 25 epochs; Hopfield rows for bags ≤ 50), the benchmarks at 5 folds with one configuration
    "small": (
        BitPatternProtocol(
            seeds=tuple(range(5)),
            num_train=1000,
            num_val=200,
            num_test=500,
            max_epochs=25,
            patience=8,
            lr=3e-3,
            update_steps=1,
            hopfield_max_bag_size=50,
        ),
        BenchmarkProtocol(
            num_folds=5,
            seeds=(0, 1),
            max_epochs=20,
            patience=5,
            grid=(("lr", (1e-3,)), ("embedding", ((64,),)), ("heads_dim", ((8, 16),)), ("scaling", (0.1,)), ("dropout", (0.0,))),
        ),
    ),
    "quick": (
        BitPatternProtocol(
            bag_sizes=(10,), sparsity_bag_size=10, sparsities=(), seeds=(0,), num_bits=4, num_signals=2, num_train=32, num_val=16, num_test=16, max_epochs=2, batch_size=16
        ),
        BenchmarkProtocol(
            datasets=("musk1",),
            num_folds=3,
            seeds=(0,),
            max_epochs=2,
            grid=(("lr", (1e-3,)), ("embedding", ((16,),)), ("heads_dim", ((2, 8),)), ("scaling", (0.1,)), ("dropout", (0.0,))),
        ),
    ),
}


@dataclass(frozen=True)
class Unit:
    """One training run; ``key`` identifies it in the cache."""

    part: str
    params: dict[str, Any] = field(hash=False)

    @property
    def key(self) -> str:
        text = json.dumps({"part": self.part, **self.params}, sort_keys=True, default=list)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------- one run (in a worker)
def _pooling(variant: Variant, heads: int, head_dim: int, scaling: float, steps: int, dropout: float, attention_hidden: int) -> Any:
    from hopfield_layers import Hopfield, HopfieldPooling
    from hopfield_layers.models.mil import AttentionPooling

    if variant.layer in ("attention", "gated_attention"):
        return functools.partial(AttentionPooling, hidden_size=attention_hidden, gated=variant.layer == "gated_attention")
    layer = HopfieldPooling if variant.layer == "hopfield_pooling" else Hopfield
    return functools.partial(
        layer, num_heads=heads, hidden_size=head_dim, scaling=scaling, update_steps_max=steps, dropout=dropout, separation=variant.separation, similarity=variant.similarity
    )


def _fit_and_test(
    network: Any,
    data: Any,
    *,
    lr: float,
    weight_decay: float,
    lr_decay: float | None,
    max_epochs: int,
    patience: int,
    monitor: str,
    threshold: float | None,
    tie_break: str | None = None,
    accelerator: str = "cpu",
) -> dict[str, Any]:
    """Fit with early stopping on ``monitor`` (ties on it broken by the logged ``tie_break`` metric, smaller better,
    when given), then validate and test the best checkpoint. ``best_val`` is ``monitor`` at that checkpoint."""
    import torch
    from lightning.pytorch import Trainer
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from hopfield_layers.lit import TaskModule, TieBreakMetric

    scheduler = functools.partial(torch.optim.lr_scheduler.ExponentialLR, gamma=lr_decay) if lr_decay else None
    module = TaskModule(
        network, task="binary", metrics=["accuracy", "auroc"], optimizer=functools.partial(torch.optim.AdamW, lr=lr, weight_decay=weight_decay), scheduler=scheduler
    )
    with tempfile.TemporaryDirectory() as workdir:
        ranking = [TieBreakMetric(monitor, tie_break)] if tie_break else []
        watched = ranking[0].name if ranking else monitor
        checkpoint = ModelCheckpoint(dirpath=workdir, monitor=watched, mode="max")
        stopping = EarlyStopping(monitor=watched, mode="max", patience=patience, stopping_threshold=threshold)
        trainer = Trainer(
            max_epochs=max_epochs,
            accelerator=accelerator,
            devices=1,
            logger=False,
            callbacks=[*ranking, checkpoint, stopping],
            gradient_clip_val=1.0,
            num_sanity_val_steps=0,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=workdir,
        )
        trainer.fit(module, data)
        val = trainer.validate(module, data, ckpt_path="best", verbose=False)[0]
        test = trainer.test(module, data, ckpt_path="best", verbose=False)[0]
    return {
        "best_val": float(val[monitor] if tie_break else checkpoint.best_model_score),
        "val_loss": val["val_loss"],  # of the best checkpoint: breaks ties in the grid search
        "test_accuracy": test["test_accuracy"],
        "test_auroc": test["test_auroc"],
        "epochs": trainer.current_epoch,
        "device": device_name(trainer.strategy.root_device),
    }


def device_name(device: Any) -> str:
    """``"cpu"``, or the GPU's name (e.g. ``"cuda: NVIDIA H100 80GB HBM3"``) for a CUDA device."""
    import torch

    device = torch.device(device)
    return f"cuda: {torch.cuda.get_device_name(device)}" if device.type == "cuda" else device.type


class TrainingTime:
    """The training time of recorded runs, per device: runs recorded without a device trained on the CPU."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, result: dict[str, Any]) -> None:
        self.seconds[result.get("device", "cpu")] += result["seconds"]

    def text(self) -> str:
        """``"7.88 CPU-hours (one thread per run; 2-core CPU)"``, then ``"and 0.50 GPU-hours (cuda: …)"`` per GPU."""
        parts = [f"{self.seconds.get('cpu', 0.0) / 3600:.2f} CPU-hours (one thread per run; 2-core CPU)"]
        parts += [f"{seconds / 3600:.2f} GPU-hours ({device})" for device, seconds in sorted(self.seconds.items()) if device != "cpu"]
        return " and ".join(parts)


def run_unit(unit: Unit, accelerator: str = "cpu") -> dict[str, Any]:
    """Train and test one unit on ``accelerator`` (Lightning's: cpu, gpu, auto); returns its metrics, device and wall time."""
    from lightning.pytorch import seed_everything

    from hopfield_layers.data.mil import BitPatternDataModule, MILBenchmarkDataModule
    from hopfield_layers.models.mil import MILNetwork

    start = time.perf_counter()
    p = unit.params
    variant = Variant(**p["variant"])
    seed_everything(p["seed"], verbose=False)
    if unit.part == "bit_pattern":
        data = BitPatternDataModule(
            bag_size=p["bag_size"],
            num_positive=p["num_positive"],
            num_bits=p["num_bits"],
            num_signals=p["num_signals"],
            num_train=p["num_train"],
            num_val=p["num_val"],
            num_test=p["num_test"],
            seed=p["seed"],
            batch_size=p["batch_size"],
        )
        pooling = _pooling(variant, p["num_heads"], p["head_dim"], p["scaling"], p["update_steps"], p["dropout"], p["attention_hidden"])
        network = MILNetwork(p["num_bits"], pooling, embedding_sizes=tuple(p["embedding"]), bag_size=p["bag_size"])
        result = _fit_and_test(
            network,
            data,
            lr=p["lr"],
            weight_decay=0.01,
            lr_decay=None,
            max_epochs=p["max_epochs"],
            patience=p["patience"],
            monitor="val_accuracy",
            threshold=1.0,
            accelerator=accelerator,
        )
    else:
        data = MILBenchmarkDataModule(p["dataset"], fold=p["fold"], num_folds=p["num_folds"], split_seed=p["seed"], batch_size=p["batch_size"])
        heads, head_dim = p["heads_dim"]
        pooling = _pooling(variant, heads, head_dim, p["scaling"], 0, p["dropout"], 0)
        network = MILNetwork(data.num_features, pooling, embedding_sizes=tuple(p["embedding"]))
        result = _fit_and_test(
            network,
            data,
            lr=p["lr"],
            weight_decay=p["weight_decay"],
            lr_decay=p["lr_decay"],
            max_epochs=p["max_epochs"],
            patience=p["patience"],
            monitor="val_auroc",
            threshold=None,
            tie_break="val_loss" if p.get("selection", "auroc") == "auroc_then_loss" else None,
            accelerator=accelerator,
        )
    return {**result, "seconds": time.perf_counter() - start}


def _quiet() -> None:
    """No per-run Lightning banners or warnings (imported first: Lightning sets its log level on import)."""
    import warnings

    import lightning.pytorch  # noqa: F401

    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)
    _quiet()


# ---------------------------------------------------------------------- the protocol's units
def bit_pattern_units(protocol: BitPatternProtocol) -> Iterator[tuple[tuple[str, int, int], Variant, Unit]]:
    shared = {
        k: v
        for k, v in asdict(protocol).items()
        if k not in ("bag_sizes", "sparsity_bag_size", "sparsities", "seeds", "layers", "hopfield_max_bag_size", "hopfield_max_bag_size_by_kind")
    }
    for setting in protocol.settings():
        for variant in bit_pattern_variants(protocol.layers):
            limit = protocol.hopfield_limit(variant)
            if limit is not None and setting[1] > limit:
                continue
            for seed in protocol.seeds:
                params = {**shared, "bag_size": setting[1], "num_positive": setting[2], "variant": asdict(variant), "seed": seed}
                yield setting, variant, Unit("bit_pattern", params)


def benchmark_params(protocol: BenchmarkProtocol, dataset: str, variant: Variant, config: dict[str, Any], fold: int, seed: int) -> dict[str, Any]:
    # ``selection="auroc"`` (the original protocol) stays out of the parameters so that its recorded runs keep their keys
    excluded = ("datasets", "seeds", "grid") + (("selection",) if protocol.selection == "auroc" else ())
    shared = {k: v for k, v in asdict(protocol).items() if k not in excluded}
    return {**shared, **config, "dataset": dataset, "variant": asdict(variant), "fold": fold, "seed": seed}


class Cache:
    """Results of finished units: one JSON line per unit (part, params, result) in an append-only file.

    The file is the run record behind the tables (``results/runs/mil.jsonl`` by default, kept in the
    repository), so the tables can be re-rendered and extended on another machine without retraining.
    Only the main process writes (workers return their results), so appending needs no locking; a line
    cut off by an interrupted write is ignored on reading.
    """

    def __init__(self, path: Path) -> None:
        if path.exists() and path.is_dir():
            raise ValueError(f"--cache must be a .jsonl file (the run record); got the directory {path}")
        self.path = path
        self._results: dict[str, dict[str, Any]] = {entry["key"]: entry["result"] for entry in read_json_lines(path)}

    def get(self, unit: Unit) -> dict[str, Any] | None:
        return self._results.get(unit.key)

    def put(self, unit: Unit, result: dict[str, Any]) -> None:
        append_json_line(self.path, {"key": unit.key, "part": unit.part, "params": unit.params, "result": result})
        self._results[unit.key] = result


def run_pending(units: list[Unit], cache: Cache, workers: int, deadline: float, require: str | None = None, accelerator: str = "cpu") -> int:
    """Run the uncached units (in ``workers`` processes, on ``accelerator``) until ``deadline``; returns how many ran.

    ``require``: also re-run cached units whose result lacks this entry (``val_loss`` was not recorded before
    it was needed to break ties); runs are deterministic (same seed, one thread), so a re-run reproduces the
    cached metrics and adds the entry.
    """
    pending = [u for u in units if (cached := cache.get(u)) is None or (require is not None and require not in cached)]
    if not pending:
        return 0
    done = 0
    if workers == 1:  # in this process (no start-up cost; used by --quick), one thread as in the workers
        import torch

        _quiet()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for unit in pending:
                if time.time() >= deadline:
                    break
                cache.put(unit, run_unit(unit, accelerator))
                done += 1
        finally:
            torch.set_num_threads(threads)
        return done
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker) as pool:
        queue = iter(pending)
        running: dict[futures.Future, Unit] = {}
        while True:
            while len(running) < workers and time.time() < deadline:
                unit = next(queue, None)
                if unit is None:
                    break
                running[pool.submit(run_unit, unit, accelerator)] = unit
            if not running:
                return done
            finished, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for future in finished:
                unit = running.pop(future)
                cache.put(unit, future.result())
                done += 1
                shown = {k: unit.params[k] for k in ("dataset", "bag_size", "num_positive", "fold", "seed") if k in unit.params}
                print(f"[{done}/{len(pending)}] {unit.part} {unit.params['variant']['name']} {shown}: {cache.get(unit)}", flush=True)


def grid_unit(protocol: BenchmarkProtocol, dataset: str, variant: Variant, config: dict[str, Any]) -> Unit:
    """The grid search's run of ``config``: fold 1 with the protocol's first seed."""
    return Unit("benchmarks", benchmark_params(protocol, dataset, variant, config, 0, protocol.seeds[0]))


def grid_results(protocol: BenchmarkProtocol, dataset: str, variant: Variant, cache: Cache) -> list[tuple[dict[str, Any], dict[str, Any]]] | None:
    """(cached result on fold 0 / the first seed, configuration) for every grid point; None while any is missing."""
    results = []
    for config in protocol.configs():
        result = cache.get(grid_unit(protocol, dataset, variant, config))
        if result is None:
            return None
        results.append((result, config))
    return results


def tied_at_best(grid: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The grid points of ``grid_results`` that share the best validation AUC."""
    best = max(result["best_val"] for result, _ in grid)
    return [item for item in grid if item[0]["best_val"] == best]


def best_config(grid: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any] | None:
    """The configuration of ``grid_results`` with the best validation AUC; ties go to the lowest validation loss
    of the best checkpoint (then the earlier grid point). None while a tied point's validation loss is not cached."""
    tied = tied_at_best(grid)
    if len(tied) == 1:
        return tied[0][1]
    if any("val_loss" not in result for result, _ in tied):
        return None
    return min(tied, key=lambda item: item[0]["val_loss"])[1]


def tie_units(protocol: BenchmarkProtocol, dataset: str, variant: Variant, cache: Cache) -> list[Unit]:
    """The fold-1 grid units tied at the best validation AUC (their validation losses decide between them)."""
    grid = grid_results(protocol, dataset, variant, cache)
    if grid is None:
        return []
    tied = tied_at_best(grid)
    if len(tied) == 1:
        return []
    return [grid_unit(protocol, dataset, variant, config) for _, config in tied]


def select_config(protocol: BenchmarkProtocol, dataset: str, variant: Variant, cache: Cache) -> dict[str, Any] | None:
    """The grid configuration chosen by :func:`best_config` on fold 1 / the first seed; None while undecided."""
    grid = grid_results(protocol, dataset, variant, cache)
    return None if grid is None else best_config(grid)


# ---------------------------------------------------------------------- tables
#: how a run ranks epochs that tie on the validation ROC-AUC, per selection (appended to "the best validation epoch")
EPOCH_TIES = {
    "auroc": " (of epochs tied at the best ROC-AUC, the first)",
    "auroc_then_loss": " (of epochs tied at the best ROC-AUC, the one with the lowest validation loss; early stopping counts such an epoch as an improvement)",
}
CACHE_NOTE = (
    "Runs already in the run record (`--cache`, by default `results/runs/mil.jsonl`; from earlier invocations with the same settings) are reused, not retrained: "
    "the wall time in the header covers only this invocation, the CPU-hours every run the tables use."
)


def _cell(values: list[float], expected: int) -> str:
    if not values:
        return "—"
    text = mean_std(values)
    return text if len(values) == expected else f"{text} (n={len(values)}/{expected})"


def table10_note(protocol: BitPatternProtocol) -> str:
    """How the protocol's Hopfield hyperparameters depart from Hu et al.'s Table 10 (the protocol defaults)."""
    paper = BitPatternProtocol()
    labels = {
        "lr": "lr {:g}",
        "batch_size": "batch {}",
        "scaling": "β = {}",
        "num_heads": "{} heads",
        "head_dim": "head size {}",
        "update_steps": "{} update steps",
        "dropout": "dropout {}",
    }
    changed = [text.format(getattr(paper, k)) for k, text in labels.items() if getattr(protocol, k) != getattr(paper, k)]
    return f"Hu et al. Table 10: {', '.join(changed)}, the rest as here" if changed else "as in Hu et al. Table 10"


def write_bit_pattern(protocol: BitPatternProtocol, cache: Cache, out: Path, started: datetime.datetime, protocol_name: str) -> None:
    scores: dict[tuple[tuple[str, int, int], str], list[float]] = defaultdict(list)
    hours = TrainingTime()
    for setting, variant, unit in bit_pattern_units(protocol):
        result = cache.get(unit)
        if result is not None:
            scores[setting, variant.name].append(result["test_accuracy"])
            hours.add(result)
    footprint = "footprint" in SIMILARITIES
    table10 = table10_note(protocol)
    results = ResultsFile(
        title="Bit-pattern multiple-instance learning",
        started=started,
        seeds=protocol.seeds,
        description=f"""
Synthetic bit-pattern MIL (Hu et al. 2023, Appendix H.1.1; `hopfield_layers.data.mil.bit_pattern_bags`): every
instance is a non-zero {protocol.num_bits}-bit string, {protocol.num_signals} strings are signals, a bag is positive exactly when it holds a
signal (half the bags). {protocol.num_train} training, {protocol.num_val} validation and {protocol.num_test} test bags per run, drawn from the run's seed
(the seed also initialises the network). Network: Linear({protocol.num_bits}→{protocol.embedding[0]})+ReLU embedding → pooling → flatten → linear
head. Hopfield rows: AdamW lr {protocol.lr:g}, batch {protocol.batch_size}, β = {protocol.scaling}, {protocol.num_heads} heads of size {protocol.head_dim},
{protocol.update_steps} update step(s), dropout {protocol.dropout} on the association weights ({table10}); `Hopfield` rows flatten the per-instance outputs. Attention rows: the (gated) attention pooling of Ilse et al. (2018), attention size
{protocol.attention_hidden}, softmax, same optimiser. Training: at most {protocol.max_epochs} epochs, early stopping on validation accuracy
(patience {protocol.patience}, stop at 100 %); **test accuracy** of the best validation epoch, mean ± std over the seeds.
Protocol {protocol_name}. Total training time of these runs: {hours.text()}.
{CACHE_NOTE}
The papers' bit-pattern accuracies are not listed: only their setup is used. The whole protocol of the issue (bag sizes
20–300, sparsities 1–50 %, 10 seeds, 30 epochs, Table 10 hyperparameters):
`python experiments/reproduce_mil.py --part bit_pattern --protocol full`.
Footprint rows: {"included" if footprint else "not included (the `footprint` similarity is not registered in this checkout)"}.
""",
    )
    variants = bit_pattern_variants(protocol.layers)
    for table, title in (
        ("bag size", "Test accuracy by bag size (one signal per positive bag)"),
        ("bag sparsity", f"Test accuracy by bag sparsity (bag size {protocol.sparsity_bag_size})"),
    ):
        settings = [s for s in protocol.settings() if s[0] == table]
        if not settings:
            continue
        headers = ["model"] + [str(s[1]) if table == "bag size" else f"{s[2] / s[1]:.0%} ({s[2]})" for s in settings]
        rows = [[v.name] + [_cell(scores[s, v.name], len(protocol.seeds)) for s in settings] for v in variants]
        kept = [row for row in rows if any(cell != "—" for cell in row[1:])]
        note = None
        if "hopfield" in protocol.layers and (protocol.hopfield_max_bag_size is not None or protocol.hopfield_max_bag_size_by_kind):
            note = f"`Hopfield` rows (self-association over the bag) are run only for {protocol.hopfield_limits_text(long=True)} in this protocol"
            note += "; rows without any run are left out." if len(kept) < len(rows) else "."
        results.add_table(headers, kept, title=title, note=note)
    results.write(out)


def seed_folds(protocol: BenchmarkProtocol, dataset: str, variant: Variant, config: dict[str, Any], cache: Cache) -> list[list[dict[str, Any] | None]]:
    """The cached results of ``config`` per seed and fold (None where a fold is not cached)."""
    return [[cache.get(Unit("benchmarks", benchmark_params(protocol, dataset, variant, config, fold, seed))) for fold in range(protocol.num_folds)] for seed in protocol.seeds]


def seed_means(folds_per_seed: list[list[dict[str, Any] | None]]) -> list[float]:
    """Test ROC-AUC averaged over the folds, one value per seed whose folds are all cached."""
    return [float(np.mean([r["test_auroc"] for r in folds])) for folds in folds_per_seed if all(r is not None for r in folds)]


def selection_comparison(protocol: BenchmarkProtocol, cache: Cache, table: dict[tuple[str, str], list[float]]) -> list[list[object]]:
    """Rows (dataset, model, first-epoch selection, this selection, difference) from the cached runs of both."""
    first = replace(protocol, selection="auroc")
    rows: list[list[object]] = []
    for dataset in protocol.datasets:
        for variant in benchmark_variants():
            config = select_config(first, dataset, variant, cache)
            before = [] if config is None else seed_means(seed_folds(first, dataset, variant, config, cache))
            after = table[dataset, variant.name]
            complete = len(before) == len(after) == len(protocol.seeds)
            change = f"{np.mean(after) - np.mean(before):+.3f}" if complete else "—"
            rows.append([dataset, variant.name, _cell(before, len(protocol.seeds)), _cell(after, len(protocol.seeds)), change])
    return rows


def write_benchmarks(protocol: BenchmarkProtocol, cache: Cache, out: Path, started: datetime.datetime, protocol_name: str) -> None:
    variants = benchmark_variants()
    table: dict[tuple[str, str], list[float]] = {}
    selection: list[list[object]] = []  # rows of the configurations table
    hours = TrainingTime()  # of this protocol's runs: the whole grid and the chosen configurations' folds × seeds
    for dataset in protocol.datasets:
        for variant in variants:
            grid = grid_results(protocol, dataset, variant, cache)
            config = None if grid is None else best_config(grid)
            if grid is None:
                selection.append([dataset, variant.name, "grid incomplete", "—", "—", "—"])
            else:
                for result, _ in grid:
                    hours.add(result)
                tied = tied_at_best(grid)
                chosen = next((result for result, c in tied if c == config), None)
                loss = "—" if chosen is None or len(tied) == 1 else f"{chosen['val_loss']:.4f}"
                shown = json.dumps(config) if config is not None else "undecided (validation losses of the tied points not run)"
                selection.append([dataset, variant.name, shown, f"{tied[0][0]['best_val']:.3f}", f"{len(tied)}/{len(grid)}", loss])
            per_seed = []
            if config is not None:
                folds_per_seed = seed_folds(protocol, dataset, variant, config, cache)
                for s, folds in enumerate(folds_per_seed):  # the first seed's fold 1 is the grid run, counted above
                    for fold, r in enumerate(folds):
                        if r is not None and not (fold == 0 and s == 0):
                            hours.add(r)
                per_seed = seed_means(folds_per_seed)
            table[dataset, variant.name] = per_seed
    grid_text = ", ".join(f"{name} ∈ {{{', '.join(str(list(v)) if isinstance(v, tuple) else f'{v:g}' for v in values)}}}" for name, values in protocol.grid)
    results = ResultsFile(
        title="MIL benchmarks (ROC-AUC)" + ("" if protocol.selection == "auroc" else f": epochs selected by `{protocol.selection}`"),
        started=started,
        seeds=protocol.seeds,
        description=f"""
Elephant, Fox, Tiger (Andrews et al. 2002), UCSB breast cancer, Musk1 and Musk2 from `$HOPFIELD_DATA/mil`
(`hopfield_layers.data.mil`), features standardised with training-instance statistics. Network: Linear+ReLU
instance embedding → `HopfieldPooling` (one learned state pattern; dense = softmax, sparse = sparsemax, entmax =
1.5-entmax, footprint = the footprint similarity with softmax) → linear head; AdamW (weight decay {protocol.weight_decay:g}),
learning rate × {protocol.lr_decay} per epoch, batch {protocol.batch_size}, gradient clipping 1.0.
Protocol {protocol_name}: stratified {protocol.num_folds}-fold cross-validation, 10 % of each training part held out (stratified)
for validation, at most {protocol.max_epochs} epochs with early stopping on validation ROC-AUC (patience {protocol.patience}), test ROC-AUC of
the best validation epoch{EPOCH_TIES[protocol.selection]}. Grid ({len(protocol.configs())} configurations, searched on fold 1 with seed {protocol.seeds[0]} only, by validation
ROC-AUC; ties by the validation loss of the best checkpoint): {grid_text} (`heads_dim` = (heads, head size); `embedding` = widths of the embedding layers). Then every
fold is trained with each seed (seed = fold assignment and initialisation). Cells: mean over the folds per seed,
mean ± std over the seeds. Paper columns are the papers' reported means. Total training time of these runs:
{hours.text()}. The whole protocol (10 folds, 5 seeds, 50 epochs, the
{len(PROTOCOLS["full"][1].configs())}-point grid): `python experiments/reproduce_mil.py --part benchmarks --protocol full`.
{CACHE_NOTE}
""",
    )
    headers = ["model"]
    for dataset in protocol.datasets:
        headers.append(dataset)
        if any(dataset in numbers for _, numbers in PAPERS.values()):
            headers.append(f"{dataset} (paper)")
    rows, goals = [], []
    for variant in variants:
        kind = variant.name
        row: list[object] = [kind]
        for dataset in protocol.datasets:
            values = table[dataset, kind]
            row.append(_cell(values, len(protocol.seeds)))
            if any(dataset in numbers for _, numbers in PAPERS.values()):
                paper = paper_number(kind, dataset)
                row.append(f"{paper:.3f}" if paper is not None else "—")
                if paper is not None and values and kind != "dense":
                    mean = float(np.mean(values))
                    goals.append(f"{kind} on {dataset}: {mean:.4f} vs paper {paper:.4f} → {'met' if meets_paper(mean, paper) else 'not met'}")
        rows.append(row)
    results.add_table(headers, rows, title="Test ROC-AUC", note=f"Paper columns — {PAPER_SOURCES}.")
    if goals:
        results.add_text(
            "**Goal (sparse/adaptive rows at or above the paper's mean):** " + "; ".join(goals) + f". A mean within {AUROC_RESOLUTION:g} "
            "of the paper's counts as equal to it: the recorded AUCs are float32 values (0.9 is recorded as 0.89999998)."
        )
    results.add_table(
        ["dataset", "model", "selected configuration", "its validation AUC", "grid points at that AUC", "its validation loss (tie-break)"],
        selection,
        title="Configurations chosen on fold 1",
        note="The validation part (10 % of a training part; at 10 folds 5–6 bags for UCSB, 8–9 for Musk, 18 for Elephant/Fox/Tiger) often cannot separate the grid points by AUC; among the points tied at the best AUC the lowest validation loss of the best checkpoint wins (then the earlier grid point).",
    )
    if protocol.selection != "auroc":
        results.add_table(
            ["dataset", "model", "test ROC-AUC, selection `auroc` (first epoch at the best AUC)", f"test ROC-AUC, selection `{protocol.selection}` (above)", "change"],
            selection_comparison(protocol, cache, table),
            title="Against the first-epoch selection",
            note="`auroc`: the same protocol with the default `--selection auroc` (as in `results/mil_benchmarks.md`), with its own grid "
            "choice and runs; a run's selection decides both its best checkpoint and its early stop, so the grid choice can differ too. "
            "Both columns from the run record.",
        )
    if "footprint" not in SIMILARITIES:
        results.add_text("Footprint rows are missing: the `footprint` similarity is not registered in this checkout.")
    results.write(out)


# ---------------------------------------------------------------------- main
def add_accelerator_argument(parser: argparse.ArgumentParser) -> None:
    """``--accelerator {cpu,gpu,auto}`` (shared with ``mil_grid_sweep.py``); check it with :func:`check_accelerator`."""
    parser.add_argument(
        "--accelerator",
        choices=("cpu", "gpu", "auto"),
        default="cpu",
        help="where each run trains (Lightning's accelerator; default cpu). With one GPU use --workers 1: the runs are small, and parallel processes would share it",
    )


def check_accelerator(parser: argparse.ArgumentParser, accelerator: str) -> None:
    """Refuse ``gpu`` without a CUDA device before any run starts (a worker would fail on every run)."""
    import torch

    if accelerator == "gpu" and not torch.cuda.is_available():
        parser.error("--accelerator gpu needs a CUDA device; torch.cuda.is_available() is False here (use cpu or auto)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("bit_pattern", "benchmarks", "all"), default="all")
    parser.add_argument("--protocol", choices=("full", "reduced", "small"), default="reduced")
    parser.add_argument("--quick", action="store_true", help="tiny protocol in this process (seconds), for the tests")
    parser.add_argument("--workers", type=int, default=2, help="parallel training processes (one thread each)")
    parser.add_argument("--budget-minutes", type=float, default=math.inf, help="start no new run after this many minutes")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="run record (JSON lines): finished runs are reused, new ones appended (default results/runs/mil.jsonl; with --quick a temporary file)",
    )
    parser.add_argument("--out-dir", type=Path, default=ROOT / "results")
    parser.add_argument("--benchmarks-out", type=Path, default=None, help="file of the benchmark tables (default <out-dir>/mil_benchmarks.md)")
    parser.add_argument("--render-only", action="store_true", help="write the tables from the cache without training")
    parser.add_argument("--seeds", type=int, default=None, help="use only the protocol's first N seeds (the runs of the others stay cached)")
    parser.add_argument(
        "--hopfield-max-bag-size",
        nargs="+",
        default=None,
        metavar="N or KIND=N",
        help="bit patterns: run the Hopfield rows (self-association over the bag) only for bags up to N instances, "
        f"and the row of a KIND ({', '.join(HOPFIELD_KINDS)}) only up to its own N, e.g. `100 footprint=50` "
        "(default: the protocol's; the recorded runs keep their keys)",
    )
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=None, help="benchmark datasets to run and tabulate (default: the protocol's)")
    parser.add_argument(
        "--selection",
        choices=SELECTIONS,
        default=None,
        help="what every benchmark run's best checkpoint and early stopping go by (default: the protocol's); "
        "auroc_then_loss breaks ties on the validation ROC-AUC by the validation loss",
    )
    add_accelerator_argument(parser)
    args = parser.parse_args()
    check_accelerator(parser, args.accelerator)
    started = datetime.datetime.now().astimezone()
    name = "quick" if args.quick else args.protocol
    bit_protocol, bench_protocol = PROTOCOLS[name]
    if args.seeds is not None:
        if args.seeds < 1:
            parser.error(f"--seeds must be ≥ 1; got {args.seeds}")
        bit_protocol = replace(bit_protocol, seeds=bit_protocol.seeds[: args.seeds])
        bench_protocol = replace(bench_protocol, seeds=bench_protocol.seeds[: args.seeds])
        name = f"{name}, first {args.seeds} seed(s)"
    if args.hopfield_max_bag_size is not None:
        try:
            size, by_kind = parse_bag_limits(args.hopfield_max_bag_size)
        except ValueError as error:
            parser.error(str(error))
        bit_protocol = replace(bit_protocol, hopfield_max_bag_size=size, hopfield_max_bag_size_by_kind=by_kind)
        name = f"{name}, Hopfield rows for {bit_protocol.hopfield_limits_text()}"
    if args.datasets is not None:
        bench_protocol = replace(bench_protocol, datasets=tuple(args.datasets))
    if args.selection is not None and args.selection != bench_protocol.selection:
        bench_protocol = replace(bench_protocol, selection=args.selection)
        name = f"{name}, selection {args.selection}"
    label = f"`{name}`" + (" (tables rendered from the run record with `--render-only`; earlier calls without it trained the runs)" if args.render_only else "")
    if args.cache is None:
        args.cache = Path(tempfile.mkdtemp()) / "mil.jsonl" if args.quick else ROOT / "results" / "runs" / "mil.jsonl"
    cache = Cache(args.cache)
    workers = 1 if args.quick else args.workers
    deadline = time.time() + 60 * args.budget_minutes if not args.render_only else 0.0

    if args.part in ("bit_pattern", "all"):
        run_pending([unit for _, _, unit in bit_pattern_units(bit_protocol)], cache, workers, deadline, accelerator=args.accelerator)
        write_bit_pattern(bit_protocol, cache, args.out_dir / "mil_bit_pattern.md", started, label)
    if args.part in ("benchmarks", "all"):
        grid = [grid_unit(bench_protocol, d, v, c) for d in bench_protocol.datasets for v in benchmark_variants() for c in bench_protocol.configs()]
        run_pending(grid, cache, workers, deadline, accelerator=args.accelerator)
        ties = [u for d in bench_protocol.datasets for v in benchmark_variants() for u in tie_units(bench_protocol, d, v, cache)]
        run_pending(ties, cache, workers, deadline, require="val_loss", accelerator=args.accelerator)
        final = []
        for dataset in bench_protocol.datasets:
            for variant in benchmark_variants():
                config = select_config(bench_protocol, dataset, variant, cache)
                if config is not None:
                    final += [
                        Unit("benchmarks", benchmark_params(bench_protocol, dataset, variant, config, f, s)) for s in bench_protocol.seeds for f in range(bench_protocol.num_folds)
                    ]
        run_pending(final, cache, workers, deadline, accelerator=args.accelerator)
        write_benchmarks(bench_protocol, cache, args.benchmarks_out or args.out_dir / "mil_benchmarks.md", started, label)


if __name__ == "__main__":
    main()
