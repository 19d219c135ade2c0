"""The retrieval-model zoo (M-, S-, U-, K-, K2-, A-Hop, MLP), its losses and the benchmark script (quick mode)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hopfield_layers.data.variants import make_variants, variant_log_likelihood
from hopfield_layers.memory.retrieval import MODELS, Argmax, build_model, evaluate, fit_uniformity, likelihood_loss, train, uniformity_loss
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


def test_mnist_oracle_is_added_to_cached_model_runs(load_script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Switching the MNIST oracle on runs only the oracle (both noise readings), not the cached model runs again."""
    bench = load_script(BENCHMARK)
    calls = []

    def fake_run_setting(source, count, difficulty, models, cfg, seed, data_root):
        calls.append((source, tuple(models)))
        return {label: {"accuracy": 0.5, "error": 0.1, "train_s": 0.0, "eval_s": 0.0} for label in models}

    monkeypatch.setattr(bench, "run_setting", fake_run_setting)
    cache, cfg = tmp_path / "cache.json", bench.replace(bench.QUICK, seeds=1, hard=[("mnist", 0.6)], mnist_oracle=False)
    bench.hard_table(bench.Runs(cache, cfg), bench.ResultsFile("t"), None, print)
    assert calls == [("mnist", tuple(bench.MODELS))]
    calls.clear()
    results = bench.ResultsFile("t")
    bench.hard_table(bench.Runs(cache, bench.replace(cfg, mnist_oracle=True)), results, None, print)
    assert calls == [("mnist", (bench.ORACLE,))] * 2  # d_noise as a standard deviation, then as a variance
    assert bench.ORACLE in results.render() and "was not run on MNIST" not in results.render()


def test_run_keys_hold_only_the_fields_a_run_depends_on(load_script) -> None:
    bench = load_script(BENCHMARK)
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
