"""The retrieval-model zoo (M-, S-, U-, K-, K2-, A-Hop, MLP), its losses and the benchmark script (quick mode)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hopfield_layers.data.variants import make_variants, variant_log_likelihood
from hopfield_layers.memory.retrieval import MODELS, Argmax, build_model, evaluate, fit_footprint_optimum, fit_uniformity, likelihood_loss, train, uniformity_loss
from hopfield_layers.similarity import Footprint, LinearKernel

ROOT = Path(__file__).resolve().parents[1]


def _patterns(count: int = 40, dim: int = 12) -> torch.Tensor:
    return torch.rand(count, dim, generator=torch.Generator().manual_seed(0)) * 2 - 1


@pytest.mark.parametrize("name", MODELS)
def test_every_model_retrieves_shapes(name: str) -> None:
    patterns = _patterns()
    model = build_model(name, patterns, hidden=16)
    queries = torch.randn(5, 12)
    assert model.scores(queries).shape == (5, 40)
    assert model(queries).shape == (5, 12)


def test_hopfield_models_match_their_definitions() -> None:
    patterns, queries = _patterns(), torch.randn(5, 12)
    torch.testing.assert_close(build_model("M-Hop", patterns, scaling=0.5)(queries), torch.softmax(0.5 * queries @ patterns.T, -1) @ patterns)
    u_hop = build_model("U-Hop", patterns)(queries)
    assert torch.equal(u_hop, patterns[torch.cdist(queries, patterns, p=1).argmin(1)])
    sparse = build_model("S-Hop", patterns).scores(queries)
    torch.testing.assert_close(sparse, queries @ patterns.T)
    a_hop = build_model("A-Hop", patterns)
    assert isinstance(a_hop.similarity, Footprint) and a_hop.similarity.head_dim == 12
    assert isinstance(build_model("K2-Hop", patterns).similarity, LinearKernel)
    per_pattern = build_model("A-Hop", patterns, per_pattern=True, prior_bias=True)
    assert per_pattern.similarity.weight.shape == (2, 1, 40, 12)


def test_argmax_separation() -> None:
    weights = Argmax()(torch.tensor([[0.1, 3.0, -1.0], [2.0, 0.0, 1.0]]))
    assert torch.equal(weights, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))


def test_evaluate_perfect_and_wrong_retrievals() -> None:
    patterns = _patterns()
    index = torch.arange(40)
    assert evaluate(build_model("U-Hop", patterns), index, patterns.clone()) == (1.0, 0.0)
    accuracy, error = evaluate(build_model("U-Hop", patterns), index.roll(1), patterns.clone())
    assert accuracy == 0.0 and error == pytest.approx(((patterns - patterns.roll(1, 0)) ** 2).mean().item(), rel=1e-5)


def test_losses() -> None:
    scores, index = torch.randn(6, 9), torch.randint(9, (6,))
    torch.testing.assert_close(likelihood_loss(scores, index), -torch.log_softmax(scores, -1)[torch.arange(6), index].mean())
    points = torch.randn(5, 3)
    unit = points / points.norm(dim=1, keepdim=True)
    pairs = [((unit[i] - unit[j]).square().sum() * -2).exp() for i in range(5) for j in range(i + 1, 5)]
    torch.testing.assert_close(uniformity_loss(points), torch.stack(pairs).mean().log())


def test_fit_uniformity_spreads_the_kernel_features() -> None:
    patterns = _patterns() + 1.0  # shifted off the origin: poorly spread on the sphere
    model = build_model("K-Hop", patterns)
    history = fit_uniformity(model, epochs=30, lr=0.05)
    assert history[-1] < history[0] - 1.0


def test_training_a_hop_beats_m_hop_on_masked_variants() -> None:
    patterns = _patterns(64, 16)
    test = make_variants(patterns, 300, mask=0.6, generator=torch.Generator().manual_seed(1))
    a_hop = build_model("A-Hop", patterns)
    history = train(a_hop, (0.6, 0.0, 0.0), epochs=40, batch_size=32, epoch_size=32, generator=torch.Generator().manual_seed(2))
    assert history[-1] < history[0]
    assert evaluate(a_hop, *test)[0] > evaluate(build_model("M-Hop", patterns), *test)[0] + 0.2


def test_training_from_a_fixed_set() -> None:
    model = build_model("K2-Hop", _patterns())
    history = train(model, (0.2, 0.1, 0.0), epochs=3, lr=0.01, batch_size=8, train_samples=20, generator=torch.Generator().manual_seed(0))
    assert len(history) == 3


def test_bayes_oracle_is_the_best_retrieval() -> None:
    patterns = _patterns(64, 16)
    index, queries = make_variants(patterns, 300, mask=0.3, noise=0.3, bias=0.3, generator=torch.Generator().manual_seed(1))
    oracle = (variant_log_likelihood(patterns, queries, mask=0.3, noise=0.3, bias=0.3, chunk_size=10).argmax(1) == index).float().mean()
    m_hop = evaluate(build_model("M-Hop", patterns), index, queries)[0]
    assert oracle > m_hop
    noiseless = variant_log_likelihood(patterns, patterns, mask=0.5)
    assert torch.equal(noiseless.argmax(1), torch.arange(64))


@pytest.mark.parametrize("U", ["triangular", "identity"])
def test_footprint_optimum_is_the_minimum_of_the_training_loss(U: str) -> None:
    """L-BFGS on the sorted similarities reaches the loss that long full-batch Adam approaches, and no lower point is nearby."""
    patterns = _patterns(64, 8)
    index, queries = make_variants(patterns, 192, mask=0.4, noise=0.4, bias=0.4, generator=torch.Generator().manual_seed(1))
    model = build_model("A-Hop", patterns, U=U)
    start = likelihood_loss(model.scores(queries), index).item()
    loss = fit_footprint_optimum(model, index, queries, max_iter=200)
    # the returned loss is the model's own (library footprint path, weights written back through Uᵀw = u)
    reached = likelihood_loss(model.scores(queries), index)
    assert reached.item() == pytest.approx(loss, abs=1e-4) and loss < start - 0.5
    (grad,) = torch.autograd.grad(reached, model.similarity.weight)
    assert grad.norm() < 1e-2
    adam = build_model("A-Hop", patterns, U=U)
    optimizer = torch.optim.Adam(adam.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        adam_loss = likelihood_loss(adam.scores(queries), index)
        adam_loss.backward()
        optimizer.step()
    assert loss <= adam_loss.item() + 1e-3
    with torch.no_grad():  # a convex minimum: every small step in w raises the loss
        for _ in range(5):
            model.similarity.weight.add_(step := 1e-2 * torch.randn_like(model.similarity.weight))
            assert likelihood_loss(model.scores(queries), index).item() > loss - 1e-5
            model.similarity.weight.sub_(step)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: build_model("M-Hop", p), "needs an A-Hop model"),
        (lambda p: build_model("A-Hop", p, per_pattern=True), "no per_pattern, prior_bias or learnable_U"),
        (lambda p: build_model("A-Hop", p, learnable_U=True), "no per_pattern, prior_bias or learnable_U"),
    ],
    ids=["not-footprint", "per-pattern", "learnable-U"],
)
def test_footprint_optimum_rejects_models(make, match: str) -> None:
    patterns = _patterns()
    index, queries = make_variants(patterns, 8, mask=0.4)
    with pytest.raises((TypeError, ValueError), match=match):
        fit_footprint_optimum(make(patterns), index, queries)


def test_footprint_optimum_checks_inputs() -> None:
    patterns, model = _patterns(), build_model("A-Hop", _patterns())
    index, queries = make_variants(patterns, 8, mask=0.4)
    with pytest.raises(ValueError, match=r"index must be an int64 tensor of shape \(8,\)"):
        fit_footprint_optimum(model, index[:5], queries)
    with pytest.raises(ValueError, match=r"queries must have shape \(M, d\) with d = 12"):
        fit_footprint_optimum(model, index, queries[:, :5])
    with pytest.raises(ValueError, match=r"need 0.0 GiB > max_memory"):
        fit_footprint_optimum(model, index, queries, max_memory=1000)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: build_model("X-Hop", _patterns()), "unknown model 'X-Hop'"),
        (lambda: build_model("M-Hop", _patterns(), sort=False), "footprint options are only for 'A-Hop'"),
        (lambda: build_model("M-Hop", torch.zeros(5)), r"patterns must be a floating tensor of shape \(N, d\)"),
        (lambda: build_model("M-Hop", _patterns())(torch.randn(3, 5)), r"queries must have shape \(M, d\) with d = 12"),
        (lambda: train(build_model("M-Hop", _patterns()), (0.1, 0.0, 0.0)), "has no trainable parameters"),
        (lambda: fit_uniformity(build_model("M-Hop", _patterns())), "needs a model with a LinearKernel similarity"),
        (lambda: variant_log_likelihood(_patterns(), torch.randn(3, 5)), r"must agree in d"),
    ],
    ids=["unknown-model", "footprint-options", "patterns-shape", "queries-shape", "untrainable", "uniformity-kernel", "oracle-shapes"],
)
def test_errors(call, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_benchmark_quick(tmp_path: Path) -> None:
    out, cache = tmp_path / "rv.md", tmp_path / "cache.json"
    command = [sys.executable, str(ROOT / "experiments" / "retrieval_variants.py"), "--quick", "--parts", "mixed,ablation,speed,memory", "--out", str(out), "--cache", str(cache)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    text = out.read_text()
    assert "**Command:** `python" in text and "**Hardware:**" in text and out.with_suffix(".png").is_file()
    assert "Mixed variants" in text and "Ablations" in text and "Speed" in text and "Peak memory" in text
    memory = next(line for line in text.splitlines() if line.startswith("| L = S = 256"))
    peak, above_start = (float(cell) for cell in memory.split("|")[2:4])
    assert 0 < above_start < peak  # the probe's own high-water mark, not its parent's
    runs = json.loads(cache.read_text())
    masked = [r for key, r in runs.items() if key.startswith("mixed|random|128|(0.8, 0, 0)")]
    assert masked
    for result in masked:  # A-Hop beats M-Hop on the masked setting, in every run
        assert result["A-Hop"]["accuracy"] > result["M-Hop"]["accuracy"] + 0.1
    assert any(key.startswith("speed|16|128|") for key in runs) and any(key.startswith("memory|256|64|") for key in runs)

    def speed_and_memory(*extra: str) -> tuple[str, str]:
        again = tmp_path / "again.md"
        done = subprocess.run([*command[:4], "speed,memory", "--out", str(again), "--cache", str(cache), *extra], check=True, capture_output=True, text=True)
        tables = again.read_text().split("### Speed")[1]
        return done.stdout, tables

    log, tables = speed_and_memory()  # rendered from the cache: nothing measured, the same numbers
    assert "[speed]" not in log and tables == text.split("### Speed")[1]
    log, _ = speed_and_memory("--retime")
    assert "[speed] d=16 N=128" in log


BENCHMARK = ROOT / "experiments" / "retrieval_variants.py"


def test_benchmark_overrides(load_script) -> None:
    overrides = load_script(BENCHMARK).overrides
    assert overrides(["epochs=3", "mixed=[(0.8, 0, 0)]", "mnist_oracle=False"]) == {"epochs": 3, "mixed": [(0.8, 0, 0)], "mnist_oracle": False}
    with pytest.raises(ValueError, match="FIELD one of"):
        overrides(["epoch=3"])
    with pytest.raises(ValueError, match="is not a Python literal"):
        overrides(["epochs=ten"])


def test_benchmark_part_seeds(load_script) -> None:
    bench = load_script(BENCHMARK)
    cfg = bench.replace(bench.Config(), seeds=5, part_seeds={"mnist": 1, "mixed": 2})
    assert [bench.seeds_of(cfg, part) for part in ("hard", "mnist", "mixed", "ablation")] == [5, 1, 2, 5]
    # the seed count is not part of a run's cache key: a run with fewer seeds reuses the same per-seed entries
    assert "part_seeds" not in bench.Runs(None, cfg).fingerprint_of(None)
    with pytest.raises(SystemExit):
        bench.main(["--set", "part_seeds={'hard': 0}"])
    sized = bench.replace(cfg, part_seeds={"mixed": 2, "mixed@4096": 1})  # one size of the mixed table
    assert [bench.seeds_of(sized, "mixed", count) for count in (2048, 4096, None)] == [2, 1, 2]
    assert bench.seeds_of(sized, "hard", 4096) == 5
    later = bench.replace(cfg, part_seeds={"ablation": 5, "ablation-later": 1})  # a group inside a part
    assert [bench.seeds_of(later, part, 2048) for part in ("ablation", "ablation-later", "hard-optimum")] == [5, 1, 5]
    one = bench.replace(cfg, part_seeds={"mixed@4096": 1, "mixed@4096(.8,0,0)": 5})  # one setting of one size
    assert [bench.seeds_of(one, "mixed", 4096, d) for d in ((0.8, 0, 0), (0.6, 0.3, 0))] == [5, 1]
    assert [bench.seeds_of(one, "mixed", 2048, (0.8, 0, 0)), bench.seeds_of(one, "mixed", 4096)] == [5, 1]  # cfg.seeds at N = 2048; the size's own entry without a setting
    for bad in ("{'mixed@': 1}", "{'hard@4096': 1}", "{'mixed@4096': 0}", "{4096: 1}", "{'mixed@4096(.8, 0, 0)': 5}", "{'mixed@4096(.7,0,0)': 5}"):
        with pytest.raises(SystemExit):
            bench.main(["--set", f"part_seeds={bad}"])


def test_mixed_table_counts_the_runs_of_each_setting(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings with more runs than the rest of their table: each row runs its own count and a runs column says which."""
    bench = load_script(BENCHMARK)
    calls = _record_runs(bench, monkeypatch)
    mixed = [(0.8, 0, 0), (0, 0, 0.8)]
    cfg = bench.replace(bench.QUICK, seeds=1, sizes=(16, 32), mixed=mixed, part_seeds={"mixed@32(0,0,.8)": 3})
    results = bench.ResultsFile("t")
    bench.mixed_tables(bench.Runs(tmp_path / "c.json", cfg), results, None, print)
    assert len(calls) == 1 + 1 + 1 + 3  # N = 16: one run per setting; N = 32: (.8,0,0) one run, (0,0,.8) three
    text = results.render()
    assert "N = 16: accuracy (mean ± std over 1 runs)" in text and "| (d_mask, d_noise, d_bias) | M-Hop |" in text
    assert "N = 32: accuracy (mean ± std over the runs of each row, 1–3)" in text
    assert "| (d_mask, d_noise, d_bias) | runs | M-Hop |" in text and "| (0,0,.8) | 3 |" in text and "| (.8,0,0) | 1 |" in text


def _record_runs(bench, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[str, ...]]]:
    """Replace the benchmark's ``run_setting`` by a stub that trains nothing; returns the list of its ``(source, models)`` calls."""
    calls = []

    def fake_run_setting(source, count, difficulty, models, cfg, seed, data_root):
        calls.append((source, tuple(models)))
        return {label: {"accuracy": 0.5, "error": 0.1, "train_s": 0.0, "eval_s": 0.0} for label in models}

    monkeypatch.setattr(bench, "run_setting", fake_run_setting)
    return calls


def test_cached_runs_keep_the_machine_they_ran_on(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new run is stored with its machine and date; the report counts runs per machine, older entries as not kept."""
    bench = load_script(BENCHMARK)
    _record_runs(bench, monkeypatch)
    monkeypatch.setattr(bench, "hardware_summary", lambda: "CPU: test machine")
    cache, cfg = tmp_path / "cache.json", bench.replace(bench.QUICK, seeds=2, mixed=[(0.8, 0, 0)])
    runs = bench.Runs(cache, cfg)
    collected = bench.run_models(runs, "mixed", "random", 16, (0.8, 0, 0), {"M-Hop": {}}, None, print)
    assert collected == {"M-Hop": [{"accuracy": 0.5, "error": 0.1, "train_s": 0.0, "eval_s": 0.0}] * 2}  # no provenance in the metrics
    stored = json.loads(cache.read_text())
    assert [entry[bench.Runs.PROVENANCE]["hardware"] for entry in stored.values()] == ["CPU: test machine"] * 2
    old = next(iter(stored))
    del stored[old][bench.Runs.PROVENANCE]  # an entry written before the cache kept the machine
    cache.write_text(json.dumps(stored))
    again = bench.Runs(cache, cfg)
    assert bench.run_models(again, "mixed", "random", 16, (0.8, 0, 0), {"M-Hop": {}}, None, print) == collected
    text = again.provenance_text()
    assert "read 2 runs from the cache: 1 ran on CPU: test machine; 1 ran before the cache kept the machine" in text


def test_mnist_oracle_is_added_to_cached_model_runs(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Switching the MNIST oracle on runs only the oracle (both noise readings), not the cached model runs again."""
    bench = load_script(BENCHMARK)
    calls = _record_runs(bench, monkeypatch)
    cache, cfg = tmp_path / "cache.json", bench.replace(bench.QUICK, seeds=1, hard=[("mnist", 0.6)], mnist_oracle=False)
    bench.hard_table(bench.Runs(cache, cfg), bench.ResultsFile("t"), None, print)
    assert calls == [("mnist", tuple(bench.MODELS)), ("mnist", (bench.SCALED_LR,))]
    calls.clear()
    results = bench.ResultsFile("t")
    bench.hard_table(bench.Runs(cache, bench.replace(cfg, mnist_oracle=True)), results, None, print)
    assert calls == [("mnist", (bench.ORACLE,))] * 2  # d_noise as a standard deviation, then as a variance
    assert bench.ORACLE in results.render() and "was not run on MNIST" not in results.render()


def test_scaled_lr_row_on_mnist_can_have_fewer_runs(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``part_seeds["mnist-scaled-lr"]`` sets the runs of that MNIST row alone; its label states the count that differs."""
    bench = load_script(BENCHMARK)
    calls = _record_runs(bench, monkeypatch)
    cfg = bench.replace(bench.QUICK, seeds=1, hard=[("mnist", 0.6)], mnist_oracle=False, part_seeds={"mnist": 3, "mnist-scaled-lr": 1})
    assert [bench.seeds_of(cfg, part) for part in ("mnist", "mnist-scaled-lr", "mnist-oracle")] == [3, 1, 3]
    results = bench.ResultsFile("t")
    bench.hard_table(bench.Runs(tmp_path / "c.json", cfg), results, None, print)
    assert calls == [("mnist", tuple(bench.MODELS))] * 3 + [("mnist", (bench.SCALED_LR,))]
    text = results.render()
    assert "d = 784, 3 run(s)" in text
    assert f"| MNIST (0.6, 0.6, 0.6) | {bench.SCALED_LR} (1 run) |" in text and "| MNIST (0.6, 0.6, 0.6) | A-Hop |" in text
    bench.main(["--quick", "--parts", "hard", "--out", str(tmp_path / "r.md"), "--set", "hard=[]", "part_seeds={'mnist-scaled-lr': 1}"])  # a known group


@pytest.mark.parametrize("device", ["tpu", "cuda:0"])
def test_device_option_refuses_what_is_not_here(load_script, capsys: pytest.CaptureFixture[str], device: str) -> None:
    bench = load_script(BENCHMARK)
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("checks the refusal on a machine without CUDA")
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--parts", "hard", "--device", device])
    assert "--device" in capsys.readouterr().err


def test_the_device_is_not_part_of_a_run_key_and_off_cpu_runs_say_so(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs on another device reuse the CPU runs' cache entries (same variants, same protocol); a new one records its device."""
    bench = load_script(BENCHMARK)
    _record_runs(bench, monkeypatch)
    cpu, gpu = bench.QUICK, bench.replace(bench.QUICK, device="cuda")
    assert bench.Runs(None, cpu).fingerprint_of(None) == bench.Runs(None, gpu).fingerprint_of(None)
    runs = bench.Runs(tmp_path / "c.json", gpu)  # run_setting is a stub: nothing touches a GPU
    bench.run_models(runs, "mixed", "random", 16, (0.8, 0, 0), {"M-Hop": {}}, None, print)
    assert all(entry[bench.Runs.PROVENANCE]["hardware"].endswith("; runs on cuda") for entry in json.loads((tmp_path / "c.json").read_text()).values())
    bench.Runs(tmp_path / "t.json", gpu).get_or_run("timing", lambda: {"t": 1.0}, fields=(), device="cpu")
    stored = json.loads((tmp_path / "t.json").read_text())
    assert "runs on" not in next(iter(stored.values()))[bench.Runs.PROVENANCE]["hardware"]  # the speed and memory tables measure the CPU


def test_loss_optimum_runs_on_random_patterns_only(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = load_script(BENCHMARK)
    calls = _record_runs(bench, monkeypatch)
    results = bench.ResultsFile("t")
    bench.hard_table(bench.Runs(tmp_path / "c.json", bench.replace(bench.QUICK, seeds=1)), results, None, print)
    assert ("random", (bench.OPTIMUM,)) in calls and ("mnist", (bench.OPTIMUM,)) not in calls
    assert f"| random (0.4, 0.4, 0.4) | {bench.OPTIMUM} |" in results.render()


def test_scaled_lr_a_hop_runs_on_mnist_only(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = load_script(BENCHMARK)
    calls = _record_runs(bench, monkeypatch)
    results = bench.ResultsFile("t")
    bench.hard_table(bench.Runs(tmp_path / "c.json", bench.replace(bench.QUICK, seeds=1, mnist_oracle=False)), results, None, print)
    assert ("mnist", (bench.SCALED_LR,)) in calls and ("random", (bench.SCALED_LR,)) not in calls
    table = results.render()
    assert f"| MNIST (0.6, 0.6, 0.6) | {bench.SCALED_LR} |" in table
    assert table.index("| MNIST (0.6, 0.6, 0.6) | A-Hop |") < table.index(f"| MNIST (0.6, 0.6, 0.6) | {bench.SCALED_LR} |")


def test_later_ablations_run_as_their_own_group_and_leave_the_first_cached(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = load_script(BENCHMARK)
    calls = _record_runs(bench, monkeypatch)
    first = list(bench.ABLATIONS)
    cache = tmp_path / "c.json"
    bench.ablation_table(bench.Runs(cache, bench.replace(bench.QUICK, seeds=1, ablations=first)), bench.ResultsFile("t"), None, print)
    assert calls == [("random", tuple(first))]
    calls.clear()
    results = bench.ResultsFile("t")
    assert bench.Config().ablations == [*first, *bench.LATER_ABLATIONS]  # the default: every ablation
    bench.ablation_table(bench.Runs(cache, bench.replace(bench.QUICK, seeds=1, ablations=bench.Config().ablations)), results, None, print)
    assert calls == [("random", tuple(bench.LATER_ABLATIONS))]  # the first group came from the cache
    assert all(f"| {label} |" in results.render() for label in bench.Config().ablations)
    with pytest.raises(ValueError, match="unknown ablations"):
        bench.ablation_table(bench.Runs(None, bench.replace(bench.QUICK, ablations=["U = lower"])), bench.ResultsFile("t"), None, print)


def test_the_later_ablations_train_a_footprint_per_pattern_and_a_prior(load_script) -> None:
    bench = load_script(BENCHMARK)
    cfg = bench.replace(bench.QUICK, epochs=2, test_queries=16)
    result = bench.run_setting("random", 16, (0.4, 0.4, 0.4), bench.LATER_ABLATIONS, cfg, 0, None)
    assert set(result) == set(bench.LATER_ABLATIONS) and all(0.0 <= r["accuracy"] <= 1.0 for r in result.values())


@pytest.mark.parametrize("dim", [64, 784])
def test_scaled_lr_is_the_a_hop_rate_times_64_over_d(load_script, monkeypatch: pytest.MonkeyPatch, dim: int) -> None:
    """The scaled-rate A-Hop trains like A-Hop (same seeds and variants) with Adam at 0.1 · 64 / d."""
    bench = load_script(BENCHMARK)
    rates = []
    monkeypatch.setattr(bench, "train", lambda model, difficulty, *, lr, **kwargs: rates.append((lr, kwargs)))
    cfg = bench.replace(bench.QUICK, dim=dim, test_queries=8)
    bench.run_setting("random", 16, (0.4, 0.4, 0.4), {"A-Hop": {}, bench.SCALED_LR: {"model": "A-Hop", "scale_lr": True}}, cfg, 0, None)
    (plain, plain_kwargs), (scaled, scaled_kwargs) = rates
    assert plain == bench.LEARNING_RATES["A-Hop"] == 0.1
    assert scaled == pytest.approx(0.1 * 64 / dim)
    assert plain_kwargs["generator"].initial_seed() == scaled_kwargs["generator"].initial_seed()
    assert {k: v for k, v in plain_kwargs.items() if k != "generator"} == {k: v for k, v in scaled_kwargs.items() if k != "generator"}


def test_loss_optimum_of_a_quick_setting(load_script) -> None:
    """The benchmark's loss-optimum A-Hop fits at least as well as Adam-trained A-Hop retrieves, on the same test variants."""
    bench = load_script(BENCHMARK)
    cfg = bench.replace(bench.QUICK, optimum_train=512, epochs=10)
    result = bench.run_setting("random", 64, (0.4, 0.4, 0.4), {"A-Hop": {}, bench.OPTIMUM: {"model": bench.OPTIMUM}, "M-Hop": {"model": "M-Hop"}}, cfg, 0, None)
    assert result[bench.OPTIMUM]["accuracy"] >= result["M-Hop"]["accuracy"]
    assert result[bench.OPTIMUM]["accuracy"] >= result["A-Hop"]["accuracy"] - 0.05


def test_run_keys_hold_only_the_fields_a_run_depends_on(load_script) -> None:
    bench = load_script(BENCHMARK)
    optimum = {bench.OPTIMUM: {"model": bench.OPTIMUM}}
    for change in ({"optimum_train": 10}, {"optimum_max_iter": 3}):  # only the loss-optimum runs depend on its settings
        a, b = bench.Runs(None, bench.Config()), bench.Runs(None, bench.replace(bench.Config(), **change))
        for source, models in (("random", {"A-Hop": {}}), ("mnist", {"A-Hop": {}}), ("random", {bench.ORACLE: {"model": bench.ORACLE}})):
            assert a.fingerprint_of(bench.run_fields(source, models)) == b.fingerprint_of(bench.run_fields(source, models))
        assert a.fingerprint_of(bench.run_fields("random", optimum)) != b.fingerprint_of(bench.run_fields("random", optimum))
    a, b = bench.Runs(None, bench.Config()), bench.Runs(None, bench.replace(bench.Config(), epochs=3))
    assert a.fingerprint_of(bench.run_fields("random", optimum)) == b.fingerprint_of(bench.run_fields("random", optimum))
    oracle, models = {bench.ORACLE: {"model": bench.ORACLE}}, {name: {"model": name} for name in bench.MODELS}
    base = bench.Config()
    for change in ({"mnist_epochs": 40}, {"mnist_patterns": 100}):  # MNIST settings leave random-pattern runs cached
        a, b = bench.Runs(None, base), bench.Runs(None, bench.replace(base, **change))
        assert a.fingerprint_of(bench.run_fields("random", models)) == b.fingerprint_of(bench.run_fields("random", models))
        assert a.fingerprint_of(bench.run_fields("mnist", models)) != b.fingerprint_of(bench.run_fields("mnist", models))
    for change in ({"epochs": 3}, {"mnist_epochs": 40}, {"mlp_hidden": 8}):  # the oracle trains nothing
        a, b = bench.Runs(None, base), bench.Runs(None, bench.replace(base, **change))
        for source in ("random", "mnist"):
            assert a.fingerprint_of(bench.run_fields(source, oracle)) == b.fingerprint_of(bench.run_fields(source, oracle))
    changed = bench.Runs(None, bench.replace(base, test_queries=10))
    assert bench.Runs(None, base).fingerprint_of(bench.run_fields("mnist", oracle)) != changed.fingerprint_of(bench.run_fields("mnist", oracle))


def test_the_committed_report_is_rebuilt_from_the_committed_cache(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every number of results/retrieval_variants.md follows from results/retrieval_variants.json: nothing is trained or timed."""
    committed = (ROOT / "results" / "retrieval_variants.md").read_text()
    command = shlex.split(re.search(r"\*\*Command:\*\* `python experiments/retrieval_variants.py ([^`]*)`", committed).group(1))
    cache, out = tmp_path / "cache.json", tmp_path / "retrieval_variants.md"
    shutil.copy(ROOT / "results" / "retrieval_variants.json", cache)
    for flag, value in (("--cache", cache), ("--out", out)):
        command[command.index(flag) + 1] = str(value)
    assert "--retime" not in command
    bench = load_script(BENCHMARK)
    monkeypatch.setattr(bench, "run_setting", lambda *args: pytest.fail(f"not in the committed cache: {args[:3]}"))
    bench.main(command)
    assert out.read_text().split("### ", 1)[1] == committed.split("### ", 1)[1]
    origin = re.compile(r"\*\*Where the numbers come from\.\*\*.*")
    assert origin.search(out.read_text()).group(0) == origin.search(committed).group(0)
    assert cache.read_bytes() == (ROOT / "results" / "retrieval_variants.json").read_bytes()
