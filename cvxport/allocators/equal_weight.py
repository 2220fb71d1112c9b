"""Equal weight: 1/n in every asset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cvxport.allocators.target import TargetAllocator


class EqualWeightAllocator(TargetAllocator):
    """Weights 1/n (fractions of NAV), projected onto any constraints given."""

    def target(self, returns: pd.DataFrame, data: Mapping[str, Any]) -> np.ndarray:
        """Return the (n,) vector 1/n."""
        n = returns.shape[1]
        return np.full(n, 1.0 / n)
