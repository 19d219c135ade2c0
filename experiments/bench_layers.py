"""Benchmark Hopfield layers against nn.MultiheadAttention; find the longest sequence that runs.

    python experiments/bench_layers.py                 # full run → results/bench_layers.md
    python experiments/bench_layers.py --quick --out /tmp/bench.md

Sections:

1. *Layer speed*: forward+backward of ``Hopfield`` (softmax, one step) vs ``nn.MultiheadAttention`` at
   (B=32, L=S=256, E=256, H=8), timed interleaved in one process; the ratio of medians is reported.
2. *Long sequences*: forward+backward of a self-association ``Hopfield`` at B=1, H=8, E=512 for growing
   L=S, each size in a fresh subprocess so its peak resident memory can be read; compared with the
   size a materialised (H, L, S) float32 association matrix would need.
3. *Separations*: forward and forward+backward of our sparsemax, 1.5-entmax and α-entmax (α=1.3) and of
   the ``entmax`` package's, on scores (8, 8, 512, 512) along the last dim, as ratios to ``torch.softmax``
   (interleaved in one process); peak memory of each in a fresh subprocess.
4. *Sparse Hopfield layer*: forward+backward of ``Hopfield(separation="sparsemax")`` vs the softmax
   ``Hopfield`` at (B=32, L=S=256, E=256, H=8), same weights; peak memory in subprocesses.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import entmax
import torch
from torch import Tensor, nn

from hopfield_layers import Hopfield
from hopfield_layers.ops.entmax import entmax15, entmax_bisect, sparsemax
from hopfield_layers.results import ResultsFile, process_memory_mib

ROOT = Path(__file__).resolve().parents[1]
NO_NORM = dict(normalize_stored_pattern=False, normalize_state_pattern=False, normalize_pattern_projection=False)


def time_interleaved(functions: dict[str, Callable[[], None]], rounds: int, warmup: int = 3, slow: dict[str, int] | None = None) -> dict[str, list[float]]:
    """Run each function ``warmup`` times, then ``rounds`` rounds of one call each, interleaved; seconds per call.

    ``slow`` gives functions too slow to repeat fewer rounds (taking part in the first ones) and no warmup."""
    slow = slow or {}
    for name, fn in functions.items():
        for _ in range(0 if name in slow else warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for round_index in range(rounds):
        for name, fn in functions.items():
            if round_index >= slow.get(name, rounds):
                continue
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def forward_backward(module: nn.Module, *inputs: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        out = module(*inputs)
        out = out[0] if isinstance(out, tuple) else out
        out.sum().backward()

    return run


def layer_speed(batch: int, length: int, embed: int, heads: int, rounds: int) -> list[list[object]]:
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(embed, heads, batch_first=True)
    equivalent = Hopfield(embed, num_heads=heads, **NO_NORM)
    equivalent.association_core.load_state_dict(mha.state_dict())
    default = Hopfield(embed, num_heads=heads)
    x = torch.randn(batch, length, embed, requires_grad=True)
    functions = {
        "nn.MultiheadAttention": forward_backward(mha, x, x, x, None, False),
        "Hopfield (MHA-equivalent: no input LayerNorms)": forward_backward(equivalent, x),
        "Hopfield (defaults: with its 3 input LayerNorms)": forward_backward(default, x),
    }
    times = time_interleaved(functions, rounds)
    base = statistics.median(times["nn.MultiheadAttention"])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append([name, f"{median * 1e3:.1f}", f"{median / base:.3f}"])
    return rows


def peak_rss_mib() -> float:
    """Peak resident memory of this process (VmHWM; ``ru_maxrss`` only where ``/proc`` is missing)."""
    try:
        return process_memory_mib("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(length: int, embed: int, heads: int) -> None:
    """Subprocess body: one forward+backward at L=S=length; prints JSON with time and peak memory."""
    torch.manual_seed(0)
    hopfield = Hopfield(embed, num_heads=heads, **NO_NORM)
    x = torch.randn(1, length, embed, requires_grad=True)
    before = peak_rss_mib()
    start = time.perf_counter()
    hopfield(x).sum().backward()
    elapsed = time.perf_counter() - start
    peak = peak_rss_mib()
    print(json.dumps({"seconds": elapsed, "peak_mib": peak, "extra_mib": peak - before}))


def long_sequences(lengths: list[int], embed: int, heads: int, timeout: float) -> list[list[object]]:
    rows = []
    for length in lengths:
        materialised_gib = heads * length * length * 4 / 1024**3
        command = [sys.executable, __file__, "--child", str(length), "--embed", str(embed), "--heads", str(heads)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            rows.append([length, f"{materialised_gib:.2f}", "—", "—", "—", f"timed out after {timeout:.0f} s"])
            break
        if done.returncode != 0:
            rows.append([length, f"{materialised_gib:.2f}", "—", "—", "—", f"failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"])
            break
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append([length, f"{materialised_gib:.2f}", f"{result['peak_mib']:.0f}", f"{result['extra_mib']:.0f}", f"{result['seconds']:.1f}", "ok"])
    return rows


#: name → function on scores along the last dim; the first is the baseline.
SEPARATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "torch.softmax": lambda t: torch.softmax(t, dim=-1),
    "ours: sparsemax": sparsemax,
    "ours: entmax15": entmax15,
    "ours: entmax_bisect(α=1.3)": lambda t: entmax_bisect(t, 1.3),
    "entmax package: sparsemax": lambda t: entmax.sparsemax(t, dim=-1),
    "entmax package: entmax15": lambda t: entmax.entmax15(t, dim=-1),
    "entmax package: entmax_bisect(α=1.3)": lambda t: entmax.entmax_bisect(t, alpha=1.3, dim=-1),
}
#: our function → the package's, for the speed-up column.
PACKAGE_EQUIVALENT = {f"ours: {name}": f"entmax package: {name}" for name in ("sparsemax", "entmax15", "entmax_bisect(α=1.3)")}
#: rounds of the package's functions (each call takes seconds at the full size; its bisection tens of seconds).
PACKAGE_ROUNDS = {"entmax package: sparsemax": 3, "entmax package: entmax15": 3, "entmax package: entmax_bisect(α=1.3)": 1}


def _separation_runs(name: str, shape: list[int]) -> tuple[Callable[[], None], Callable[[], None]]:
    """(forward, forward+backward) closures for one separation on fixed random scores of ``shape``."""
    fn = SEPARATIONS[name]
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(shape, generator=generator)
    leaf = scores.clone().requires_grad_()
    grad = torch.randn(shape, generator=generator)

    def forward() -> None:
        fn(scores)

    def forward_backward_run() -> None:
        leaf.grad = None
        fn(leaf).backward(grad)

    return forward, forward_backward_run


def _ratio_cell(value: float, goal: float | None) -> str:
    """``value`` against an upper-bound goal: met, or missed by what factor."""
    if goal is None:
        return f"{value:.2f}"
    return f"{value:.2f} (meets ≤ {goal:g})" if value <= goal else f"{value:.2f} (misses ≤ {goal:g} by {value / goal:.2f}×)"


def _speedup_cell(forward: float, both: float, goal: float | None) -> str:
    """Speed-ups over the package (forward / forward+backward) against a lower-bound goal."""
    cell = f"{forward:.1f}× / {both:.1f}×"
    if goal is None:
        return cell
    worst = min(forward, both)
    return cell + (f" (meets ≥ {goal:g}×)" if worst >= goal else f" (misses ≥ {goal:g}× by {goal / worst:.2f}×)")


#: name → (forward ratio goal, forward+backward ratio goal, speed-up over the package goal), from issue 3.
SEPARATION_GOALS = {"ours: sparsemax": (3.0, 3.0, 5.0), "ours: entmax15": (5.0, 5.0, 5.0)}


def separation_speed(shape: list[int], rounds: int) -> list[list[object]]:
    """Rows: name, forward ms, ratio, forward+backward ms, ratio, speed-up over the package (fwd, fwd+bwd)."""
    functions: dict[str, Callable[[], None]] = {}
    for name in SEPARATIONS:
        functions[name], functions[name + " [fb]"] = _separation_runs(name, shape)
    slow = {key: count for name, count in PACKAGE_ROUNDS.items() for key in (name, name + " [fb]")}
    times = {name: statistics.median(values) for name, values in time_interleaved(functions, rounds, warmup=1, slow=slow).items()}
    base, base_fb = times["torch.softmax"], times["torch.softmax [fb]"]
    rows = []
    for name in SEPARATIONS:
        forward, both = times[name], times[name + " [fb]"]
        goal_fwd, goal_fb, goal_speedup = SEPARATION_GOALS.get(name, (None, None, None))
        package = PACKAGE_EQUIVALENT.get(name)
        speedup = _speedup_cell(times[package] / forward, times[package + " [fb]"] / both, goal_speedup) if package else "—"
        rows.append([name, f"{forward * 1e3:.1f}", _ratio_cell(forward / base, goal_fwd), f"{both * 1e3:.1f}", _ratio_cell(both / base_fb, goal_fb), speedup])
    return rows


def _sparse_hopfields(embed: int, heads: int) -> dict[str, Hopfield]:
    torch.manual_seed(0)
    softmax = Hopfield(embed, num_heads=heads)
    sparse = Hopfield(embed, num_heads=heads, separation="sparsemax")
    sparse.load_state_dict(softmax.state_dict())
    return {'Hopfield(separation="softmax")': softmax, 'Hopfield(separation="sparsemax")': sparse}


def sparse_hopfield_speed(batch: int, length: int, embed: int, heads: int, rounds: int) -> list[list[object]]:
    x = torch.randn(batch, length, embed, requires_grad=True)
    modules = _sparse_hopfields(embed, heads)
    times = time_interleaved({name: forward_backward(module, x) for name, module in modules.items()}, rounds)
    base = statistics.median(times['Hopfield(separation="softmax")'])
    rows = []
    for name, values in times.items():
        ratio = statistics.median(values) / base
        rows.append([name, f"{statistics.median(values) * 1e3:.1f}", _ratio_cell(ratio, 2.0 if "sparsemax" in name else None)])
    return rows


def _child_memory(kind: str, name: str, shape: list[int]) -> None:
    """Subprocess body: peak memory (VmHWM) of one forward, then of one forward+backward; prints JSON."""
    if kind == "separation":
        forward, both = _separation_runs(name, shape)
    else:
        batch, length, embed, heads = shape
        module = _sparse_hopfields(embed, heads)[name]
        x = torch.randn(batch, length, embed, requires_grad=True)

        def forward() -> None:
            with torch.no_grad():
                module(x)

        both = forward_backward(module, x)
    before = peak_rss_mib()
    forward()
    after_forward = peak_rss_mib()
    both()
    print(json.dumps({"forward_mib": after_forward - before, "forward_backward_mib": peak_rss_mib() - before}))


def peak_memory(kind: str, names: list[str], shape: list[int], timeout: float) -> dict[str, tuple[str, str]]:
    """name → (extra peak MiB of a forward, of a forward+backward), each measured in a fresh subprocess."""
    result = {}
    for name in names:
        command = [sys.executable, __file__, "--child-memory", kind, name, "--shape", *map(str, shape)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
            values = json.loads(done.stdout.strip().splitlines()[-1])
            result[name] = (f"{values['forward_mib']:.0f}", f"{values['forward_backward_mib']:.0f}")
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as error:
            result[name] = ("—", f"failed: {type(error).__name__}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (used by the tests)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_layers.md")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--embed", type=int, default=512, help=argparse.SUPPRESS)
    parser.add_argument("--heads", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--shape", type=int, nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.embed, args.heads)
        return
    if args.child_memory is not None:
        _child_memory(*args.child_memory, args.shape)
        return

    if args.quick:
        speed = dict(batch=4, length=32, embed=32, heads=4, rounds=3)
        lengths, embed, heads, timeout = [128, 256], 32, 4, 120.0
        scores_shape, separation_rounds = [2, 2, 16, 16], 2
    else:
        speed = dict(batch=32, length=256, embed=256, heads=8, rounds=30)
        lengths, embed, heads, timeout = [1024, 2048, 4096, 8192, 16384, 32768], 512, 8, 900.0
        scores_shape, separation_rounds = [8, 8, 512, 512], 10

    results = ResultsFile(
        title="Layer benchmarks" + (" (quick)" if args.quick else ""),
        seeds=[0],
        description=(
            "Wall-clock times on the CPU of the machine above. Ratios are medians measured in the same process with the "
            "candidates interleaved round by round, so machine-load drift affects all of them alike."
        ),
    )
    rows = layer_speed(**speed)
    results.add_table(
        ["module", "forward+backward (ms, median)", "ratio to nn.MultiheadAttention"],
        rows,
        title=f"Hopfield (softmax, one step) vs nn.MultiheadAttention, B={speed['batch']}, L=S={speed['length']}, E={speed['embed']}, H={speed['heads']}",
        note=(
            "Goal: ratio ≤ 1.05 for the MHA-equivalent configuration (same projections, no input LayerNorms). "
            "The default `Hopfield` also layer-normalises its stored, state and projection inputs, as the reference does."
        ),
    )
    print("\n".join(" | ".join(str(c) for c in row) for row in rows))
    results.write(args.out)
    long_rows = long_sequences(lengths, embed, heads, timeout)
    results.add_table(
        ["L = S", "a materialised (H, L, S) matrix would need (GiB)", "peak RSS of the process (MiB)", "of which during forward+backward (MiB)", "forward+backward (s)", "status"],
        long_rows,
        title=f"Longest sequence: self-association Hopfield, B=1, H={heads}, E={embed}, forward+backward",
        note=(
            "Each size runs in a fresh subprocess; peak RSS covers the whole process (Python, torch, weights, activations and "
            "gradients). With dot similarity + softmax + one step the retrieval dispatches to "
            "`torch.nn.functional.scaled_dot_product_attention` (flash kernel), so the (H, L, S) matrix is never materialised."
        ),
    )
    print("\n".join(" | ".join(str(c) for c in row) for row in long_rows))
    results.write(args.out)

    rows = separation_speed(scores_shape, separation_rounds)
    # --quick: one subprocess per table only (each costs seconds of imports)
    memory = peak_memory("separation", ["ours: sparsemax"] if args.quick else list(SEPARATIONS), scores_shape, timeout)
    rows = [row + list(memory.get(row[0], ("not measured (--quick)", "—"))) for row in rows]
    results.add_table(
        [
            "separation",
            "forward (ms)",
            "forward / torch.softmax",
            "forward+backward (ms)",
            "forward+backward / torch.softmax",
            "speed-up over the entmax package (fwd / fwd+bwd)",
            "peak extra memory, forward (MiB)",
            "peak extra memory, forward+backward (MiB)",
        ],
        rows,
        title=f"Separations on scores {tuple(scores_shape)} (float32, along the last dim)",
        note=separation_note(separation_rounds),
    )
    print("\n".join(" | ".join(str(c) for c in row) for row in rows))
    results.write(args.out)

    hopfield_shape = [speed["batch"], speed["length"], speed["embed"], speed["heads"]]
    rows = sparse_hopfield_speed(**speed)
    memory = peak_memory("hopfield", [rows[-1][0]] if args.quick else [row[0] for row in rows], hopfield_shape, timeout)
    rows = [row + list(memory.get(row[0], ("not measured (--quick)", "—"))) for row in rows]
    results.add_table(
        ["module", "forward+backward (ms, median)", "ratio to the softmax Hopfield", "peak extra memory, forward (MiB)", "peak extra memory, forward+backward (MiB)"],
        rows,
        title=f"Sparse Hopfield vs softmax Hopfield, B={speed['batch']}, L=S={speed['length']}, E={speed['embed']}, H={speed['heads']}, forward+backward",
        note=hopfield_note(speed["batch"], speed["length"], speed["heads"]),
    )
    print("\n".join(" | ".join(str(c) for c in row) for row in rows))
    print(f"wrote {results.write(args.out)}")


def separation_note(rounds: int) -> str:
    package = ", ".join(f"{name.removeprefix('entmax package: ')} {min(count, rounds)}" for name, count in PACKAGE_ROUNDS.items())
    return f"""
Scores are `torch.randn` (seed 0). Times are medians over {rounds} interleaved rounds after one warm-up call (the
`entmax` package's functions, whose calls take seconds: {package} round(s), no warm-up); ratios divide by
`torch.softmax`'s forward, resp. forward+backward, in the same run. Goals (issue 3): sparsemax forward and
forward+backward ≤ 3× softmax, 1.5-entmax ≤ 5×, both ≥ 5× faster than the `entmax` package; a missed goal says by
what factor. Peak extra memory is the rise of the resident high-water mark (VmHWM) of a fresh subprocess that
already holds the scores and the output gradient, first during a forward without autograd, then during a
forward+backward (it includes the output and, for forward+backward, the gradient; memory freed between steps is
reused, so these are peak working sets, not sums).

Why the ratios to softmax are what they are: `torch.softmax` is one fused, vectorised kernel that reads each row
about three times while it sits in cache. Ours are compositions of ordinary PyTorch ops on row blocks of ~2 MiB:
the chunk maxima, the shifted scores, then per Newton step a clamp, a count and one (sparsemax) to three
(1.5-entmax: Σr, Σr² and a second count for the certificate) reductions, then the output; every op is a separate
pass that writes a temporary. α=1.3 also takes a `pow` (a log and an exp) per entry and step. The backward passes
take four passes (weights, product, row sums, `addcmul`) where softmax's is one fused kernel. A fused kernel (a
C++/Triton extension) would remove most passes; we kept plain PyTorch so that everything compiles with
`torch.compile(fullgraph=True)` and needs no build step. The package sorts every row (sparsemax, entmax15) or
bisects 50 times over the whole row (α=1.3); see `hopfield_layers/ops/entmax.py` for our algorithm.
"""


def hopfield_note(batch: int, length: int, heads: int) -> str:
    return f"""
Both modules have the same weights and the default configuration (input LayerNorms on); times are medians over
interleaved rounds. The softmax module dispatches to `torch.nn.functional.scaled_dot_product_attention` (fused,
never materialises the association matrix); the sparsemax module materialises the (B, H, L, S) scores and weights
({batch * heads * length * length:,} entries each) and their gradients, and computes sparsemax and the weighted sum
explicitly, so its extra cost is the separation plus these memory passes. Goal (issue 3): ratio ≤ 2.
"""


if __name__ == "__main__":
    main()
