"""docs/walkthrough.md runs from top to bottom, and shows the figures the figures command makes."""

import re
from pathlib import Path

from .optional import optional_names

(FIGURES,) = optional_names("compare.figures", "FIGURES")


ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "docs" / "walkthrough.md").read_text()


def test_every_code_block_runs_in_order(capsys):
    namespace = {}
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)
    assert len(blocks) >= 10
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/walkthrough.md python block {number}", "exec"), namespace)
    printed = capsys.readouterr().out
    shown = re.search(r"prints what the article prints:\n\n```\n(.*?)```", TEXT, flags=re.DOTALL).group(1)
    assert shown in printed  # the printout the walk-through shows is the one its code prints


def test_it_shows_the_figures_the_command_makes():
    shown = re.findall(r"!\[[^\]]*\]\(figures/(\w+)\.png\)", TEXT)
    assert sorted(shown) == sorted(FIGURES)
    for name in shown:
        data = (ROOT / "docs" / "figures" / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 200_000  # committed at a small size
