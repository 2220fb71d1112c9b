"""The cvxport exception tree: every error the library raises on purpose is a CvxportError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CvxportError(Exception):
    """Base class of every error cvxport raises on purpose."""


class InvalidInputError(CvxportError, ValueError):
    """Input data, a configuration field or an argument is invalid; the message names it."""


class SingularCovarianceError(InvalidInputError):
    """A covariance matrix is singular where the method needs it not to be (e.g. fewer
    observations than assets for risk budgeting); the message names the counts and a remedy."""


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


class InconsistentFillError(ExecutionError):
    """A broker's fill contradicts its order (symbol, side, quantity, price or commission);
    it is refused before the state changes and journaled as an anomaly."""


class OrderTimeoutError(ExecutionError):
    """An order got no final answer within its timeout; it was cancelled where possible."""


class RetryableError(ExecutionError):
    """A request the broker says may be retried (network error, rate limit, busy exchange).

    Attributes:
        retry_after: seconds the broker asked to wait before retrying, or None.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RebalanceInProgressError(CvxportError):
    """A second rebalance was started on a manager while one is running."""


class ReconciliationError(CvxportError):
    """The broker's balances and the journaled state disagree beyond dust; the message names
    every symbol (and cash) that differs and by how much."""


class JournalError(CvxportError):
    """The journal file cannot be opened, is not a cvxport journal, or cannot be written."""


@contextmanager
def named_user_errors(owner: object, doing: str) -> Iterator[None]:
    """Re-raise any error but the library's own from the block (a user's code) as an
    InvalidInputError naming ``owner`` and what it was ``doing``, the error kept as cause."""
    try:
        yield
    except CvxportError:
        raise
    except Exception as exc:
        raise InvalidInputError(
            f"{owner!r} could not {doing}: {type(exc).__name__}: {exc}"
        ) from exc
