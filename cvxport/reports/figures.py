"""Figures of the HTML report as self-contained ``data:image/png;base64`` URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

from matplotlib.figure import Figure


def png_data_uri(draw: Callable, figsize: tuple[float, float] = (10, 4.2), dpi: int = 100) -> str:
    """Call ``draw(ax)`` on a fresh figure and return it as a PNG data URI.

    The figure is a bare ``Figure`` (Agg canvas), outside pyplot: the caller's backend and open
    figures are left alone (a notebook's inline figures keep showing).
    """
    fig = Figure(figsize=figsize)
    draw(fig.subplots())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
