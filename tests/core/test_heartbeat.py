"""The heartbeat beats from its own thread while the work runs, and stops with it."""

import threading
import time

from core.heartbeat import Heartbeat


def test_beats_while_the_block_runs_and_never_after_it():
    beats: list[float] = []
    finished = threading.Event()
    with Heartbeat(lambda: beats.append(time.monotonic()), 0.05, finish=finished.set):
        time.sleep(0.4)  # the work: blocking, as a long query is
    count = len(beats)
    time.sleep(0.2)
    assert count >= 3
    assert len(beats) == count
    assert finished.is_set()


def test_a_failing_beat_does_not_stop_the_next_ones():
    calls: list[int] = []

    def beat() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database briefly away")

    with Heartbeat(beat, 0.05):
        time.sleep(0.3)
    assert len(calls) >= 3
