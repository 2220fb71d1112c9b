"""The window's data as Parameters a constraint or objective term can use through the context.

A term asks the context for ``ctx.returns`` (T, n scenario returns), ``ctx.mean`` (n,),
``ctx.covariance`` (n, n), ``ctx.benchmark_weights`` (n,), ``ctx.benchmark_returns`` (T,),
``ctx.previous_weights`` (n,), ``ctx.prices`` (n,), or through ``ctx.data(name)``
``covariance_factor`` (n, n; F' F = covariance), ``returns_factor`` (n, n; G' G = the sample
covariance of the returns) and ``tracking_factor`` (n + 1, n + 1; the same for the returns
and the benchmark returns as a last column), factors for DPP norms, and where the method's
covariance is a factor model G G' + diag(d) (``ctx.factor_width`` set) ``factor_root`` (n,
width; G padded with zero columns) and ``specific_root`` (n,; sqrt(d)), and the benchmark's
images under those factors, ``benchmark_covariance_factor`` (n,; F b),
``benchmark_factor_root`` (width,; G' b) and ``benchmark_specific_root`` (n,; sqrt(d) b),
b the ``benchmark_weights`` (a Parameter times a Parameter is not DPP): each is a Parameter owned
by the problem, created on first use, and given its value from the allocation window before
every solve. All are per-period fractions in the data's own units (not the unit-scaled
covariance of the methods); weights are fractions of NAV; prices are in the quote currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError

#: data a term can use; the allocate() keyword that provides it where it is not the returns
WINDOW_FIELDS = (
    "returns",
    "mean",
    "covariance",
    "benchmark_weights",
    "benchmark_returns",
    "previous_weights",
    "prices",
    "covariance_factor",
    "returns_factor",
    "tracking_factor",
    "factor_root",
    "specific_root",
    "benchmark_covariance_factor",
    "benchmark_factor_root",
    "benchmark_specific_root",
)
GIVEN_FIELDS = ("benchmark_weights", "benchmark_returns", "previous_weights", "prices")
PREFIX = "data:"


def field_shape(
    name: str, n_assets: int, n_periods: int, factor_width: int | None = None
) -> tuple[int, ...]:
    """Shape of the data Parameter ``name`` (``factor_root``: a factor-form problem only)."""
    if name in ("factor_root", "benchmark_factor_root"):
        if factor_width is None:
            raise InvalidInputError(
                f"window data {name!r} exists only where the covariance is a factor model"
            )
        return (n_assets, factor_width) if name == "factor_root" else (factor_width,)
    return {
        "returns": (n_periods, n_assets),
        "mean": (n_assets,),
        "covariance": (n_assets, n_assets),
        "benchmark_weights": (n_assets,),
        "benchmark_returns": (n_periods,),
        "previous_weights": (n_assets,),
        "prices": (n_assets,),
        "covariance_factor": (n_assets, n_assets),
        "returns_factor": (n_assets, n_assets),
        "tracking_factor": (n_assets + 1, n_assets + 1),
        "specific_root": (n_assets,),
        "benchmark_covariance_factor": (n_assets,),
        "benchmark_specific_root": (n_assets,),
    }[name]


def per_symbol(value: Any, assets: pd.Index, name: str, default: float | None) -> np.ndarray:
    """(n,) array of a Series by symbol or an (n,) array; unknown or missing symbols named."""
    if isinstance(value, Mapping) and not isinstance(value, pd.Series):
        value = pd.Series(dict(value), dtype=float)
    if isinstance(value, pd.Series) and value.index.equals(assets):
        values = value.to_numpy(dtype=float)  # the common case, 0.1 us (the checks: 3 ms)
        if default is not None:  # as the reindex path's fillna below
            values = np.where(np.isnan(values), default, values)
    elif isinstance(value, pd.Series):
        unknown = [s for s in value.index if s not in assets]
        if unknown:
            raise InvalidInputError(f"{name} has symbols not in the universe: {unknown}")
        missing = [s for s in assets if s not in value.index]
        if missing and default is None:
            raise InvalidInputError(f"{name} lacks symbols {missing}")
        values = value.reindex(assets).fillna(default if default is not None else np.nan)
        values = values.to_numpy(dtype=float)
    else:
        try:
            values = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{name} must be numbers by symbol, got {value!r}") from exc
        if values.shape != (len(assets),):
            raise InvalidInputError(f"{name} has shape {values.shape}, expected ({len(assets)},)")
    if not np.isfinite(values).all():
        raise InvalidInputError(f"{name} contains NaN or inf")
    return values


def window_value(
    name: str, returns: pd.DataFrame, data: Mapping[str, Any], known: Mapping[str, Any]
) -> np.ndarray:
    """The value of data field ``name`` for this window.

    Args:
        returns: (T, n) window returns (validated).
        data: allocate() keywords (benchmark_weights, benchmark_returns, previous_weights,
            prices).
        known: arrays the method already estimated ('mean', 'covariance'), reused.
    """
    assets = returns.columns
    model = known.get("covariance")
    if model is not None and not isinstance(model, np.ndarray) and hasattr(model, "dense"):
        return _factor_field(name, model, returns, data, known)
    if name in ("factor_root", "specific_root", "benchmark_factor_root", "benchmark_specific_root"):
        raise InvalidInputError(f"window data {name!r} needs the method's factor model")
    if name == "benchmark_covariance_factor":
        factor = window_value("covariance_factor", returns, data, known)
        return factor @ window_value("benchmark_weights", returns, data, known)
    if name in known:
        return np.asarray(known[name], dtype=float)
    if name == "returns":
        return returns.to_numpy(dtype=float)
    if name == "mean":
        return returns.mean().to_numpy(dtype=float)
    if name == "covariance":
        return np.cov(returns.to_numpy(dtype=float), rowvar=False).reshape(len(assets), -1)
    if name == "covariance_factor":
        return covariance_factor(window_value("covariance", returns, data, known))
    if name == "returns_factor":
        return sample_factor(returns.to_numpy(dtype=float))
    if name == "tracking_factor":
        benchmark = window_value("benchmark_returns", returns, data, known)
        return sample_factor(np.column_stack([returns.to_numpy(dtype=float), benchmark]))
    given_weights = data.get("benchmark_weights") is not None
    if name == "benchmark_returns" and data.get(name) is None and given_weights:
        # R @ b computed here: Parameter @ Parameter is not DPP
        weights = per_symbol(data["benchmark_weights"], assets, "benchmark_weights", None)
        return returns.to_numpy(dtype=float) @ weights
    if data.get(name) is None:
        where = {
            "benchmark_returns": " (in a backtest: set PortfolioConfig.benchmark)",
            "benchmark_weights": " (in a backtest: PortfolioConfig.benchmark set to one of the "
            "symbols; or give the measure its benchmark_weights)",
        }.get(name, "")
        raise InvalidInputError(
            f"a constraint or term uses ctx.{name}: pass {name}=... to allocate(){where}"
        )
    if name == "benchmark_returns":
        return benchmark_returns_for(data[name], returns)
    if name == "previous_weights":
        return per_symbol(data[name], assets, name, default=0.0)
    return per_symbol(data[name], assets, name, default=None)


def _factor_field(
    name: str, model: Any, returns: pd.DataFrame, data: Mapping[str, Any], known: Mapping
) -> np.ndarray:
    """A field where the method's covariance is a factor model: its root G or sqrt(d), or, for
    a term asking for the (n, n) covariance or its factor, the dense matrix (formed only then)."""
    if name == "factor_root":
        return np.asarray(model.exposure_root, dtype=float)
    if name == "specific_root":
        return np.sqrt(model.specific_variances)
    if name in ("benchmark_factor_root", "benchmark_specific_root"):
        weights = window_value("benchmark_weights", returns, data, known)
        if name == "benchmark_factor_root":
            return model.exposure_root.T @ weights
        return np.sqrt(model.specific_variances) * weights
    if name == "covariance":
        return model.dense()
    if name == "covariance_factor":
        return covariance_factor(model.dense())
    if name == "benchmark_covariance_factor":
        weights = window_value("benchmark_weights", returns, data, known)
        return covariance_factor(model.dense()) @ weights
    rest = {key: value for key, value in known.items() if key != "covariance"}
    return window_value(name, returns, data, rest)


def fit_width(name: str, value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` for a Parameter of ``shape``: a factor root of k <= width columns padded with
    zero columns, G' b with zero entries (the model's number of factors may change between
    windows)."""
    if name not in ("factor_root", "benchmark_factor_root") or value.shape == shape:
        return value
    if name == "benchmark_factor_root" and value.ndim == 1 and len(value) <= shape[0]:
        return np.r_[value, np.zeros(shape[0] - len(value))]
    if value.ndim != 2 or value.shape[0] != shape[0] or value.shape[1] > shape[1]:
        raise InvalidInputError(
            f"a factor model of shape {value.shape} does not fit a problem built for "
            f"{shape[0]} assets and at most {shape[1]} factors"
        )
    padded = np.zeros(shape)
    padded[:, : value.shape[1]] = value
    return padded


def benchmark_returns_for(value: Any, returns: pd.DataFrame) -> np.ndarray:
    """(T,) benchmark returns on the window's timestamps; a missing timestamp is named."""
    if isinstance(value, pd.Series):
        missing = returns.index.difference(value.index)
        if len(missing):
            raise InvalidInputError(f"benchmark_returns has no value at {missing[0]}")
        out = value.reindex(returns.index).to_numpy(dtype=float)
    else:
        out = np.asarray(value, dtype=float)
        if out.shape != (len(returns),):
            raise InvalidInputError(
                f"benchmark_returns has shape {out.shape}, expected ({len(returns)},)"
            )
    if not np.all(np.isfinite(out)):
        raise InvalidInputError("benchmark_returns contains NaN or inf")
    return out


def covariance_factor(covariance: np.ndarray) -> np.ndarray:
    """(n, n) F with F' F = covariance (eigh, negative eigenvalues clipped to 0)."""
    values, vectors = np.linalg.eigh((covariance + covariance.T) / 2)
    return np.sqrt(np.clip(values, 0.0, None))[:, None] * vectors.T


def sample_factor(matrix: np.ndarray) -> np.ndarray:
    """(m, m) G with G' G = the sample covariance (ddof 1) of the (T, m) ``matrix``'s columns.

    The R factor of the centered data's QR, divided by sqrt(T - 1) (zero rows pad it when
    T < m): ``norm(G @ x)`` is exactly the standard deviation of ``matrix @ x`` over the T
    rows, a cone of dimension m instead of T (the tracking error's scenario form with T = 500
    rows made Clarabel 7x slower at n = 100).
    """
    periods, columns = matrix.shape
    centered = matrix - matrix.mean(axis=0)
    upper = np.linalg.qr(centered, mode="r") / np.sqrt(max(periods - 1, 1))
    out = np.zeros((columns, columns))
    out[: upper.shape[0]] = upper
    return out
