"""A memory ceiling for one attempt of a job.

The caps on uploads (``core.tabular``: part sizes, packing ratio, shared strings, cell length)
bound what a file can make a parser hold, but only as far as we foresaw the file; the ceiling is
the backstop for what we did not (issue 10: a 1 MB workbook once took 4.2 GB). It lowers the
process's ``RLIMIT_DATA`` — on Linux since 4.7 that counts the heap and every private writable
mapping, i.e. what Python, openpyxl and DuckDB allocate — to what the worker already holds plus
the kind's allowance, and restores it afterwards. An allocation past it raises ``MemoryError``
in the job (``jobs.runner`` fails the job with :data:`jobs.runner.OUT_OF_MEMORY`) instead of the
kernel's out-of-memory killer taking the worker, or another process of the machine.

The limit is per process: a Celery worker of the prefork pool runs one task per child process,
so it is the job's own. Where the limit cannot be read or set (no ``/proc``, another OS) the
job runs without it, and the log says so.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger("jobs")

_STATUS = Path("/proc/self/status")
_MIB = 1024 * 1024


def data_in_use() -> int | None:
    """Bytes of the process's data segment as ``RLIMIT_DATA`` counts them (``VmData``)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@contextmanager
def memory_ceiling(megabytes: int | None) -> Iterator[None]:
    """Within the block the process may allocate at most ``megabytes`` more than it holds at
    its start; ``None`` or 0: no ceiling."""
    if not megabytes:
        yield
        return
    in_use = data_in_use()
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    ceiling = None if in_use is None else in_use + megabytes * _MIB
    if ceiling is not None and hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    try:
        if ceiling is None:
            raise OSError("VmData not readable")
        resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    except (OSError, ValueError) as error:
        logger.warning("memory ceiling of %s MB not set: %s", megabytes, error)
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
