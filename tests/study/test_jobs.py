"""Several cells at once (`simident.study.jobs`): every item once, groups on one thread in
index order, the first error raised."""

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simident.study.jobs import check_jobs, each
from simident.util.errors import SimidentError


def test_one_job_runs_in_index_order_on_the_callers_thread():
    seen = []
    out = list(each(lambda x: (seen.append(threading.get_ident()), x * x)[1], range(5), 1))
    assert out == [(i, i * i) for i in range(5)]
    assert set(seen) == {threading.get_ident()}


@settings(max_examples=25, deadline=None)
@given(
    groups=st.lists(st.integers(0, 3), min_size=0, max_size=12),
    jobs=st.integers(1, 4),
)
def test_every_item_once_and_each_group_in_order_on_one_thread(groups, jobs):
    log = []  # (group, index, thread), appended as each call starts
    lock = threading.Lock()

    def fn(item):
        i, g = item
        with lock:
            log.append((g, i, threading.get_ident()))
        time.sleep(0.001)
        return 10 * i

    items = list(enumerate(groups))
    out = dict(each(fn, items, jobs, group=lambda item: item[1]))
    assert out == {i: 10 * i for i in range(len(items))}
    for g in set(groups):
        mine = [(i, t) for gg, i, t in log if gg == g]
        assert [i for i, _ in mine] == [i for i, gg in items if gg == g]
        if jobs > 1:
            assert len({t for _, t in mine}) == 1


def test_two_jobs_overlap():
    """Two slow calls in flight at once (what makes a second cell's compile overlap)."""
    barrier = threading.Barrier(2, timeout=10)
    out = dict(each(lambda x: barrier.wait() is not None and x, [1, 2], 2))
    assert out == {0: 1, 1: 2}  # with one call at a time the barrier times out


def test_the_first_error_is_raised_and_later_items_dropped():
    started = []

    def fn(i):
        started.append(i)
        if i == 0:
            raise ValueError("cell 0 failed")
        return i

    with pytest.raises(ValueError, match="cell 0 failed"):
        list(each(fn, range(6), 2, group=lambda i: i % 2))
    time.sleep(0.05)
    assert 2 not in started and 4 not in started  # group 0 stopped at its error


@pytest.mark.parametrize("jobs", [0, -1, 65])
def test_bad_jobs_are_refused_naming_the_option(jobs):
    with pytest.raises(SimidentError, match=f"--jobs {jobs}: must lie in"):
        check_jobs(jobs)


def test_default_jobs():
    assert check_jobs(None) in (1, 2)
    assert check_jobs(3) == 3


def test_an_error_is_raised_after_the_calls_in_flight_end():
    ended = threading.Event()

    def fn(i):
        if i == 1:
            raise ValueError("cell 1 failed")
        time.sleep(0.3)
        ended.set()
        return i

    with pytest.raises(ValueError, match="cell 1 failed"):
        list(each(fn, range(2), 2))
    assert ended.is_set()  # cell 0, in flight, finished before the error reached us
