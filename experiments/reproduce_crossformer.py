"""Crossformer, Crossformer-DH and Crossformer-SH on the forecasting benchmarks → ``results/crossformer.md``.

Reproduces the multivariate forecasting table of Hu et al. (2023, "On Sparse Modern Hopfield
Model", Table 6) for the datasets on this machine: every (dataset, horizon, variant, seed) run trains
the recipe ``configs/timeseries/<dataset>_<horizon>.yaml`` through the ``hopfield-layers`` CLI
(Adam, MSE, batch 32, ≤ 20 epochs, early stopping with patience 3 on the validation loss, learning
rate halved after epochs 2/4/6/8/10, best checkpoint restored) and reports the test MSE/MAE on the
normalised data, the epochs run and the training time per epoch. Each finished run is recorded as
JSON under ``--records`` (``results/runs/crossformer/``, committed beside the report; checkpoints and
logs go under ``--runs``, which git ignores), so an interrupted reproduction resumes where it stopped
and the report can be rebuilt (``--report-only``) on any machine from runs made by several invocations; a
report lists the recorded runs of the requested datasets, horizons, variants and seeds only. A run interrupted mid-training
resumes from its ``last.ckpt`` (after its last finished epoch; model, optimiser, learning-rate
schedule, early stopping, best checkpoint, random state and the per-epoch log all carry over), so
a CPU run of many hours can be split over several invocations and ends as an uninterrupted one.

    python experiments/reproduce_crossformer.py                                # ETTh1 + ILI, all horizons, 3 variants
    python experiments/reproduce_crossformer.py --datasets ILI --seeds 0 1 2   # more seeds
    python experiments/reproduce_crossformer.py --datasets ETTm1 WTH --accelerator gpu
    python experiments/reproduce_crossformer.py --quick --out /tmp/crossformer.md --runs /tmp/runs   # tiny, seconds

The wall time per epoch of each variant relative to Crossformer is measured separately, in one
process with the three models trained on the same batches in turn (``--timing``), because the
epoch times of runs made hours apart on a shared machine are not comparable.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import yaml
from lightning.pytorch import Callback

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hopfield_layers.data.timeseries import TIMESERIES, TimeSeriesDataModule  # noqa: E402
from hopfield_layers.lit import HopfieldCLI, find_checkpoint, keep_checkpointing_into  # noqa: E402
from hopfield_layers.models.crossformer import Crossformer  # noqa: E402
from hopfield_layers.results import ResultsFile, mean_std  # noqa: E402

CONFIGS = ROOT / "configs" / "timeseries"
VARIANTS = {"full": "Crossformer", "hopfield": "Crossformer-DH", "sparse_hopfield": "Crossformer-SH"}
#: Variants run only when asked for by ``--variants`` (not timed, no paper column): label and what it is.
ABLATIONS = {
    "full_sparsemax": (
        "Crossformer-SH, no pattern norms",
        "Crossformer-SH without the LayerNorms that `Hopfield` puts on stored, state and projected patterns by default, "
        "i.e. Crossformer's attention with sparsemax in place of softmax (an ablation, not in the paper).",
    )
}
LABELS = VARIANTS | {name: label for name, (label, _) in ABLATIONS.items()}
CPU_DATASETS = ("ETTh1", "ILI")
GPU_DATASETS = ("ETTm1", "WTH", "ETTh2", "ETTm2")
USER_DATASETS = ("ECL", "Traffic")  # files not shipped on the development machine

#: Hu et al. (2023), Table 6: (dataset, horizon) → variant → (MSE, MAE). Only the cells we could
#: retrieve are listed; the others are shown as "—".
PAPER: dict[tuple[str, int], dict[str, tuple[float, float]]] = {
    ("ETTh1", 24): {"full": (0.305, 0.367), "hopfield": (0.299, 0.365), "sparse_hopfield": (0.295, 0.357)},
    ("ETTh1", 48): {"full": (0.352, 0.394), "hopfield": (0.351, 0.399), "sparse_hopfield": (0.346, 0.392)},
}

QUICK_MODEL = {"d_model": 16, "d_ff": 16, "n_heads": 2, "factor": 3}


class EpochLog(Callback):
    """Records the wall time of every training epoch (without its validation) and the validation loss after it.

    Its lists are saved in every checkpoint, so a resumed run reports every epoch, also those before the
    interruption; ``resumed_after`` lists the epochs after which the run was resumed.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name  # printed with each epoch's line (one line per epoch: long CPU runs show progress)
        self.train_seconds: list[float] = []
        self.val_loss: list[float] = []
        self.resumed_after: list[int] = []
        self._start, self._timed = 0.0, True

    @property
    def state_key(self) -> str:
        return "EpochLog"

    def state_dict(self) -> dict[str, Any]:
        return {"train_seconds": list(self.train_seconds), "val_loss": list(self.val_loss), "resumed_after": list(self.resumed_after)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.train_seconds, self.val_loss = list(state_dict["train_seconds"]), list(state_dict["val_loss"])
        self.resumed_after = [*state_dict.get("resumed_after", []), len(self.train_seconds)]

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._start = time.perf_counter()
        self._timed = False

    def _stop_clock(self) -> None:
        if not self._timed:
            self.train_seconds.append(time.perf_counter() - self._start)
            self._timed = True

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        # the training part of the epoch ends here; timing it now also puts it in the checkpoint that
        # Lightning saves after this validation (before ``on_train_epoch_end``)
        if not trainer.sanity_checking:
            self._stop_clock()

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._stop_clock()  # epochs without validation

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.val_loss.append(float(trainer.callback_metrics["val_loss"]))
            if self.name:
                seconds = f", {self.train_seconds[-1]:.0f} s" if len(self.train_seconds) == len(self.val_loss) else ""
                print(f"{self.name} epoch {len(self.val_loss)}: val_loss {self.val_loss[-1]:.4f}{seconds}", flush=True)


def horizons(dataset: str) -> list[int]:
    """The horizons with a recipe config ``configs/timeseries/<dataset>_<horizon>.yaml``."""
    return sorted(int(path.stem.rsplit("_", 1)[1]) for path in CONFIGS.glob(f"{dataset}_*.yaml"))


def requested_settings(args: argparse.Namespace) -> list[tuple[str, int]]:
    """The (dataset, horizon) pairs that ``--datasets`` and ``--horizons`` ask for."""
    return [(d, h) for d in args.datasets for h in horizons(d) if args.horizons is None or h in args.horizons]


def recipe(dataset: str, horizon: int) -> Path:
    return CONFIGS / f"{dataset}_{horizon}.yaml"


def _batches(value: float | int, split: str) -> str:
    """``"40% of train batches"`` (a fraction) or ``"4 train batches"`` (a count)."""
    return f"{value:.0%} of {split} batches" if isinstance(value, float) else f"{value} {split} batches"


def protocol_name(args: argparse.Namespace) -> str:
    """Short tag of the training protocol: ``≤<max epochs> ep.``, the batch limits per epoch and ``mix``."""
    if args.quick:
        return "quick"
    tags = [f"≤{args.max_epochs} ep."]
    for split in ("train", "val", "test"):
        limit = getattr(args, f"limit_{split}_batches")
        if isinstance(limit, int) or limit < 1.0:
            tags.append(_batches(limit, split))
    if args.mix:
        tags.append("mix")
    return ", ".join(tags)


def int_or_fraction(text: str) -> int | float:
    """A number of batches (``"4"``) or a fraction of them (``"0.25"``), as Lightning's ``limit_*_batches``."""
    value = float(text)
    if value.is_integer() and "." not in text and value >= 1:
        return int(value)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number of batches or a fraction in (0, 1]; got {text!r}")
    return value


def run_key(dataset: str, horizon: int, variant: str, seed: int, args: argparse.Namespace) -> str:
    tag = protocol_name(args).replace("≤", "max").replace(" batches", "").replace("%", "pct")
    return f"{dataset}_{horizon}_{variant}_seed{seed}_" + "".join(c if c.isalnum() else "-" for c in tag).strip("-")


def cli_arguments(dataset: str, horizon: int, variant: str, seed: int, args: argparse.Namespace, root_dir: Path) -> list[str]:
    """``hopfield-layers`` arguments of one run: the recipe config plus the run's overrides."""
    arguments = [
        "--config",
        str(recipe(dataset, horizon)),
        f"--model.network.init_args.attention={variant}",
        f"--model.network.init_args.mix={str(args.mix).lower()}",
        f"--seed_everything={seed}",
        f"--trainer.default_root_dir={root_dir}",
        f"--trainer.accelerator={args.accelerator}",
        f"--trainer.max_epochs={args.max_epochs}",
        f"--trainer.limit_train_batches={args.limit_train_batches}",
        f"--trainer.limit_val_batches={args.limit_val_batches}",
        f"--trainer.limit_test_batches={args.limit_test_batches}",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.num_sanity_val_steps=0",
    ]
    if args.data_root:
        arguments.append(f"--data.init_args.data_root={args.data_root}")
    if args.quick:
        arguments += [f"--model.network.init_args.{key}={value}" for key, value in QUICK_MODEL.items()]
    return arguments


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def optimizer_drift(root: Path, config: Path) -> str | None:
    """Why a cached run trained with other optimiser arguments than its recipe gives now, or ``None``.

    The run folder keeps the config the CLI resolved (``version_*/config.yaml``): the optimiser must be
    the recipe's class with the arguments it lists and that class's own defaults for the rest. Runs made
    before that was so (jsonargparse carried the default AdamW's ``weight_decay=0.01`` into the recipes'
    ``torch.optim.Adam``) fail this check. A run folder without a saved config cannot be checked (``None``).
    """
    written = (yaml.safe_load(config.read_text()).get("model") or {}).get("optimizer")
    if not written:
        return None
    module, _, name = written["class_path"].rpartition(".")
    parameters = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    expected = {k: v.default for k, v in parameters.items() if v.default is not inspect.Parameter.empty} | (written.get("init_args") or {})
    for saved_config in sorted(root.glob("version_*/config.yaml")):
        saved = (yaml.safe_load(saved_config.read_text()).get("model") or {}).get("optimizer") or {}
        where = saved_config.relative_to(root.parent)
        if saved.get("class_path") != written["class_path"]:
            return f"{where}: optimiser {saved.get('class_path')}, the recipe gives {written['class_path']}"
        for key, value in (saved.get("init_args") or {}).items():
            if key in expected and _plain(value) != _plain(expected[key]):
                return f"{where}: {name}({key}={value!r}), the recipe gives {key}={expected[key]!r}"
    return None


def _set_aside(key: str, args: argparse.Namespace, reason: str) -> None:
    """Move a stale recorded run (its JSON record and run folder) to ``<runs>/stale/`` so that it is trained again."""
    stale = args.runs / "stale"
    stale.mkdir(parents=True, exist_ok=True)
    for path in (args.records / f"{key}.json", args.runs / key):
        if path.exists():
            target = stale / path.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            shutil.move(str(path), str(target))
    print(f"{key}: the cached run is stale ({reason}); moved to {stale}, training it again", flush=True)


def train_and_test(dataset: str, horizon: int, variant: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Fit one run, test its best checkpoint and return its record (also written as JSON under ``--records``)."""
    key = run_key(dataset, horizon, variant, seed, args)
    cache = args.records / f"{key}.json"
    root = args.runs / key
    if cache.is_file():
        reason = optimizer_drift(root, recipe(dataset, horizon))
        if reason is None:
            return json.loads(cache.read_text())
        _set_aside(key, args, reason)
    try:  # a run stopped mid-training left its last.ckpt
        resume: str | None = find_checkpoint("last", root)
    except FileNotFoundError:
        resume = None
    arguments = cli_arguments(dataset, horizon, variant, seed, args, root)
    cli = HopfieldCLI(args=arguments, run=False)
    log = EpochLog(key)
    cli.trainer.callbacks.append(log)
    if resume is not None:
        print(f"{key}: resuming from {resume}", flush=True)
        keep_checkpointing_into(cli.trainer, resume)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=resume)
    epochs = log.state_dict()  # before the test, which restores the callbacks' state of the best checkpoint
    (metrics,) = cli.trainer.test(cli.model, datamodule=cli.datamodule, ckpt_path="best", verbose=False)
    record = {
        "dataset": dataset,
        "horizon": horizon,
        "variant": variant,
        "seed": seed,
        "protocol": protocol_name(args),
        "mix": args.mix,
        "test_mse": float(metrics["test_mse"]),
        "test_mae": float(metrics["test_mae"]),
        "test_windows": min(len(cli.datamodule.splits["test"]), int(sum(cli.trainer.num_test_batches)) * cli.datamodule.eval_batch_size),
        "epochs": len(epochs["train_seconds"]),
        "best_epoch": 1 + min(range(len(epochs["val_loss"])), key=epochs["val_loss"].__getitem__),
        "val_loss": epochs["val_loss"],
        "train_seconds": epochs["train_seconds"],
        "total_seconds": sum(epochs["train_seconds"]),
        "resumed_after": epochs["resumed_after"],
        "command": "hopfield-layers fit " + " ".join(arguments).replace(f"{ROOT}/", ""),
        "script": args.command,
        "hardware": torch.cuda.get_device_name(0) if args.accelerator == "gpu" else f"cpu, {torch.get_num_threads()} torch threads",
    }
    if not args.keep_checkpoints:  # ~135 MB per checkpoint for the full-size model
        for checkpoints in root.glob("version_*/checkpoints"):
            shutil.rmtree(checkpoints, ignore_errors=True)
    cache.write_text(json.dumps(record, indent=1))
    return record


def _repeat(loader: Any) -> Any:
    """The loader's batches, epoch after epoch, without end."""
    while True:
        yield from loader


def timing_record(dataset: str, horizon: int, args: argparse.Namespace) -> Path:
    """Where :func:`relative_epoch_time` keeps its measurement of ``dataset``-``horizon``."""
    return args.records / f"timing_{dataset}_{horizon}{'_quick' if args.quick else ''}.json"


def relative_epoch_time(dataset: str, horizon: int, args: argparse.Namespace) -> dict[str, float]:
    """Seconds per training epoch of each variant: the models train in turn on the same batches in this process.

    Recorded as ``timing_<dataset>_<horizon>.json`` under ``--records``; ``--retime`` measures again.
    """
    cache = timing_record(dataset, horizon, args)
    if cache.is_file() and not args.retime:
        return json.loads(cache.read_text())
    config = yaml.safe_load(recipe(dataset, horizon).read_text())
    network = dict(config["model"]["network"]["init_args"])
    if args.quick:
        network.update(QUICK_MODEL)
    data = TimeSeriesDataModule(dataset, network["in_len"], horizon, data_root=args.data_root)
    loader = data.train_dataloader()
    torch.manual_seed(0)
    models = {variant: Crossformer(**{**network, "attention": variant}) for variant in VARIANTS}
    optimizers = {variant: torch.optim.Adam(model.parameters(), lr=1e-4) for variant, model in models.items()}
    seconds: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    batches = _repeat(loader)  # a short training split (ILI: 19 batches) is cycled through
    for step in range(args.timing_batches + 1):
        x, y = next(batches)
        for variant, model in models.items():
            start = time.perf_counter()
            optimizers[variant].zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizers[variant].step()
            if step:  # the first round warms up
                seconds[variant].append(time.perf_counter() - start)
    result = {variant: statistics.median(values) * len(loader) for variant, values in seconds.items()}
    cache.write_text(json.dumps({**result, "batches": args.timing_batches, "threads": torch.get_num_threads(), "command": args.command}, indent=1))
    return result | {"batches": args.timing_batches, "threads": torch.get_num_threads(), "command": args.command}


def gpu_command(dataset: str) -> str:
    return f"python experiments/reproduce_crossformer.py --datasets {dataset} --accelerator gpu"


def write_report(report: ResultsFile, records: list[dict[str, Any]], timing: dict[tuple[str, int], dict[str, float]], args: argparse.Namespace) -> Path:
    report.seeds = sorted({r["seed"] for r in records})
    report.description = (
        "Test MSE and MAE on the normalised data (mean ± std over runs) of Crossformer (`attention=full`), "
        "Crossformer-DH (`hopfield`) and Crossformer-SH (`sparse_hopfield`). Every run trains the recipe config "
        "`configs/timeseries/<dataset>_<horizon>.yaml` (Adam, MSE, batch 32, early stopping with patience 3 on the "
        "validation loss, learning rate halved after epochs 2, 4, 6, 8 and 10) and tests its best checkpoint; "
        "*protocol* lists what was cut from that: the epoch cap and the batches used per epoch (train, val) and at test; "
        "*test windows* is the number of test windows the MSE/MAE average over (all of them unless the test batches were limited). "
        "A capped protocol is not the paper's: with an epoch cap of 2 or less neither the learning-rate halving nor early stopping acts, "
        "and such rows show that the pipeline runs end to end and how the variants compare early in training, not at convergence. "
        "The paper columns are Hu et al. (2023, *On Sparse Modern Hopfield Model*, Table 6); cells we could not "
        "retrieve are marked —. Timings were taken on this machine (2 shared CPU cores unless the hardware line says otherwise)."
    )
    for variant in sorted({r["variant"] for r in records} & set(ABLATIONS)):
        label, note = ABLATIONS[variant]
        report.description += f" {label} (`{variant}`): {note}"
    groups: dict[tuple[str, int, str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["dataset"], r["horizon"], r["protocol"], r["variant"]), []).append(r)
    order = list(TIMESERIES)
    for dataset in sorted({key[0] for key in groups}, key=order.index):
        rows = []
        for (d, horizon, protocol, variant), runs in sorted(groups.items(), key=lambda item: (item[0][1], item[0][2], list(LABELS).index(item[0][3]))):
            if d != dataset:
                continue
            paper = PAPER.get((dataset, horizon), {}).get(variant)
            epoch_seconds = [s for r in runs for s in r["train_seconds"]]
            rows.append(
                [
                    horizon,
                    LABELS[variant],
                    protocol,
                    len(runs),
                    ", ".join(f"{r['best_epoch']}/{r['epochs']}" for r in runs),
                    ", ".join(str(r["test_windows"]) for r in runs),
                    mean_std([r["test_mse"] for r in runs]),
                    mean_std([r["test_mae"] for r in runs]),
                    f"{paper[0]:.3f}" if paper else "—",
                    f"{paper[1]:.3f}" if paper else "—",
                    f"{statistics.mean(epoch_seconds):.0f}",
                    ", ".join(sorted({r["hardware"] for r in runs})),
                ]
            )
        report.add_table(
            [
                "horizon",
                "model",
                "protocol",
                "runs",
                "best/last epoch",
                "test windows",
                "MSE (ours)",
                "MAE (ours)",
                "MSE (paper, Hu et al. 2023)",
                "MAE (paper, Hu et al. 2023)",
                "s / train epoch",
                "hardware",
            ],
            rows,
            title=dataset,
        )
    if timing:
        report.add_table(
            ["setting", *(f"{name}: s / train epoch (× Crossformer)" for name in VARIANTS.values()), "batches timed", "torch threads"],
            [
                [f"{d}-{h}", *(f"{seconds[v]:.1f} ({seconds[v] / seconds['full']:.2f}×)" for v in VARIANTS), seconds.get("batches", "—"), seconds.get("threads", "—")]
                for (d, h), seconds in timing.items()
            ],
            title="Training time per epoch relative to Crossformer",
            note=(
                "Measured in one process: the three models trained in turn on the same batches after one warm-up batch; "
                "median seconds per batch × batches per epoch (— = not recorded by the script version that measured it). "
                "The *s / train epoch* columns above come from runs made at different times and are not comparable."
                + "".join(f"\n\n{d}-{h} was measured by `{seconds['command']}`." for (d, h), seconds in timing.items() if "command" in seconds)
            ),
        )
    report.add_text(
        "Runs were made by these invocations (finished runs are cached, so each trains only what is missing):\n\n"
        + "\n".join(f"- `{command}`" for command in sorted({r["script"] for r in records}))
    )
    report.add_text(
        "The full protocol (≤ 20 epochs, all batches, early stopping, best checkpoint) for every dataset with a file here, on a GPU:\n\n"
        + "\n".join(f"- `{gpu_command(d)}`" for d in (*CPU_DATASETS, *GPU_DATASETS, *USER_DATASETS))
        + "\n\n(each run is `hopfield-layers fit --config configs/timeseries/<dataset>_<horizon>.yaml "
        "--model.network.init_args.attention=<variant> --trainer.accelerator=gpu`, then `test --ckpt_path best`)."
    )
    done = {r["dataset"] for r in records}
    have = {(r["dataset"], r["horizon"], r["variant"]) for r in records}
    unrun = [(d, h, v) for d, h in requested_settings(args) if d in done for v in args.variants if (d, h, v) not in have]
    if unrun:
        report.add_table(
            ["dataset", "horizon", "model", "command"],
            [[d, h, LABELS[v], f"`python experiments/reproduce_crossformer.py --datasets {d} --horizons {h} --variants {v}`"] for d, h, v in unrun],
            title="Settings without a run",
            note="Not trained: the CPU time of this reproduction ran out before them. The command trains them with the full protocol.",
        )
    missing = [[d, ", ".join(map(str, horizons(d))), "needs a GPU (`--trainer.accelerator=gpu`); none was used", f"`{gpu_command(d)}`"] for d in GPU_DATASETS if d not in done]
    missing += [
        [d, ", ".join(map(str, horizons(d))), f"`{TIMESERIES[d].file}` is not on this machine (supply it under the data root)", f"`{gpu_command(d)}`"]
        for d in USER_DATASETS
        if d not in done
    ]
    if missing:
        report.add_table(["dataset", "horizons", "status", "command"], missing, title="Not run here")
    return report.write(args.out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(CPU_DATASETS), choices=list(TIMESERIES))
    parser.add_argument("--horizons", nargs="+", type=int, help="horizons to run (default: all of each dataset)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(LABELS), help=f"models (default: the three of the table; ablations: {', '.join(ABLATIONS)})")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--mix", action="store_true", help="use the original code's head-mixing reshape in every attention")
    parser.add_argument("--max-epochs", type=int, default=20)
    for split in ("train", "val", "test"):
        parser.add_argument(f"--limit-{split}-batches", type=int_or_fraction, default=1.0, help=f"{split} batches per epoch: a count, or a fraction (1.0 = all)")
    parser.add_argument("--accelerator", default="cpu", choices=["cpu", "gpu", "auto"])
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice; 1 avoids OpenMP spin-waiting on a busy CPU)")
    parser.add_argument("--data-root", help="data root (default $HOPFIELD_DATA)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "crossformer", help="run folders: checkpoints, logs, resolved configs (not committed)")
    parser.add_argument("--records", type=Path, help="JSON records of finished runs and timings (default results/runs/crossformer, committed; with --quick the --runs folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "crossformer.md")
    parser.add_argument(
        "--timing", nargs="*", default=["ETTh1-24", "ILI-24"], help="settings DATASET-HORIZON whose relative epoch time is measured (those the command trains or reports)"
    )
    parser.add_argument("--timing-batches", type=int, default=20)
    parser.add_argument("--retime", action="store_true", help="measure the relative epoch times again instead of using the cached ones")
    parser.add_argument("--keep-checkpoints", action="store_true", help="keep each run's checkpoints (deleted after its test by default)")
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report from the cached runs and timings")
    parser.add_argument("--quick", action="store_true", help="tiny model, 2 batches per split, 2 epochs, horizon 24 only")
    args = parser.parse_args(argv)
    if args.quick:
        args.max_epochs, args.timing_batches = 2, 2
        args.limit_train_batches = args.limit_val_batches = args.limit_test_batches = 2
        args.horizons = args.horizons or [24]
        args.threads = args.threads or 1  # tiny models: more threads only contend on a busy machine
    if args.records is None:
        args.records = args.runs if args.quick else ROOT / "results" / "runs" / "crossformer"
    if args.threads:
        torch.set_num_threads(args.threads)
    args.command = "python " + " ".join(["experiments/reproduce_crossformer.py", *(argv if argv is not None else sys.argv[1:])])
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = ResultsFile("Crossformer with dense and sparse Hopfield attention on multivariate forecasting", command=args.command)
    args.runs.mkdir(parents=True, exist_ok=True)
    args.records.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    settings = requested_settings(args)
    if not args.report_only:
        for dataset, horizon in settings:
            for variant in args.variants:
                for seed in args.seeds:
                    record = train_and_test(dataset, horizon, variant, seed, args)
                    print(
                        f"{dataset}-{horizon} {LABELS[variant]} seed {seed}: MSE {record['test_mse']:.4f} MAE {record['test_mae']:.4f} ({record['best_epoch']}/{record['epochs']} epochs)",
                        flush=True,
                    )
    records = []
    for path in sorted(args.records.glob("*_seed*.json")):
        record = json.loads(path.read_text())
        requested = (record["dataset"], record["horizon"]) in settings and record["variant"] in args.variants and record["seed"] in args.seeds
        if not requested or (record["protocol"] == "quick") != args.quick:  # the report covers what the command asks for
            continue
        reason = optimizer_drift(args.runs / path.stem, recipe(record["dataset"], record["horizon"]))
        if reason is not None:  # only reachable with --report-only: a training invocation has retrained it
            print(f"{path.stem}: left out of the report, the cached run is stale ({reason})", flush=True)
            continue
        records.append(record)
    timing = {}
    for setting in args.timing:
        dataset, horizon = setting.rsplit("-", 1)
        key = (dataset, int(horizon))
        if key in settings and (not args.report_only or timing_record(*key, args).is_file()):  # only settings the command asks for
            timing[key] = relative_epoch_time(*key, args)
    print(f"wrote {write_report(report, records, timing, args)}")


if __name__ == "__main__":
    main()
