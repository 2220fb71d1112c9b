"""The README's commands and code blocks stay true."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

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


PYTHON_BLOCKS = code_blocks("python")


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_each_python_block_runs_on_its_own(index, tmp_path, monkeypatch):
    """Every block runs alone, in a fresh namespace and an empty working folder."""
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("readme_block")  # a real module, as a user's script would have
    monkeypatch.setitem(sys.modules, module.__name__, module)
    code = compile(PYTHON_BLOCKS[index], f"README.md block {index + 1}", "exec", dont_inherit=True)
    exec(code, module.__dict__)
    namespace = module.__dict__
    if "weights" in namespace:
        assert namespace["weights"].sum() == pytest.approx(1.0, abs=1e-8)


def test_toml_blocks_are_valid_configs(tmp_path):
    from cvxport.cli.config_file import read_config_file

    for block in code_blocks("toml"):
        path = tmp_path / "portfolio.toml"
        path.write_text(block)
        assert read_config_file(path)
