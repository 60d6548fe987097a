"""The differential test of issue 11: random valid programs of every shape, each compiled by
every route and compared with the NumPy reference that the generator writes itself
(tests/program_generator.py).

The fixed seeds 0-299 run with the suite, in chunks per family so that a failing family is
visible; ``GRADGEN_FUZZ=N`` runs N more (from seed 300, or ``GRADGEN_FUZZ_SEED``). A new
failure fails the test with its program shrunk and printed as a ready-to-paste regression
test; the seeds in ``KNOWN_FAILURES`` are reported as expected failures, counted.
"""

from __future__ import annotations

import os

import pytest
from program_generator import FAMILIES, run_seeds

FIXED_SEEDS = 300
CHUNKS_PER_FAMILY = 3


def _family_chunks() -> list[tuple[str, list[int]]]:
    chunks = []
    for index, family in enumerate(FAMILIES):
        seeds = [s for s in range(FIXED_SEEDS) if s % len(FAMILIES) == index]
        size = -(-len(seeds) // CHUNKS_PER_FAMILY)
        for k in range(CHUNKS_PER_FAMILY):
            chunks.append((family, seeds[k * size:(k + 1) * size]))
    return chunks


def _check(seeds: list[int]) -> None:
    report = run_seeds(seeds)
    print(report.summary())
    if report.failures:
        pytest.fail(report.summary() + "\n\n" + "\n\n".join(report.failures), pytrace=False)
    if report.known:
        pytest.xfail(report.summary())


@pytest.mark.parametrize("family, seeds", _family_chunks(),
                         ids=[f"{family}-{seeds[0]}" for family, seeds in _family_chunks()])
def test_generated_programs(family: str, seeds: list[int]) -> None:
    _check(seeds)


@pytest.mark.skipif(not os.environ.get("GRADGEN_FUZZ"),
                    reason="set GRADGEN_FUZZ=N to check N more programs")
def test_more_generated_programs() -> None:
    start = int(os.environ.get("GRADGEN_FUZZ_SEED", FIXED_SEEDS))
    _check(list(range(start, start + int(os.environ["GRADGEN_FUZZ"]))))
