"""The `sesame` command's own output: a reader that goes away early (`sesame sessions list |
head`) ends the command quietly, it does not panic on the broken pipe."""

import os
import subprocess

import pytest

from e2e_rig.redis_topologies import sesame_cli


@pytest.mark.parametrize("argv", [["--help"], ["sessions", "--help"], ["config", "--help"],
                                  ["doctor", "--help"], ["keygen", "--help"]])
def test_output_to_a_closed_pipe_ends_quietly(argv):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes
    try:
        done = subprocess.run([str(sesame_cli()), *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=30)
    finally:
        os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert "panicked" not in done.stderr, done.stderr
