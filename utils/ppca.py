"""Probabilistic PCA as a latent-variable model where everything is exact (chapter 3).

p(z) = N(0, I_d), p(x|z) = N(W z + b, sigma^2 I_D): the marginal p(x), the posterior
p(z|x) and the ELBO of any Gaussian q(z|x) have closed forms, so chapter 3 checks the
ELBO identity log p(x) = ELBO + KL(q || p(z|x)) on it to machine precision. The model
has the two methods :func:`utils.vae.elbo` and :func:`utils.vae.iwae_log_likelihood` need
(``encode`` and ``log_px_given_z``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from utils.vae import _gaussian_log_likelihood
from utils.validation import check_data_matrix, check_same_device, check_tensor

__all__ = ["LinearGaussianModel"]


class LinearGaussianModel(nn.Module):
    """Probabilistic PCA with a linear Gaussian encoder: a latent model where everything is exact.

    p(z) = N(0, I_d), p(x|z) = N(W z + b, sigma^2 I_D), hence p(x) = N(b, W W^T + sigma^2 I)
    and p(z|x) = N(M^{-1} W^T (x - b), sigma^2 M^{-1}) with M = W^T W + sigma^2 I.
    The encoder q(z|x) = N(A x + c, diag(exp(logvar))) is any linear map, learnable.

    Args:
        W: ``(D, d)`` loading matrix.
        b: ``(D,)`` data mean.
        log_sigma: log of the noise standard deviation (a float).
        A, c, logvar: the encoder, ``(d, D)``, ``(d,)``, ``(d,)``; by default the mean of the
            exact posterior and the diagonal of its covariance. (That diagonal is *not* the best
            diagonal q: the KL(q || posterior)-optimal variances are 1 / (Sigma^-1)_ii, smaller;
            see :meth:`mean_field_logvar`.)

    Raises:
        TypeError: for non-tensor or non-floating ``W``, ``b``, ``A``, ``c``, ``logvar``, or a
            non-real ``log_sigma``.
        ValueError: for inconsistent shapes or devices, NaN/inf.

    References:
        Tipping and Bishop (1999), *Probabilistic principal component analysis*; Bishop (2006),
        *Pattern Recognition and Machine Learning*, eq. 12.35-12.36 (marginal) and 12.41-12.42 (posterior).
    """

    def __init__(
        self,
        W: torch.Tensor,
        b: torch.Tensor,
        log_sigma: float,
        A: torch.Tensor | None = None,
        c: torch.Tensor | None = None,
        logvar: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        check_tensor(W, "W", ndim=2)
        check_tensor(b, "b", ndim=1)
        check_same_device(W=W, b=b)
        if b.shape != (W.shape[0],):
            raise ValueError(f"W must be (D, d) and b (D,), got {tuple(W.shape)} and {tuple(b.shape)}")
        if isinstance(log_sigma, bool) or not isinstance(log_sigma, (int, float)):
            raise TypeError(f"log_sigma must be a real number, got {type(log_sigma).__name__} {log_sigma!r}")
        if not math.isfinite(log_sigma):
            raise ValueError(f"log_sigma must be finite, got {log_sigma}")
        for name, t in (("A", A), ("c", c), ("logvar", logvar)):
            if t is not None:
                check_tensor(t, name)
                check_same_device(W=W, **{name: t})
        self.W = nn.Parameter(W.clone())
        self.b = nn.Parameter(b.clone())
        self.log_sigma = nn.Parameter(torch.tensor(float(log_sigma), dtype=W.dtype, device=W.device))
        D, d = W.shape
        with torch.no_grad():
            M = self._M()
            A_default = torch.linalg.solve(M, W.T)
            post_cov = self.log_sigma.exp() ** 2 * torch.linalg.inv(M)
        A = A_default if A is None else A
        c = -(A @ b) if c is None else c
        logvar = post_cov.diagonal().log() if logvar is None else logvar
        if A.shape != (d, D) or c.shape != (d,) or logvar.shape != (d,):
            raise ValueError(
                f"A, c, logvar must be ({d}, {D}), ({d},), ({d},), got {tuple(A.shape)}, {tuple(c.shape)}, {tuple(logvar.shape)}"
            )
        self.A = nn.Parameter(A.clone().to(W))
        self.c = nn.Parameter(c.clone().to(W))
        self.q_logvar = nn.Parameter(logvar.clone().to(W))

    def _M(self) -> torch.Tensor:
        d = self.W.shape[1]
        return self.W.T @ self.W + self.log_sigma.exp() ** 2 * torch.eye(d, dtype=self.W.dtype, device=self.W.device)

    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        check_data_matrix(x, "x")
        check_same_device(x=x, W=self.W)
        if x.shape[1] != self.W.shape[0]:
            raise ValueError(f"x must have {self.W.shape[0]} columns, got shape {tuple(x.shape)}")
        return x

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): ``(N, D)`` -> (mu, logvar), each ``(N, d)``.

        Raises:
            TypeError, ValueError: for a bad ``x`` (not a finite ``(N, D)`` float tensor on the model's device).
        """
        self._check_x(x)
        mu = x @ self.A.T + self.c
        return mu, self.q_logvar.expand_as(mu)

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log N(x; W z + b, sigma^2 I): x ``(N, D)``, z ``(N, d)`` or ``(S, N, d)`` -> ``(N,)`` or ``(S, N)``.

        Raises:
            TypeError, ValueError: for a bad ``x`` or ``z`` (wrong shape, device, NaN/inf).
        """
        self._check_x(x)
        check_tensor(z, "z", ndim=(2, 3))
        check_same_device(x=x, z=z)
        if z.shape[-1] != self.W.shape[1]:
            raise ValueError(f"z must have {self.W.shape[1]} columns, got shape {tuple(z.shape)}")
        return _gaussian_log_likelihood(x, z @ self.W.T + self.b, self.log_sigma)

    def marginal(self) -> torch.distributions.MultivariateNormal:
        """p(x) = N(b, W W^T + sigma^2 I)."""
        D = self.W.shape[0]
        cov = self.W @ self.W.T + self.log_sigma.exp() ** 2 * torch.eye(D, dtype=self.W.dtype, device=self.W.device)
        return torch.distributions.MultivariateNormal(self.b, covariance_matrix=cov)

    def log_marginal(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p(x) for ``(N, D)`` data: ``(N,)`` in nats."""
        self._check_x(x)
        return self.marginal().log_prob(x)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact p(z|x): mean ``(N, d)`` and covariance ``(d, d)`` (the same for every x).

        References:
            Bishop (2006), eq. 12.42.
        """
        self._check_x(x)
        M = self._M()
        mean = torch.linalg.solve(M, self.W.T @ (x - self.b).T).T
        return mean, self.log_sigma.exp() ** 2 * torch.linalg.inv(M)

    def exact_elbo(self, x: torch.Tensor, q_mean: torch.Tensor, q_cov: torch.Tensor) -> torch.Tensor:
        """The ELBO in closed form for any Gaussian q(z|x) = N(q_mean, q_cov) (full covariance allowed).

        E_q[log p(x|z)] = log N(x; W m + b, sigma^2 I) - tr(W^T W S) / (2 sigma^2), and
        KL(q || N(0, I)) = 1/2 (tr S + m^T m - d - log det S).

        Args:
            x: ``(N, D)``.
            q_mean: ``(N, d)``.
            q_cov: ``(d, d)`` or ``(N, d, d)``, symmetric positive definite.

        Returns:
            ``(N,)``: the ELBO in nats, with no Monte-Carlo error.

        Raises:
            TypeError, ValueError: for bad tensors, shapes or devices.
        """
        self._check_x(x)
        check_tensor(q_mean, "q_mean", ndim=2)
        check_tensor(q_cov, "q_cov", ndim=(2, 3))
        check_same_device(x=x, q_mean=q_mean, q_cov=q_cov)
        d = self.W.shape[1]
        var = self.log_sigma.exp() ** 2
        WtW = self.W.T @ self.W
        expected_loglik = self.log_px_given_z(x, q_mean) - (WtW * q_cov).sum((-2, -1)) / (2 * var)
        trace = q_cov.diagonal(dim1=-2, dim2=-1).sum(-1)
        kl = 0.5 * (trace + q_mean.pow(2).sum(-1) - d - torch.linalg.slogdet(q_cov)[1])
        return expected_loglik - kl

    def mean_field_logvar(self) -> torch.Tensor:
        """The log-variances of the best diagonal q: argmin over diagonal S of KL(N(m, S) || p(z|x)).

        For a Gaussian posterior N(m, Sigma), KL(N(m, diag(s)) || N(m, Sigma)) is minimized at
        s_i = 1 / (Sigma^{-1})_{ii}, which is at most Sigma_ii (equal only without correlation):
        the mean-field approximation under-estimates the posterior variances. Here
        Sigma^{-1} = M / sigma^2, so s_i = sigma^2 / M_ii.

        Returns:
            ``(d,)`` log-variances (the same for every x).

        References:
            Bishop (2006), *Pattern Recognition and Machine Learning*, section 10.1.2 (eq. 10.13-10.15):
            "the variance of q is controlled by the direction of smallest variance of p".
        """
        return (self.log_sigma.exp() ** 2 / self._M().diagonal()).log()
