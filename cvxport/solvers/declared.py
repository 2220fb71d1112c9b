"""What a method declares about its objective, so that exact backends can recognise it.

The cvxpy objective stays the definition; a declaration only names which Parameters play
which part, and a backend that accepts it must solve that same problem.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuadraticObjective:
    """The objective is ``quad_form(x, P[covariance]) + P[linear] @ x`` over the variable x
    (``linear`` None: no linear term).

    ``normalization``: the name of a Parameter p when the method's own rows are exactly
    ``p @ x == 1`` and, under Charnes-Cooper, ``sum(x) == kappa`` (maximum Sharpe); an exact
    backend then builds that row from p's value instead of reading it through cvxpy at every
    solve (its Parameter changes with every window)."""

    covariance: str = "covariance"
    linear: str | None = None
    normalization: str | None = None


@dataclass(frozen=True)
class LogBarrierObjective:
    """The objective is ``0.5 quad_form(y, P[covariance]) - P[budget] @ log(y)``."""

    covariance: str = "covariance"
    budget: str = "risk_budget"
