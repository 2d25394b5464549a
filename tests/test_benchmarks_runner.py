import subprocess
import sys

from conftest import ROOT


def test_runner_lists_benchmarks_and_refuses_unknown_names():
    res = subprocess.run([sys.executable, "-m", "benchmarks", "no-such-benchmark"], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 2
    assert "unknown benchmark 'no-such-benchmark'; known:" in res.stderr
