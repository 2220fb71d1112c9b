"""The cvxport exception tree: every error the library raises on purpose is a CvxportError."""

from __future__ import annotations


class CvxportError(Exception):
    """Base class of every error cvxport raises on purpose."""


class InvalidInputError(CvxportError, ValueError):
    """Input data, a configuration field or an argument is invalid; the message names it."""


class InfeasibleError(CvxportError):
    """No portfolio satisfies the constraints; the message names the constraints in conflict."""

    def __init__(self, message: str, conflicting: tuple = ()) -> None:
        super().__init__(message)
        self.conflicting = tuple(conflicting)


class SolverError(CvxportError):
    """A solver is not installed, failed, or stopped without an optimal answer."""

    def __init__(self, message: str, solver: str | None = None, status: str | None = None):
        super().__init__(message)
        self.solver = solver
        self.status = status


class UnsupportedProblemError(SolverError):
    """A named backend (e.g. ``solver="ACTIVE_SET"``) does not accept the declared problem;
    the message says why."""


class ExecutionError(CvxportError):
    """A broker rejected or failed an order during live execution."""


class EquityDepletedError(CvxportError):
    """A backtest's equity reached zero or less; ``result`` holds the run up to that bar."""

    def __init__(self, message: str, result=None) -> None:
        super().__init__(message)
        self.result = result


class MissingAssetReturnsError(InvalidInputError):
    """Risk figures were asked of weights without the asset returns they need."""


class LookAheadError(InvalidInputError):
    """Data dated after the decision that would use it (e.g. a market-cap snapshot)."""


class RuinWarning(UserWarning):
    """A backtest ended early because equity reached zero (see ``PortfolioResult.outcome``)."""


class LookAheadWarning(UserWarning):
    """Data dated after a decision was used by it (the backtest sees the future)."""
