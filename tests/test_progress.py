"""Progress bars (harness/progress.py): tqdm's where someone can see them, and nothing, not even tqdm's import,
where nobody can."""

import io
import subprocess
import sys

from conftest import ROOT

from harness.progress import progress_bar


def test_off_a_terminal_a_bar_does_nothing_and_tqdm_is_not_imported():
    code = ("import sys\nfrom harness.progress import progress_bar\n"
            "with progress_bar(total=3, desc='x') as bar:\n    bar.update(3)\n"
            "print('tqdm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False" and out.stderr == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_tqdms_unless_switched_off(monkeypatch):
    from tqdm.auto import tqdm

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(total=3, desc="segments", file=terminal) as bar:
        assert isinstance(bar, tqdm)
        bar.update(3)
    assert "segments" in terminal.getvalue() and "3/3" in terminal.getvalue()
    with progress_bar(enabled=False, total=3) as bar:
        assert not isinstance(bar, tqdm)
