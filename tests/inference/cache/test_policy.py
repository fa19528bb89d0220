"""The verified policy as pure functions: it explores what it does not know, serves what its labels
support, keeps the error rate of a simulated stream under delta, and the scope prior lets new entries hit."""

from __future__ import annotations

import numpy as np

from inference.cache.labels import judge_verdict, text_normalise
from inference.cache.policy import DEFAULT_PRIOR, entry_exploit_probability, exploit_probability, scope_prior_fit
from inference.cache.services import EXPLORE, HIT, MISS, cache_decide
from inference.cache.store import Found, Neighbour


def labels(rng, n, steepness=40.0, threshold=0.9):
    s = rng.uniform(0.5, 1.0, n)
    return s, rng.uniform(size=n) < 1 / (1 + np.exp(-steepness * (s - threshold)))


def test_without_labels_nothing_but_exact_repeats_is_served():
    for s in (0.6, 0.9, 0.99, 1.0):
        assert exploit_probability(DEFAULT_PRIOR, s, 0.05) == 0.0
    neighbour = Neighbour(id=1, response={"text": "x"}, prompt_tokens=1, completion_tokens=1, similarity=1.0,
                          exact=True)
    assert cache_decide(Found(neighbour, None, 0), delta=0.01, prior_labels=50, draw=0.999) == (HIT, 1.0)
    assert cache_decide(Found(None, None, 0), delta=0.01, prior_labels=50, draw=0.0) == (MISS, 0.0)
    near = Neighbour(id=1, response={"text": "x"}, prompt_tokens=1, completion_tokens=1, similarity=0.97, exact=False)
    assert cache_decide(Found(near, None, 0), delta=0.05, prior_labels=50, draw=0.0)[0] == EXPLORE


def test_an_entry_learns_its_own_threshold():
    rng = np.random.default_rng(1)
    scope = scope_prior_fit(*labels(rng, 2000))
    # this entry's answers are right down to 0.8, which the scope's typical entry is not
    s = rng.uniform(0.8, 1.0, 120)
    own = entry_exploit_probability(scope=scope, scope_labels=2000, prior_labels=50, similarities=s,
                                    correct=np.ones_like(s, dtype=bool), similarity=0.85, delta=0.05)
    new = entry_exploit_probability(scope=scope, scope_labels=2000, prior_labels=50, similarities=[], correct=[],
                                    similarity=0.85, delta=0.05)
    assert own > 0.2 and new == 0.0
    # and an entry that was wrong at 0.99 stops being served there
    wrong = entry_exploit_probability(scope=scope, scope_labels=2000, prior_labels=50, similarities=[0.99] * 30,
                                      correct=[False] * 30, similarity=0.99, delta=0.05)
    assert wrong == 0.0


def test_the_scope_prior_lets_a_new_entry_hit_and_delta_orders_it():
    rng = np.random.default_rng(2)
    scope = scope_prior_fit(*labels(rng, 5000))
    probabilities = [entry_exploit_probability(scope=scope, scope_labels=5000, prior_labels=200, similarities=[],
                                               correct=[], similarity=0.99, delta=d) for d in (0.01, 0.02, 0.05)]
    assert 0 < probabilities[0] < probabilities[1] < probabilities[2] <= 1


def test_the_error_rate_of_a_simulated_stream_stays_under_delta():
    """Requests at random similarities to entries whose true thresholds vary; labels from explorations
    only, fed back as the cache would. The share of requests served a wrong answer stays under delta."""
    rng = np.random.default_rng(3)
    delta, entries = 0.05, 40
    thresholds = rng.uniform(0.8, 0.97, entries)
    observed = [([], []) for _ in range(entries)]
    scope_s, scope_c = [], []
    scope, wrong, hits, n = DEFAULT_PRIOR, 0, 0, 4000
    for i in range(n):
        e, s = rng.integers(entries), rng.uniform(0.7, 1.0)
        correct = s >= thresholds[e]
        p = entry_exploit_probability(scope=scope, scope_labels=len(scope_s), prior_labels=50,
                                      similarities=observed[e][0], correct=observed[e][1], similarity=s, delta=delta)
        if rng.uniform() < p:
            hits += 1
            wrong += not correct
        else:
            observed[e][0].append(s), observed[e][1].append(correct)
            scope_s.append(s), scope_c.append(correct)
            if i % 20 == 0:
                scope = scope_prior_fit(scope_s, scope_c)
    assert wrong / n <= delta and hits / n > 0.08, (wrong, hits)


def test_label_helpers():
    assert text_normalise("  Paris.\n") == text_normalise("paris") == "paris"
    assert judge_verdict("Yes, they agree") and not judge_verdict("No.") and not judge_verdict("")


def test_the_error_budget_serves_what_the_scope_banked_and_nothing_worse_than_a_coin_flip():
    from inference.cache.policy import MAX_BOUND, MAX_WRONG, budget_exploit_probability

    assert budget_exploit_probability(wrong=0.01, delta=0.02, balance=0.0) == 1.0  # within delta on its own
    assert budget_exploit_probability(wrong=0.3, delta=0.02, balance=0.31) == 1.0  # the banked budget covers it
    assert budget_exploit_probability(wrong=0.3, delta=0.02, balance=0.1) == 0.02 / 0.3  # vCache's share
    assert budget_exploit_probability(wrong=0.6, delta=0.02, balance=4.0, likely_wrong=0.4) == 1.0
    assert budget_exploit_probability(wrong=0.6, delta=0.02, balance=4.0, likely_wrong=MAX_WRONG + 0.01) == 0.0
    assert budget_exploit_probability(wrong=MAX_BOUND + 0.01, delta=0.02, balance=4.0) == 0.0
    assert budget_exploit_probability(wrong=0.001, delta=0.0, balance=4.0) == 0.0  # delta 0: never a similar hit


def test_a_pooled_stream_spends_its_budget_and_stays_under_delta():
    """The simulated stream of the test above, with three exact repeats per similar request (which earn
    their delta and spend nothing): the budget they bank buys similar hits, and the share of requests served
    a wrong answer stays under delta."""
    from inference.cache.policy import BUDGET_CAP, budget_exploit_probability, entry_wrong_bound

    rng = np.random.default_rng(3)
    delta, entries = 0.02, 40
    thresholds = rng.uniform(0.8, 0.97, entries)
    observed = [([], []) for _ in range(entries)]
    scope_s, scope_c = [], []
    scope, wrong, similar_hits, balance, n = DEFAULT_PRIOR, 0, 0, 0.0, 1000
    for i in range(n):
        balance = min(balance + 3 * delta, BUDGET_CAP)  # three exact hits
        e, s = rng.integers(entries), rng.uniform(0.7, 1.0)
        correct = s >= thresholds[e]
        bound, likely = entry_wrong_bound(scope=scope, scope_labels=len(scope_s), prior_labels=50,
                                          similarities=observed[e][0], correct=observed[e][1], similarity=s)
        if rng.uniform() < budget_exploit_probability(wrong=bound, delta=delta, balance=balance, likely_wrong=likely):
            similar_hits += 1
            wrong += not correct
            balance += delta - bound
        else:
            balance = min(balance + delta, BUDGET_CAP)
            observed[e][0].append(s), observed[e][1].append(correct)
            scope_s.append(s), scope_c.append(correct)
            if i % 20 == 0:
                scope = scope_prior_fit(scope_s, scope_c)
    requests = 4 * n
    assert wrong / requests <= delta and similar_hits / n > 0.2, (wrong, similar_hits)
