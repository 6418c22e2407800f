"""Confidence intervals on known numbers: Wilson score interval, Student t quantiles and intervals."""

import math

import pytest
from trainyard_runstore.stats import t_interval, t_quantile, wilson

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("df", "expected"), [  # two-sided 95% critical values (published tables)
    (1, 12.7062047361747), (2, 4.30265272974946), (3, 3.18244630528371), (4, 2.77644510519779),
    (9, 2.26215716279820), (29, 2.04522964213270), (1000, 1.96233908082641),
])
def test_t_quantile_matches_the_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-9)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=1e-9)


def test_wilson_interval_on_known_counts():
    assert wilson(7, 10) == pytest.approx((0.396778147, 0.892208733), abs=1e-9)
    assert wilson(50, 100) == pytest.approx((0.403831530, 0.596168470), abs=1e-9)
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.277532800, abs=1e-9)
    low, high = wilson(10, 10)
    assert high == 1.0 and low == pytest.approx(0.722467200, abs=1e-9)
    assert wilson(0, 0) == (0.0, 1.0)


def test_t_interval_of_three_values():
    low, high = t_interval([0.5, 0.6, 0.7])  # mean 0.6, sd 0.1
    half = 4.30265272974946 * 0.1 / math.sqrt(3)
    assert (low, high) == pytest.approx((0.6 - half, 0.6 + half), abs=1e-9)
    assert t_interval([0.4]) == (0.4, 0.4)
