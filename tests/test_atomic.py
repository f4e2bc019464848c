"""Outputs are written whole or not at all, and our own temporaries from a hard kill are swept."""

import os
import subprocess
import sys

import numpy as np
import pytest

from vidcolor import atomic
from vidcolor.photo import write_photo


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_failed_write_leaves_neither_output_nor_temporary(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic.atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk gone")
    assert list(tmp_path.iterdir()) == []


def test_the_output_appears_only_when_complete(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic.atomic_output(target) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old" and tmp.suffix == ".bin"
    assert target.read_bytes() == b"new" and list(tmp_path.iterdir()) == [target]


def test_stale_temporaries_of_ended_processes_are_swept_and_nothing_else(tmp_path):
    target = tmp_path / "photo.png"
    stale = atomic.temp_path(target, dead_pid())
    live = atomic.temp_path(target, os.getppid())  # a process still running: perhaps writing it now
    other_output = atomic.temp_path(tmp_path / "other.png", dead_pid())
    not_ours = [tmp_path / ".photo.tmp123.png", tmp_path / ".photo.vidcolor-tmp12x.png", tmp_path / "photo.vidcolor-tmp1.png"]
    for p in [stale, live, other_output, *not_ours]:
        p.write_bytes(b"x")
    write_photo(target, np.full((4, 5, 3), 90, np.uint8))
    assert target.is_file()
    assert not stale.exists()
    assert live.exists() and other_output.exists() and all(p.exists() for p in not_ours)
