"""The README is executable: its set-up commands are what CI runs, and its code blocks run."""

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_set_up_commands_word_for_word():
    setup = README.split("## Set-up", 1)[1]
    commands = [line for line in re.search(r"```bash\n(.*?)```", setup, flags=re.S).group(1).splitlines() if line]
    assert len(commands) == 2, "the README's set-up is two commands: install + main job, tests"
    ci = (ROOT / ".ci" / "run").read_text()
    ran = re.findall(r"^run '(.*)'$", ci, flags=re.M)
    assert ran == commands


@pytest.mark.parametrize("index", range(len(fenced_blocks("python"))))
def test_python_blocks_run(index, capsys):
    exec(compile(fenced_blocks("python")[index], f"README.md python block {index}", "exec"), {})


def test_the_readme_shows_what_training_xor_prints(capsys):
    """The printed example cannot rot: numbers within 1e-4 (other CPUs may round float32 differently)."""
    from scratchnet.__main__ import main

    shown = README.split("`python -m scratchnet train --gate xor --log-every 100` prints:", 1)[1]
    shown = re.search(r"```\n(.*?)```", shown, flags=re.DOTALL).group(1).splitlines()
    main(["train", "--gate", "xor", "--log-every", "100"])
    printed = capsys.readouterr().out.splitlines()[: len(shown)]
    number = r"-?\d+\.\d+"
    assert [re.sub(number, "#", line) for line in printed] == [re.sub(number, "#", line) for line in shown]
    for mine, theirs in zip(printed, shown):
        np.testing.assert_allclose(
            [float(v) for v in re.findall(number, mine)],
            [float(v) for v in re.findall(number, theirs)],
            rtol=1e-4,
            atol=1e-6,
        )
