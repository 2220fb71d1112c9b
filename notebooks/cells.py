"""Helpers of the notebook generator: cells from indented strings, notebooks, execution.

A tutorial is a list of cells (``md`` and ``code``); ``build_notebooks.py`` lists them by file
name, writes each notebook and executes it so that its outputs are committed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CELL_TIMEOUT = 300  # seconds per cell


def md(text: str):
    """A markdown cell from an indented triple-quoted string."""
    return new_markdown_cell(dedent(text).strip("\n"))


def code(text: str):
    """A code cell (no outputs, no execution count) from an indented triple-quoted string."""
    return new_code_cell(dedent(text).strip("\n"))


def notebook(cells) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with the python3 kernel and no outputs."""
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def kernel_env() -> dict[str, str]:
    """This environment plus inline figures (PNG outputs, no display needed), the repository on
    PYTHONPATH and this Python first on PATH (so the kernel runs the same interpreter)."""
    env = dict(os.environ)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), env.get("PATH")]))
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silence the debugger's frozen-modules note
    return env


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a fresh python3 kernel in ``notebooks/``; raise on an error.

    Timing metadata is not recorded, so re-running changes only what the code prints.
    """
    import nbclient

    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute(env=kernel_env())
    return nb
