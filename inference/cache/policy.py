"""The verified decision: serve the nearest entry's answer (exploit) or ask the model (explore).

After vCache (Schroeder et al., 2025), reimplemented from the paper's method: each entry has a logistic
model of "its cached answer is correct for a prompt at cosine similarity s",

    P(correct | s) = sigmoid(a + b (s - CENTRE)),

fitted on the labels that explored requests gave it. For a request at similarity s the policy takes, for
each confidence level 1 - eps, the lower bound alpha(eps) of P(correct | s) (Laplace approximation of the
posterior of (a, b), one-sided normal quantile on the logit), so that P(wrong | exploit) is at most
eps + (1 - eps)(1 - alpha(eps)). It then explores with the smallest probability tau that keeps
(1 - tau) * P(wrong | exploit) <= delta, over all eps. An explored request is always answered fresh, so
the probability that a request is served a wrong answer stays at most delta.

What is new here: vCache starts every entry from nothing, so an entry seen a few times never hits. Here
an entry's model starts from its scope's prior, a logistic fit on all labels of the scope (every entry's),
weighed as at most ``prior_labels`` observations: a new entry is judged like the scope's typical entry
until its own labels say otherwise. For an entry with no labels the bound is then the scope's curve with
its uncertainty (inflated), which is what the error among new entries averages to.

Also new: the scope's error budget (``budget_exploit_probability``). vCache spends each request's delta on
that request alone, and most of a cache's requests are exact repeats that risk nothing, so its bound holds
by never being spent. Here every request adds its delta to its scope's budget, and a similar hit spends its
bound on being wrong: the expected number of wrong answers stays under the sum of the deltas.

Guards of our own: no answer that is more likely wrong than right (point estimate above ``MAX_WRONG``), no
budget spent on a bound above ``MAX_BOUND`` (vCache would still serve such answers with probability
delta / P(wrong)), and neighbours below the store's similarity floor are not candidates at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CENTRE = 0.85  # similarities are centred here so that (a, b) are nearly uncorrelated
# A scope with no labels: correct only near s = 0.95 and above, and very unsure of it (always explores).
DEFAULT_MEAN = np.array([20 * (CENTRE - 0.95), 20.0])
DEFAULT_COV = np.diag([25.0, 400.0])
EPSILONS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)
Z = {eps: NormalDist().inv_cdf(1 - eps) for eps in EPSILONS}
NEWTON_STEPS = 30
# Never serve an answer that is more likely wrong than right, even when delta would allow it now and then:
# spending the error budget on such answers buys hits nobody wants.
MAX_WRONG = 0.5
# Nor spend the budget on an answer whose bound on being wrong is above this: a curve that unsure (a scope with
# a handful of labels) is still learning.
MAX_BOUND = 0.75
# The error budget a scope may bank (in expected wrong answers): what its requests earned (delta each) and
# its similar hits did not spend yet, at most this much, so that a long quiet spell cannot fund a burst.
BUDGET_CAP = 5.0


@dataclass(frozen=True)
class Gaussian:
    """A normal belief about (a, b)."""

    mean: np.ndarray
    cov: np.ndarray

    def as_list(self) -> list[float]:
        return [float(self.mean[0]), float(self.mean[1]), float(self.cov[0, 0]), float(self.cov[0, 1]),
                float(self.cov[1, 1])]

    @classmethod
    def from_list(cls, values: list[float] | None) -> "Gaussian":
        if not values:
            return DEFAULT_PRIOR
        a, b, vaa, vab, vbb = values
        return cls(np.array([a, b]), np.array([[vaa, vab], [vab, vbb]]))


DEFAULT_PRIOR = Gaussian(DEFAULT_MEAN, DEFAULT_COV)


def _features(similarities: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(similarities), similarities - CENTRE])


def _log_posterior(theta: np.ndarray, x: np.ndarray, y: np.ndarray, prior: Gaussian, precision: np.ndarray) -> float:
    z = x @ theta
    likelihood = float(np.sum(y * z - np.logaddexp(0, z)))
    d = theta - prior.mean
    return likelihood - 0.5 * float(d @ precision @ d)


def logistic_posterior(similarities, correct, prior: Gaussian) -> Gaussian:
    """MAP of (a, b) under the prior (Newton's method with step halving, so every step improves the
    posterior) and the Laplace covariance at the MAP."""
    s = np.asarray(similarities, dtype=float)
    y = np.asarray(correct, dtype=float)
    if s.size == 0:
        return prior
    x = _features(s)
    precision = np.linalg.inv(prior.cov)
    theta = prior.mean.copy()
    current = _log_posterior(theta, x, y, prior, precision)
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-(x @ theta)))
        gradient = x.T @ (y - p) - precision @ (theta - prior.mean)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + precision
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):
            candidate = _log_posterior(theta + step, x, y, prior, precision)
            if candidate >= current:
                break
            step = step / 2
        else:
            break
        theta, current = theta + step, candidate
        if np.abs(step).max() < 1e-8:
            break
    p = 1 / (1 + np.exp(-(x @ theta)))
    hessian = (x * (p * (1 - p))[:, None]).T @ x + precision
    return Gaussian(theta, np.linalg.inv(hessian))


def scope_prior_fit(similarities, correct) -> Gaussian:
    """The scope's curve from all its labels (a weak default prior keeps it defined when labels separate)."""
    return logistic_posterior(similarities, correct, Gaussian(DEFAULT_MEAN, DEFAULT_COV * 4))


def entry_prior(scope: Gaussian, *, scope_labels: int, prior_labels: int) -> Gaussian:
    """The scope's curve as an entry's prior, its covariance inflated so that it weighs as at most
    ``prior_labels`` observations (the scope's own uncertainty is kept when it is larger)."""
    if scope is DEFAULT_PRIOR or scope_labels == 0:
        return DEFAULT_PRIOR
    inflation = max(1.0, scope_labels / max(prior_labels, 1))
    return Gaussian(scope.mean, scope.cov * inflation)


def exploit_probability(belief: Gaussian, similarity: float, delta: float) -> float:
    """1 - tau: the largest probability of serving the cached answer that keeps P(wrong) <= delta."""
    if delta <= 0:
        return 0.0
    x = np.array([1.0, similarity - CENTRE])
    mean = float(x @ belief.mean)
    sd = float(np.sqrt(max(x @ belief.cov @ x, 0.0)))
    best = 0.0
    for eps in EPSILONS:
        alpha = 1 / (1 + np.exp(-(mean - Z[eps] * sd)))
        wrong = 1 - (1 - eps) * alpha
        if wrong <= MAX_WRONG:
            best = max(best, 1.0 if wrong <= delta else delta / wrong)
    return best


def wrong_bound(belief: Gaussian, similarity: float) -> tuple[float, float]:
    """The tightest upper bound, over the confidence levels, on P(the cached answer is wrong | similarity),
    and the point estimate of that probability."""
    x = np.array([1.0, similarity - CENTRE])
    mean = float(x @ belief.mean)
    sd = float(np.sqrt(max(x @ belief.cov @ x, 0.0)))
    bound = min(1 - (1 - eps) / (1 + np.exp(-(mean - Z[eps] * sd))) for eps in EPSILONS)
    return bound, 1 - 1 / (1 + np.exp(-mean))


def budget_exploit_probability(*, wrong: float, delta: float, balance: float, likely_wrong: float = 0.0) -> float:
    """1 - tau with the scope's error budget: serve when the bound ``wrong`` is within delta, or when the
    scope's banked budget (what earlier requests earned and did not spend) covers it; else vCache's
    delta / wrong. Every request earns its delta and every similar hit spends its bound, so the expected
    number of wrong answers stays under the sum of the requests' deltas (plus what was banked, at most
    BUDGET_CAP). Never an answer more likely wrong than right (``likely_wrong``, the point estimate, above
    MAX_WRONG), nor one whose bound is above MAX_BOUND (a curve too unsure to spend on)."""
    if delta <= 0 or likely_wrong > MAX_WRONG or wrong > MAX_BOUND:
        return 0.0
    if wrong <= delta or balance >= wrong:
        return 1.0
    return delta / wrong


def entry_wrong_bound(*, scope: Gaussian, scope_labels: int, prior_labels: int, similarities, correct,
                      similarity: float) -> tuple[float, float]:
    prior = entry_prior(scope, scope_labels=scope_labels, prior_labels=prior_labels)
    return wrong_bound(logistic_posterior(similarities, correct, prior), similarity)


def entry_exploit_probability(*, scope: Gaussian, scope_labels: int, prior_labels: int, similarities,
                              correct, similarity: float, delta: float) -> float:
    prior = entry_prior(scope, scope_labels=scope_labels, prior_labels=prior_labels)
    return exploit_probability(logistic_posterior(similarities, correct, prior), similarity, delta)
