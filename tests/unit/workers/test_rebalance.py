"""Where a partition taken over resumes: the group's committed offset, unless the restored
state records a later input of that partition (the offset fetch lagged behind the commit
that wrote it: resuming there would publish that outcome twice)."""

from __future__ import annotations

from vigie.workers.rebalance import resume_offset


def test_a_partition_resumes_at_its_committed_offset() -> None:
    assert resume_offset(120, None) == (120, False)
    assert resume_offset(120, 119) == (120, False)  # the state ends just before it


def test_a_never_committed_partition_resumes_at_the_start() -> None:
    assert resume_offset(None, None) == (0, False)
    assert resume_offset(-1, None) == (0, False)


def test_an_offset_fetch_behind_the_restored_state_resumes_after_the_state() -> None:
    assert resume_offset(120, 120) == (121, True)
    assert resume_offset(100, 130) == (131, True)
    assert resume_offset(None, 4) == (5, True)  # the fetch found nothing, the state did
