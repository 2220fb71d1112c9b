"""Mean and covariance estimation of periodic simple returns, factor models, Black-Litterman,
and PSD repair."""

from cvxport.estimation.black_litterman import (
    BlackLitterman,
    BlackLittermanCovariance,
    View,
    absolute_view,
    relative_view,
)
from cvxport.estimation.covariance import (
    COVARIANCE_ESTIMATORS,
    CovarianceEstimator,
    EWMACovariance,
    LedoitWolfCovariance,
    OASCovariance,
    SampleCovariance,
    get_covariance_estimator,
)
from cvxport.estimation.expected_returns import (
    EXPECTED_RETURNS_ESTIMATORS,
    EWMAMean,
    ExpectedReturnsEstimator,
    SampleMean,
    get_expected_returns_estimator,
)
from cvxport.estimation.factor import FactorModel
from cvxport.estimation.factor_models import (
    FACTOR_MODEL_ESTIMATORS,
    ExposureFactorModel,
    FactorModelEstimator,
    PCAFactorModel,
    get_factor_model_estimator,
)
from cvxport.estimation.psd import clip_to_psd, unit_scale_factor, unit_scaled
from cvxport.estimation.validation import validate_returns

__all__ = [
    "COVARIANCE_ESTIMATORS",
    "EXPECTED_RETURNS_ESTIMATORS",
    "FACTOR_MODEL_ESTIMATORS",
    "BlackLitterman",
    "BlackLittermanCovariance",
    "CovarianceEstimator",
    "EWMACovariance",
    "EWMAMean",
    "ExpectedReturnsEstimator",
    "ExposureFactorModel",
    "FactorModel",
    "FactorModelEstimator",
    "LedoitWolfCovariance",
    "OASCovariance",
    "PCAFactorModel",
    "SampleCovariance",
    "SampleMean",
    "View",
    "absolute_view",
    "clip_to_psd",
    "get_covariance_estimator",
    "get_expected_returns_estimator",
    "get_factor_model_estimator",
    "relative_view",
    "unit_scale_factor",
    "unit_scaled",
    "validate_returns",
]
