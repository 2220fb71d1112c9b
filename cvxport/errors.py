"""The cvxport exception tree: every error the library raises on purpose is a CvxportError."""

from __future__ import annotations


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


class ExecutionError(CvxportError):
    """A broker rejected or failed an order during live execution."""
