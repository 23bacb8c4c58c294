"""`import lamina` keeps large freed CPU blocks in the heap (allocator.py), unless told not to.

Each case runs in a fresh interpreter: malloc's settings are per process and set at import. The
evidence is where a 64 MiB tensor lands: inside the process's `[heap]` mapping (kept heap) or in a
separate anonymous `mmap` (glibc's default for blocks that large).
"""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the tuning applies to glibc only",
)

PROBE = """
import lamina, torch
big = torch.empty(16 * 2**20)  # 64 MiB of float32
address = big.data_ptr()
for line in open("/proc/self/maps"):
    if line.rstrip().endswith("[heap]"):
        start, end = (int(part, 16) for part in line.split()[0].split("-"))
        in_heap = start <= address < end
        break
else:
    in_heap = False
print(lamina.allocator.heap_is_kept(), in_heap)
"""


def run_probe(**env):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MALLOC_", "LAMINA_KEEP_HEAP"))
    }
    environment.update(env)
    src = os.path.join(os.path.dirname(os.path.dirname(__file__)), "src")
    environment["PYTHONPATH"] = os.pathsep.join([src, environment.get("PYTHONPATH", "")])
    output = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    ).stdout.split()
    return output == ["True", "True"], output


CASES = {
    "default_keeps_the_heap": ({}, True),
    "opted_out": ({"LAMINA_KEEP_HEAP": "0"}, False),
    "users_own_malloc_setting_wins": ({"MALLOC_TRIM_THRESHOLD_": "131072"}, False),
}


@pytest.mark.parametrize("env, kept", CASES.values(), ids=CASES.keys())
def test_large_tensors_come_from_the_heap_only_when_the_tuning_applies(env, kept):
    both_true, output = run_probe(**env)
    assert both_true is kept, output
    if not kept:
        assert output == ["False", "False"]
