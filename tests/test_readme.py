"""The README's examples run as written, and the files it names exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
#: signature listings (``f(a, *, b=...)``) document arguments; they are not meant to run
EXAMPLES = [(i, block) for i, block in enumerate(BLOCKS) if not re.search(r"\(.*\*,", block)]


def test_readme_has_examples_and_signatures() -> None:
    assert len(EXAMPLES) >= 7 and len(BLOCKS) - len(EXAMPLES) >= 2


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("index,block", EXAMPLES, ids=[f"block{i}" for i, _ in EXAMPLES])
def test_readme_python_example_runs(index: int, block: str) -> None:
    exec(compile(block, f"README.md python block {index}", "exec"), {"__name__": f"readme_block_{index}"})


def test_paths_named_in_the_readme_exist() -> None:
    named = set(re.findall(r"(?<![\w/.$-])((?:configs|experiments|results|hopfield_layers|tests)/[\w./<>*-]*\w)", README))
    concrete = {path for path in named if not re.search(r"[<>*]", path)}
    assert len(concrete) > 20
    missing = sorted(path for path in concrete if not (ROOT / path).exists())
    assert not missing, f"README.md names files that do not exist: {missing}"
