"""Write one ``hopfield-layers`` config per dataset × horizon for the Crossformer recipe.

    python configs/timeseries/generate.py            # (re)writes configs/timeseries/<dataset>_<horizon>.yaml

The settings are those of the original Crossformer scripts (github.com/Thinklab-SJTU/Crossformer,
``scripts/*.sh``): Adam, MSE, batch 32, at most 20 epochs, early stopping with patience 3 on the
validation loss, the learning rate halved after epochs 2, 4, 6, 8 and 10 (``lradj=type1``; ECL
uses a fixed learning rate), d_model 256, d_ff 512, 4 heads, 3 encoder blocks, dropout 0.2,
win_size 2 and 10 routers unless overridden. ETTh2 and ETTm2 (not in the original scripts) use the
settings of ETTh1 and ETTm1. ``tests/test_crossformer_recipe.py`` checks the committed files
match this table.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: dataset → (series D, {horizon: (in_len, seg_len, lr)}, overrides of the model, fixed learning rate?)
ETTH = {24: (168, 6, 1e-4), 48: (168, 6, 1e-4), 168: (720, 24, 1e-5), 336: (720, 24, 1e-5), 720: (720, 24, 1e-5)}
ETTM = {24: (288, 12, 1e-4), 48: (288, 6, 1e-4), 96: (672, 12, 1e-4), 288: (672, 24, 1e-5), 672: (672, 12, 1e-5)}
SMALL = {"d_model": 64, "d_ff": 128, "n_heads": 2}
SETTINGS: dict[str, tuple[int, dict[int, tuple[int, int, float]], dict[str, object], bool]] = {
    "ETTh1": (7, ETTH, {}, False),
    "ETTh2": (7, ETTH, {}, False),
    "ETTm1": (7, ETTM, {}, False),
    "ETTm2": (7, ETTM, {}, False),
    "WTH": (12, {24: (48, 6, 1e-4), 48: (48, 12, 1e-4), 168: (336, 24, 1e-5), 336: (336, 24, 1e-5), 720: (720, 24, 1e-5)}, {}, False),
    "ILI": (7, {24: (48, 6, 5e-4), 36: (48, 6, 5e-4), 48: (60, 6, 5e-4), 60: (60, 6, 5e-4)}, {"e_layers": 2, "dropout": 0.6}, False),
    "ECL": (321, {48: (336, 6, 5e-4), 168: (336, 12, 5e-4), 336: (168, 24, 5e-4), 720: (720, 24, 5e-5), 960: (720, 24, 5e-5)}, SMALL, True),
    "Traffic": (862, {24: (96, 12, 1e-3), 48: (96, 12, 1e-3), 168: (336, 24, 1e-3), 336: (720, 24, 1e-3), 720: (336, 24, 5e-3)}, SMALL, False),
}
DEFAULTS = {"win_size": 2, "factor": 10, "d_model": 256, "d_ff": 512, "n_heads": 4, "e_layers": 3, "dropout": 0.2}


def config_text(dataset: str, horizon: int) -> str:
    """The YAML config of one dataset × horizon."""
    data_dim, horizons, overrides, fixed_lr = SETTINGS[dataset]
    in_len, seg_len, lr = horizons[horizon]
    model = {**DEFAULTS, **overrides}
    schedule = (
        "  # fixed learning rate (lradj=fixed in the original ECL script)\n"
        if fixed_lr
        else "  scheduler:  # halve the learning rate after epochs 2, 4, 6, 8 and 10 (lradj=type1)\n"
        "    class_path: torch.optim.lr_scheduler.MultiStepLR\n"
        "    init_args:\n"
        "      milestones: [2, 4, 6, 8, 10]\n"
        "      gamma: 0.5\n"
    )
    network = "".join(f"      {key}: {value}\n" for key, value in model.items())
    return (
        f"# Crossformer on {dataset}, horizon {horizon} (in_len {in_len}, seg_len {seg_len}, lr {lr:g}); written by configs/timeseries/generate.py.\n"
        f"#   hopfield-layers fit --config configs/timeseries/{dataset}_{horizon}.yaml                                                 # Crossformer\n"
        f"#   hopfield-layers fit --config configs/timeseries/{dataset}_{horizon}.yaml --model.network.init_args.attention=sparse_hopfield  # Crossformer-SH\n"
        f"#   hopfield-layers test --config configs/timeseries/{dataset}_{horizon}.yaml --ckpt_path best                               # test MSE/MAE of the best epoch\n"
        "seed_everything: 0\n"
        "trainer:\n"
        "  max_epochs: 20\n"
        f"  default_root_dir: runs/timeseries/{dataset}_{horizon}\n"
        "  callbacks:\n"
        "    - class_path: lightning.pytorch.callbacks.EarlyStopping\n"
        "      init_args:\n"
        "        monitor: val_loss\n"
        "        patience: 3\n"
        "checkpoint:\n"
        "  monitor: val_loss\n"
        "  mode: min\n"
        "model:\n"
        "  task: regression\n"
        "  metrics: [mse, mae]\n"
        "  network:\n"
        "    class_path: hopfield_layers.models.crossformer.Crossformer\n"
        "    init_args:\n"
        f"      data_dim: {data_dim}\n"
        f"      in_len: {in_len}\n"
        f"      out_len: {horizon}\n"
        f"      seg_len: {seg_len}\n"
        f"{network}"
        "      attention: full  # full | hopfield | sparse_hopfield | full_sparsemax | a separation or similarity name\n"
        "      mix: false\n"
        "  optimizer:\n"
        "    class_path: torch.optim.Adam\n"
        "    init_args:\n"
        f"      lr: {lr:.1e}\n"
        f"{schedule}"
        "data:\n"
        "  class_path: hopfield_layers.data.timeseries.TimeSeriesDataModule\n"
        "  init_args:\n"
        f"    dataset: {dataset}\n"
        f"    in_len: {in_len}\n"
        f"    out_len: {horizon}\n"
        "    batch_size: 32\n"
    )


def write_all(folder: Path) -> list[Path]:
    """Write every config into ``folder``; returns the paths."""
    paths = []
    for dataset, (_, horizons, _, _) in SETTINGS.items():
        for horizon in horizons:
            path = folder / f"{dataset}_{horizon}.yaml"
            path.write_text(config_text(dataset, horizon))
            paths.append(path)
    return paths


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    print(f"wrote {len(write_all(folder))} configs to {folder}")
