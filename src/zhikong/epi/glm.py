"""Batched quasi-Poisson GLM (log link) that follows R's `glm.fit` step by step.

Many small GLMs that share one design matrix X [n × p] (the Farrington reference weeks are
the same offsets from every evaluated week) are fitted at once, each with its own response,
prior weights and offset. The iterations are those of R's `glm.fit` (stats, R 4.2):

* start: η = log(y + 0.1) (the offset is not added to the start), μ = max(exp η, ε);
  dev_old = deviance at that μ;
* each iteration: working weights W = ω·μ, working response z = η − offset + (y − μ)/μ,
  β = argmin Σ W (z − Xβ)², η = Xβ + offset, μ = max(exp η, ε) with ε = 2.22e-16;
* stop when |dev − dev_old| / (|dev| + 0.1) < 1e-8, at most 25 iterations
  (not converged after 25 → `converged` is False and the last iterate is returned).

As in R, the weights, the QR-based quantities (here the unscaled covariance (XᵀWX)⁻¹ and the
hat values) belong to the *last* iteration, i.e. they use μ from before the final update,
while fitted values and residuals use the final μ. R solves each step by QR; here the normal
equations are solved on a well-conditioned design (the caller centres and scales the time
column), which gives the same fits to about 1e-12 relative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

EPS = float(np.finfo(np.float64).eps)
EPSILON = 1e-8
MAXIT = 25


@dataclass(frozen=True)
class GlmBatch:
    """Fits of a batch of GLMs (B problems, n observations, p coefficients)."""

    beta: NDArray[np.float64]  # [B, p]
    mu: NDArray[np.float64]  # [B, n] final fitted values
    working_weights: NDArray[np.float64]  # [B, n] W of the last iteration
    cov_unscaled: NDArray[np.float64]  # [B, p, p] (Xᵀ W X)⁻¹ of the last iteration
    converged: NDArray[np.bool_]  # [B]
    iterations: NDArray[np.int64]  # [B]
    df_residual: int

    def hat(self, design: NDArray[np.float64]) -> NDArray[np.float64]:
        """Hat values W_i x_iᵀ C x_i, set to 1 above 1 − 10ε as `lm.influence` does."""
        quad = np.einsum("ni,bij,nj->bn", design, self.cov_unscaled, design)
        h: NDArray[np.float64] = np.asarray(self.working_weights * quad, dtype=np.float64)
        h[h > 1 - 10 * EPS] = 1.0
        return h

    def working_residuals(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        """(y − μ)/μ with the final μ (R's `residuals` of a log-link glm)."""
        return (y - self.mu) / self.mu

    def pearson_dispersion(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        """`summary.glm(m)$dispersion`: Σ W r² / (n − rank) with the stored working weights."""
        r = self.working_residuals(y)
        out: NDArray[np.float64] = (self.working_weights * r * r).sum(axis=1) / self.df_residual
        return out

    def dispersion_with(
        self, weights: NDArray[np.float64], y: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Σ weights·r² / (n − rank): `summary.glm` after `model$weights` was replaced."""
        r = self.working_residuals(y)
        out: NDArray[np.float64] = (weights * r * r).sum(axis=1) / self.df_residual
        return out


def deviance(
    y: NDArray[np.float64], mu: NDArray[np.float64], prior: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Poisson deviance Σ 2ω (y log(y/μ) − (y − μ)), with 0·log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    out: NDArray[np.float64] = (2.0 * prior * (ylog - (y - mu))).sum(axis=1)
    return out


def _solve(a: NDArray[np.float64], rhs: NDArray[np.float64]) -> NDArray[np.float64]:
    p = a.shape[1]
    if p == 1:
        out: NDArray[np.float64] = rhs / a[:, 0, :]
        return out
    if p == 2:
        det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
        b0 = (a[:, 1, 1] * rhs[:, 0] - a[:, 0, 1] * rhs[:, 1]) / det
        b1 = (a[:, 0, 0] * rhs[:, 1] - a[:, 1, 0] * rhs[:, 0]) / det
        return np.stack([b0, b1], axis=1)
    solved = np.linalg.solve(a, rhs[:, :, None])[:, :, 0]
    return np.asarray(solved, dtype=np.float64)


def _inverse(a: NDArray[np.float64]) -> NDArray[np.float64]:
    p = a.shape[1]
    if p == 1:
        out: NDArray[np.float64] = 1.0 / a
        return out
    if p == 2:
        det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
        inv = np.empty_like(a)
        inv[:, 0, 0] = a[:, 1, 1] / det
        inv[:, 1, 1] = a[:, 0, 0] / det
        inv[:, 0, 1] = -a[:, 0, 1] / det
        inv[:, 1, 0] = -a[:, 1, 0] / det
        return inv
    return np.asarray(np.linalg.inv(a), dtype=np.float64)


def fit_quasipoisson(
    design: NDArray[np.float64],
    y: NDArray[np.float64],
    prior: NDArray[np.float64] | None = None,
    offset: NDArray[np.float64] | None = None,
    *,
    epsilon: float = EPSILON,
    maxit: int = MAXIT,
) -> GlmBatch:
    """Fit B quasi-Poisson log-link GLMs sharing `design` [n × p]; y, prior, offset are [B × n]."""
    y = np.asarray(y, dtype=np.float64)
    batch, n = y.shape
    p = design.shape[1]
    prior = np.ones_like(y) if prior is None else np.asarray(prior, dtype=np.float64)
    off = np.zeros_like(y) if offset is None else np.asarray(offset, dtype=np.float64)
    outer = (design[:, :, None] * design[:, None, :]).reshape(n, p * p)

    beta = np.zeros((batch, p))
    mu_final = np.empty_like(y)
    w_final = np.empty_like(y)
    a_final = np.empty((batch, p, p))
    converged = np.zeros(batch, dtype=bool)
    iterations = np.zeros(batch, dtype=np.int64)

    active = np.arange(batch)
    ya, wa, oa = y, prior, off
    eta = np.log(ya + 0.1)
    mu = np.maximum(np.exp(eta), EPS)
    dev_old = deviance(ya, mu, wa)
    for it in range(1, maxit + 1):
        w = wa * mu
        z = eta - oa + (ya - mu) / mu
        a = (w @ outer).reshape(-1, p, p)
        rhs = (w * z) @ design
        coef = _solve(a, rhs)
        eta = coef @ design.T + oa
        with np.errstate(over="ignore"):
            mu_new = np.maximum(np.exp(eta), EPS)
        dev = deviance(ya, mu_new, wa)
        done = np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < epsilon
        store = np.ones_like(done) if it == maxit else done
        if store.any():
            target = active[store]
            beta[target] = coef[store]
            mu_final[target] = mu_new[store]
            w_final[target] = w[store]
            a_final[target] = a[store]
            converged[target] = done[store]
            iterations[target] = it
        keep = ~store
        if not keep.any():
            break
        active = active[keep]
        ya, wa, oa = ya[keep], wa[keep], oa[keep]
        eta, mu, dev_old = eta[keep], mu_new[keep], dev[keep]
    return GlmBatch(
        beta=beta,
        mu=mu_final,
        working_weights=w_final,
        cov_unscaled=_inverse(a_final),
        converged=converged,
        iterations=iterations,
        df_residual=n - p,
    )
