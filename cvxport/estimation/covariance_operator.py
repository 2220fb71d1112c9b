"""The covariance operators of the exact solvers (``cvxport.solvers.covariance_operator``),
re-exported where the factor model lives: a ``FactorModel`` is solved by Woodbury through
``FactorCovarianceOperator``, an (n, n) array by Cholesky through ``DenseCovarianceOperator``."""

from cvxport.solvers.covariance_operator import (
    CONDITION_FLOOR,
    CovarianceOperator,
    DenseCovarianceOperator,
    FactorCovarianceOperator,
    OperatorMatrix,
    SingularBlockError,
    as_operator,
    woodbury_solve,
)

__all__ = [
    "CONDITION_FLOOR",
    "CovarianceOperator",
    "DenseCovarianceOperator",
    "FactorCovarianceOperator",
    "OperatorMatrix",
    "SingularBlockError",
    "as_operator",
    "woodbury_solve",
]
