import gzip
import os

import pytest

from harness.errors import DataError
from harness.textio import read_lines, write_json, write_text


def test_lines_split_on_newline_only_and_rstripped(tmp_path):
    p = tmp_path / "a.txt"
    # \u2028 and \x0c would split with str.splitlines(); sacreBLEU splits on \n only.
    p.write_bytes("one \r\ntwo\u2028still two\x0c\n\nlast".encode())
    assert read_lines(p) == ["one", "two\u2028still two", "", "last"]


def test_trailing_newline_gives_no_extra_line_and_empty_file_no_lines(tmp_path):
    (tmp_path / "a").write_text("x\ny\n", encoding="utf-8")
    (tmp_path / "e").write_text("", encoding="utf-8")
    assert read_lines(tmp_path / "a") == ["x", "y"]
    assert read_lines(tmp_path / "e") == []


def test_bom_is_dropped_and_gzip_is_read(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfxin ch\xc3\xa0o\n")
    (tmp_path / "z.txt.gz").write_bytes(gzip.compress("a\nb\n".encode()))
    assert read_lines(tmp_path / "bom.txt") == ["xin chào"]
    assert read_lines(tmp_path / "z.txt.gz") == ["a", "b"]


def test_non_utf8_names_file_and_byte_offset(tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes("ok line\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError) as e:
        read_lines(p)
    msg = str(e.value)
    assert str(p) in msg and "byte offset 11" in msg and "line 2" in msg


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="file not found: .*nope.txt"):
        read_lines(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_lines(tmp_path)


def test_atomic_writes_leave_no_temporary_files_and_normal_permissions(tmp_path):
    write_text(tmp_path / "sub" / "x.txt", "hello")
    write_json(tmp_path / "sub" / "y.json", {"a": "ă"})
    assert sorted(os.listdir(tmp_path / "sub")) == ["x.txt", "y.json"]
    assert (tmp_path / "sub" / "y.json").read_text(encoding="utf-8") == '{\n  "a": "ă"\n}\n'
    mode = (tmp_path / "sub" / "x.txt").stat().st_mode & 0o777
    assert mode & 0o044  # readable by group/others under a normal umask, not mkstemp's 0600
