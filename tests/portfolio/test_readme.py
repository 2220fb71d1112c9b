"""The README's commands and code blocks stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    """Return the README's fenced code blocks of one language, in order."""
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_readme_starts_with_install_and_test_commands():
    first = code_blocks("bash")[0].strip().splitlines()
    assert first[0] == "pip install -e . && python -m cvxport backtest"
    assert first[1] == 'pip install -e ".[test]" && pytest tests/portfolio/ -v'
    assert README.index("```bash") < README.index("```python")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = code_blocks("bash")[0].strip().splitlines()[1].split("&& ")[1]
    assert test_command in ci


def test_python_blocks_run_in_order():
    namespace: dict = {}
    for block in code_blocks("python"):
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["weights"].sum() == __import__("pytest").approx(1.0, abs=1e-8)
