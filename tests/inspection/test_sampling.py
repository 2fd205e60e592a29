"""The sampling math and the draw (inspection.sampling), without a database."""

from __future__ import annotations

import hashlib
import random

import pytest

from inspection import sampling
from inspection.sampling import ATTRIBUTE, FIXED, GBT2828, PERCENT, SamplePlan


def test_attribute_sampling_at_95_percent_and_5_percent_needs_59_cases():
    assert sampling.attribute_sample_size(0.95, 0.05) == 59
    result = sampling.sample_size(SamplePlan(ATTRIBUTE, confidence=0.95, error_rate=0.05), 10_000)
    assert result.size == 59
    assert "59" in result.explanation and "置信度 95%" in result.explanation


@pytest.mark.parametrize(
    ("confidence", "rate", "n"), [(0.90, 0.10, 22), (0.99, 0.05, 90), (0.95, 0.10, 29)]
)
def test_attribute_sampling_is_the_smallest_n_with_no_error_unlikely(confidence, rate, n):
    assert sampling.attribute_sample_size(confidence, rate) == n
    assert (1 - rate) ** n <= 1 - confidence < (1 - rate) ** (n - 1)


@pytest.mark.parametrize(("confidence", "rate"), [(0, 0.05), (1, 0.05), (0.95, 0), (0.95, 1.2)])
def test_attribute_sampling_rejects_rates_outside_zero_and_one(confidence, rate):
    with pytest.raises(sampling.PlanError):
        sampling.attribute_sample_size(confidence, rate)


@pytest.mark.parametrize(
    ("lot", "letter", "n"),
    [
        (2, "A", 2),
        (8, "A", 2),
        (9, "B", 3),
        (15, "B", 3),
        (16, "C", 5),
        (25, "C", 5),
        (26, "D", 8),
        (50, "D", 8),
        (51, "E", 13),
        (90, "E", 13),
        (91, "F", 20),
        (150, "F", 20),
        (151, "G", 32),
        (280, "G", 32),
        (281, "H", 50),
        (500, "H", 50),
        (501, "J", 80),
        (1200, "J", 80),
        (1201, "K", 125),
        (3200, "K", 125),
        (3201, "L", 200),
        (10000, "L", 200),
        (10001, "M", 315),
        (35000, "M", 315),
        (35001, "N", 500),
        (150000, "N", 500),
        (150001, "P", 800),
        (500000, "P", 800),
        (500001, "Q", 1250),
        (3_000_000, "Q", 1250),
    ],
)
def test_gbt2828_level_ii_code_letters_and_sample_sizes_at_the_table_boundaries(lot, letter, n):
    assert sampling.gbt2828_code_letter(lot)[0] == letter
    result = sampling.sample_size(SamplePlan(GBT2828), lot)
    assert result.size == n
    assert f"样本量字码 {letter}" in result.explanation and "GB/T 2828.1" in result.explanation


def test_gbt2828_of_a_single_case_checks_it():
    assert sampling.sample_size(SamplePlan(GBT2828), 1).size == 1


@pytest.mark.parametrize(
    ("population", "percent", "n"),
    [
        (100, 5, 5),
        (101, 5, 6),
        (10, 1, 1),
        (3, 0.1, 1),
        (1000, 2.5, 25),
        (1001, 2.5, 26),
        (7, 100, 7),
    ],
)
def test_percent_rounds_up_and_takes_at_least_one(population, percent, n):
    result = sampling.sample_size(SamplePlan(PERCENT, percent=percent), population)
    assert result.size == n
    assert "向上取整" in result.explanation


@pytest.mark.parametrize("percent", [0, -1, 101])
def test_percent_outside_zero_to_hundred_is_rejected(percent):
    with pytest.raises(sampling.PlanError):
        sampling.sample_size(SamplePlan(PERCENT, percent=percent), 10)


def test_a_fixed_size_larger_than_the_population_takes_everyone_and_says_so():
    result = sampling.sample_size(SamplePlan(FIXED, size=50), 12)
    assert result.size == 12 and "全部抽取" in result.explanation


def test_an_empty_population_or_a_zero_size_is_rejected():
    with pytest.raises(sampling.PlanError, match="总体为空"):
        sampling.sample_size(SamplePlan(FIXED, size=5), 0)
    with pytest.raises(sampling.PlanError):
        sampling.sample_size(SamplePlan(FIXED, size=0), 10)


def _population(n: int, townships: int = 3) -> list[tuple[str, str]]:
    return [(f"1404251980010{i:05d}:140425", f"140425{100 + i % townships}") for i in range(n)]


def test_population_hash_is_sha256_of_the_sorted_keys_joined_by_newlines():
    keys = ["b:1", "a:1", "c:2"]
    expected = hashlib.sha256(b"a:1\nb:1\nc:2").hexdigest()
    assert sampling.population_hash(keys) == expected
    assert sampling.draw([(k, "") for k in keys], 1, "s").population_hash == expected


def test_the_same_seed_draws_the_same_sample_whatever_the_input_order():
    population = _population(200)
    shuffled = population[:]
    random.Random(3).shuffle(shuffled)
    first = sampling.draw(population, 20, "seed-1", stratify=True)
    second = sampling.draw(shuffled, 20, "seed-1", stratify=True)
    assert first == second


def test_a_different_seed_draws_a_different_sample():
    population = _population(200)
    a = {d.key for d in sampling.draw(population, 20, "seed-1").items}
    b = {d.key for d in sampling.draw(population, 20, "seed-2").items}
    assert a != b


def test_the_draw_takes_the_smallest_sha256_of_seed_and_key():
    population = _population(50)
    drawn = sampling.draw(population, 5, "abc")
    expected = sorted(population, key=lambda m: hashlib.sha256(f"abc:{m[0]}".encode()).hexdigest())
    assert [d.key for d in drawn.items] == [k for k, _ in expected[:5]]
    assert drawn.items[0].rank == sampling.rank("abc", drawn.items[0].key)


def test_strata_get_a_share_in_proportion_to_their_size_by_largest_remainder():
    assert sampling.allocate({"a": 50, "b": 30, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}
    # quotas 4.5, 3.5, 2.0 → floors 4, 3, 2 = 9; one more to a (larger stratum on a tie)
    assert sampling.allocate({"a": 45, "b": 35, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}
    assert sum(sampling.allocate({"a": 7, "b": 11, "c": 13}, 9).values()) == 9


def test_every_non_empty_stratum_gets_at_least_one_and_never_more_than_it_has():
    alloc = sampling.allocate({"big": 97, "small": 2, "tiny": 1, "empty": 0}, 5)
    assert alloc == {"big": 3, "small": 1, "tiny": 1}
    assert sampling.allocate({"a": 2, "b": 100}, 50) == {"a": 1, "b": 49}
    assert sampling.allocate({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 1}
    assert sampling.allocate({"a": 3, "b": 4}, 100) == {"a": 3, "b": 4}


def test_stratified_draw_follows_the_allocation_per_township():
    population = [(f"k{i:03d}", "140425100") for i in range(60)] + [
        (f"m{i:03d}", "140425101") for i in range(40)
    ]
    drawn = sampling.draw(population, 10, "x", stratify=True)
    per = {}
    for item in drawn.items:
        per[item.stratum] = per.get(item.stratum, 0) + 1
    assert per == {"140425100": 6, "140425101": 4} == drawn.allocation


def test_a_generated_seed_is_random_hex():
    seeds = {sampling.new_seed() for _ in range(5)}
    assert len(seeds) == 5 and all(len(s) == 16 for s in seeds)
    int(next(iter(seeds)), 16)


def test_case_key_is_the_id_number_and_the_county():
    assert sampling.case_key("14042519800101001X", "140425") == "14042519800101001X:140425"
