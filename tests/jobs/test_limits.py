"""The memory ceiling of one attempt (jobs.limits): an allocation past it is a MemoryError in
the job, not the kernel's out-of-memory killer, and the process gets its memory back after."""

from __future__ import annotations

import resource

import pytest

from jobs.limits import data_in_use, memory_ceiling

BIG = 512 * 1024 * 1024


def test_an_allocation_past_the_ceiling_raises_memory_error():
    with pytest.raises(MemoryError), memory_ceiling(64):
        bytearray(BIG)


def test_the_limit_is_restored_after_the_block_even_when_it_raised():
    before = resource.getrlimit(resource.RLIMIT_DATA)
    with pytest.raises(MemoryError), memory_ceiling(64):
        bytearray(BIG)
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    assert len(bytearray(BIG)) == BIG


def test_an_allocation_within_the_allowance_succeeds():
    with memory_ceiling(256):
        assert len(bytearray(64 * 1024 * 1024)) == 64 * 1024 * 1024


@pytest.mark.parametrize("megabytes", [None, 0])
def test_no_allowance_means_no_ceiling(megabytes):
    before = resource.getrlimit(resource.RLIMIT_DATA)
    with memory_ceiling(megabytes):
        assert resource.getrlimit(resource.RLIMIT_DATA) == before


def test_the_ceiling_counts_from_what_the_process_already_holds():
    held = data_in_use()
    with memory_ceiling(64):
        soft, _hard = resource.getrlimit(resource.RLIMIT_DATA)
    assert held is not None and soft >= held + 64 * 1024 * 1024
