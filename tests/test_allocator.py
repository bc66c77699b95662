"""keep_freed_memory: an array freed and allocated again comes back without page faults."""

import subprocess
import sys

import pytest

from valmius.allocator import keep_freed_memory

# Allocates two 8 MB arrays, touches and frees them, four times; prints the page faults of each round.
_ROUNDS = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from valmius.allocator import keep_freed_memory
    assert keep_freed_memory()
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a, b = np.ones(1 << 20), np.ones(1 << 20)
    del a, b
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults)
"""


def _faults(mode: str) -> list[int]:
    out = subprocess.run([sys.executable, "-c", _ROUNDS, mode], capture_output=True, text=True, check=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator exists on Linux only")
def test_freed_arrays_are_reused_without_page_faults():
    if not keep_freed_memory():
        pytest.skip("not a glibc system: nothing to tune")
    plain, tuned = _faults("plain"), _faults("tuned")
    assert tuned[0] > 500  # the first round faults its pages in either way
    assert max(tuned[1:]) < tuned[0] / 10, tuned  # later rounds reuse them
    assert min(plain[1:]) > plain[0] / 2, plain  # without the thresholds every round faults again
