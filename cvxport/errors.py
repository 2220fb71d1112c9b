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
