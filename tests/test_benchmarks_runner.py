import subprocess
import sys

from conftest import ROOT


def test_runner_lists_benchmarks_and_refuses_unknown_names():
    res = subprocess.run([sys.executable, "-m", "benchmarks", "no-such-benchmark"], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 2
    assert "unknown benchmark 'no-such-benchmark'; known:" in res.stderr


def test_translation_benchmark_quick_run_reports_its_ratios():
    res = subprocess.run([sys.executable, "-m", "benchmarks", "translation", "--", "--quick"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "batch size 1 -> length-sorted batches" in res.stdout and "warm re-run: 0 model calls" in res.stdout
    assert "identical outputs across batching and the cache: yes" in res.stdout


def test_report_benchmark_quick_run_measures_the_file():
    res = subprocess.run([sys.executable, "-m", "benchmarks", "report", "--", "--quick"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "300 segments x 5 systems x 4 metrics" in res.stdout and "report.html:" in res.stdout
