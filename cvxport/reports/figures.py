"""Figures of the HTML report as self-contained ``data:image/png;base64`` URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import matplotlib


def png_data_uri(draw: Callable, figsize: tuple[float, float] = (10, 4.2), dpi: int = 100) -> str:
    """Call ``draw(ax)`` on a fresh figure (Agg backend) and return it as a PNG data URI."""
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    try:
        draw(ax)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
