import pytest

from harness.data import build_testset
from harness.errors import DataError, SystemNotApplicable
from harness.systems.copy_source import CopySource
from harness.systems.file import FileOutputs


@pytest.fixture
def ts():
    return build_testset("t", "vi", "en", ["một", "hai", "ba"], [("one",), ("two",), ("three",)], origin="refs.en")


def test_file_outputs_reads_the_file_for_the_test_set(tmp_path, ts):
    (tmp_path / "o.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    system = FileOutputs("f", {"t": str(tmp_path / "o.txt")})
    assert system.translate(ts) == ["one", "two", "three"]
    assert system.signature()["outputs"] == {"t": str(tmp_path / "o.txt")}


def test_file_outputs_line_count_mismatch_names_file_test_set_and_counts(tmp_path, ts):
    (tmp_path / "o.txt").write_text("one\ntwo\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        FileOutputs("f", {"t": str(tmp_path / "o.txt")}).translate(ts)
    msg = str(e.value)
    assert "o.txt has 2 lines" in msg and "has 3 segments" in msg and "refs.en" in msg


def test_file_outputs_without_a_file_for_the_test_set_is_not_applicable(ts):
    with pytest.raises(SystemNotApplicable, match="outputs are given for: other"):
        FileOutputs("f", {"other": "x.txt"}).translate(ts)


def test_copy_source_returns_the_sources(ts):
    assert CopySource().translate(ts) == ["một", "hai", "ba"]
