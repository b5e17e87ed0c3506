"""The README is executable: its set-up commands are what CI runs, and its code blocks run."""

import re
from pathlib import Path

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
