"""Writing ``results/*.md`` files: every number with the command, seeds, hardware and date.

Every script in ``experiments/`` writes its tables through :class:`ResultsFile`, so each results file
states how it was produced. Paper numbers go in their own columns whose header says whose they are
(e.g. ``"paper (Hu et al. 2023)"``). The runs behind a table are kept beside it as JSON lines
(``results/runs/*.jsonl``, :func:`read_json_lines` / :func:`append_json_line`), so it can be re-rendered
and extended on another machine.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

__all__ = ["ResultsFile", "hardware_summary", "mean_std", "command_line"]


def command_line() -> str:
    """The command that started this process, as one shell line."""
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def process_memory_mib(field: str = "VmHWM") -> float:
    """Memory of this process in MiB from ``/proc/self/status``: ``"VmHWM"`` (peak resident) or ``"VmRSS"`` (now).

    ``ru_maxrss`` is not used because it carries the parent's high-water mark across ``exec``. Raises
    ``OSError`` where ``/proc`` has no such field (not Linux).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def hardware_summary() -> str:
    """One line: CPU model, cores, memory, GPU (if any), Python, torch and thread count."""
    parts = [f"CPU: {_cpu_model()} ({os.cpu_count()} logical cores)"]
    memory = _memory_gib()
    if memory is not None:
        parts.append(f"RAM: {memory:.0f} GiB")
    if torch.cuda.is_available():
        parts.append(f"GPU: {torch.cuda.get_device_name(0)}")
    parts.append(f"Python {platform.python_version()}, torch {torch.__version__}, torch threads: {torch.get_num_threads()}")
    return "; ".join(parts)


def mean_std(values: Iterable[float], digits: int = 3) -> str:
    """``"mean ± std"`` (sample std, ddof=1; just the mean for a single value)."""
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        return "—"
    if array.size == 1:
        return f"{array[0]:.{digits}f}"
    return f"{array.mean():.{digits}f} ± {array.std(ddof=1):.{digits}f}"


def read_json_lines(path: Path) -> list[dict]:
    """The records of a JSON-lines run record, oldest first; a missing file has none.

    Blank lines and a line cut off by an interrupted append are skipped.
    """
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def append_json_line(path: Path, record: dict) -> None:
    """Append ``record`` as one JSON line to ``path`` (created with its folders when missing).

    A line left unterminated by an interrupted earlier append is ended first, so the new record stays
    readable. One writer at a time: callers append from a single process.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell():
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(json.dumps(record, sort_keys=True, default=list).encode() + b"\n")


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


@dataclass
class ResultsFile:
    """A markdown results file under construction.

    Args:
        title: the file's heading.
        command: the exact command that regenerates the file (default: this process's command line).
        seeds: the seeds used.
        description: a paragraph on what was measured and how.
    """

    title: str
    command: str = field(default_factory=command_line)
    seeds: Sequence[int] | str = ()
    description: str = ""
    _sections: list[str] = field(default_factory=list)
    started: _dt.datetime = field(default_factory=lambda: _dt.datetime.now().astimezone())

    def add_text(self, text: str) -> None:
        self._sections.append(text.strip() + "\n")

    def add_table(self, headers: Sequence[str], rows: Iterable[Sequence[object]], title: str | None = None, note: str | None = None) -> None:
        lines = [f"### {title}\n"] if title else []
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "|".join("---" for _ in headers) + "|")
        for row in rows:
            if len(row) != len(headers):
                raise ValueError(f"table row has {len(row)} cells but there are {len(headers)} headers: {row}")
            lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
        if note:
            lines.append(f"\n{note.strip()}")
        self._sections.append("\n".join(lines) + "\n")

    def add_image(self, path: str | Path, caption: str, relative_to: str | Path | None = None) -> None:
        path = Path(path)
        shown = path.relative_to(relative_to) if relative_to is not None else path.name
        self._sections.append(f"![{caption}]({shown})\n\n*{caption}*\n")

    def render(self) -> str:
        seeds = self.seeds if isinstance(self.seeds, str) else (", ".join(str(s) for s in self.seeds) or "—")
        elapsed = (_dt.datetime.now().astimezone() - self.started).total_seconds()
        header = [
            f"# {self.title}\n",
            f"- **Command:** `{self.command}`",
            f"- **Date:** {self.started.strftime('%Y-%m-%d %H:%M %Z')} (run took {elapsed:.0f} s)",
            f"- **Hardware:** {hardware_summary()}",
            f"- **Seeds:** {seeds}",
            "",
        ]
        if self.description:
            header.append(self.description.strip() + "\n")
        return "\n".join(header) + "\n" + "\n".join(self._sections)

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render())
        return path
