"""The catalogue of bad inputs (README, "Bad inputs"): every row runs here through the command line and must give
its documented exit status and message (or warning, or sanity flag), never a traceback and never a silent
score. The README's table lists exactly these ids."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FLORES_REF, FLORES_SRC, OPUS_2020, OPUS_BT, ROOT

REF, SRC, HYP, HYP2 = str(FLORES_REF), str(FLORES_SRC), str(OPUS_2020), str(OPUS_BT)
FAST_RUN = ["experiment=files_only", "testset=[flores200_devtest]", "metric=[bleu]", "report=false",
            "significance.test=none"]


@dataclass
class Case:
    id: str
    what: str
    argv: list[str]            # after `mt-harness`; {tmp} and {file:NAME} are filled in
    code: int
    expect: str                # a fragment of stderr (or, for flags, of the leaderboard)
    where: str = "stderr"      # stderr | leaderboard | scores


def _lines(path: Path | str, n: int = 1012) -> list[str]:
    return Path(path).read_text(encoding="utf-8").split("\n")[:n]


def make_files(folder: Path) -> dict[str, Path]:
    """The bad files the catalogue feeds in."""
    good, ref = _lines(OPUS_2020), _lines(FLORES_REF)
    files: dict[str, bytes | str] = {
        "short.txt": "one line\n",
        "empty.txt": "",
        "latin1.txt": "café\n".encode("latin-1"),
        "utf16.txt": ("\n".join(good) + "\n").encode("utf-16"),
        "source_copy.txt": "\n".join(_lines(FLORES_SRC)) + "\n",
        "reference_copy.txt": "\n".join(ref) + "\n",
        "shifted.txt": "\n".join([""] + good[:-1]) + "\n",
        "shuffled.txt": "\n".join(random.Random(0).sample(good, len(good))) + "\n",
        "bytefallback.txt": "\n".join(h.replace("e", "e<0xC3><0xA9>", 1) if i % 4 == 0 else h
                                      for i, h in enumerate(good)) + "\n",
        "pieces.txt": "\n".join("▁" + h.replace(" ", " ▁") if i % 4 == 0 else h for i, h in enumerate(good)) + "\n",
        "zero_width.txt": "\n".join(h.replace(" ", "\u200b ", 1) if i % 4 == 0 else h
                                    for i, h in enumerate(good)) + "\n",
        "moses.txt": "\n".join(h.replace(".", " .").replace(",", " ,").replace("'s", " 's") for h in good) + "\n",
        "nfd.txt": "\n".join(_lines(FLORES_SRC)) + "\n",  # filled with NFD text below
        "loops.txt": "\n".join(h + " the the the the the the" if i % 3 == 0 else h for i, h in enumerate(good)) + "\n",
        "escaped_ref.txt": "\n".join(r.replace('"', "&quot;").replace("&", "&amp;") for r in ref) + "\n",
        "empty_refs.txt": "\n".join("" if i % 3 == 0 else r for i, r in enumerate(ref)) + "\n",
        "bom_hyp.txt": "\ufeff" + "\n".join(good) + "\n",
        "crlf_hyp.txt": "\r\n".join(good) + "\r\n",
        "huge_line.txt": "x" * 2_000_000 + "\n",
        "nul.txt": "\n".join(h + "\x00" if i % 4 == 0 else h for i, h in enumerate(good)) + "\n",
        "stray_tab.tsv": "xin chào\thello\nmột\thai\tone two\n",
        "bad.jsonl": '{"src": "xin chào", "ref": "hello"}\n{"src": "một", \n',
        "empty_ref.jsonl": "".join(json.dumps({"src": s, "ref": "" if i % 2 else r}, ensure_ascii=False) + "\n"
                                   for i, (s, r) in enumerate(zip(_lines(FLORES_SRC, 40), _lines(FLORES_REF, 40)))),
        "not_a_db/cache.sqlite": "this is not a database " * 50,
        "a_file": "",
    }
    import unicodedata

    files["nfd.txt"] = "\n".join(unicodedata.normalize("NFD", h) for h in _lines(FLORES_SRC)) + "\n"
    paths = {}
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        paths[name] = path
    (folder / "a_folder").mkdir(exist_ok=True)
    return paths


def _flagged(name: str) -> list[str]:
    """A run with FILE as a system (`+hypotheses.bad=FILE`): its sanity flags land in the leaderboard."""
    return ["run", *FAST_RUN, f"+hypotheses.bad={{file:{name}}}"]


CASES = [
    # -- files ---------------------------------------------------------------------------------------------------
    Case("F01", "reference file missing", ["score", "-r", "{tmp}/nope.txt", HYP], 2, "file not found: {tmp}/nope.txt"),
    Case("F02", "hypothesis file missing", ["score", "-r", REF, "{tmp}/nope.txt"], 2, "file not found"),
    Case("F03", "hypothesis with fewer lines", ["score", "-r", REF, "{file:short.txt}"], 2,
         "short.txt has 1 lines but test set 'score'"),
    Case("F04", "empty hypothesis file", ["score", "-r", REF, "{file:empty.txt}"], 2, "empty.txt has 0 lines"),
    Case("F05", "not UTF-8 (Latin-1)", ["score", "-r", REF, "{file:latin1.txt}"], 2, "is not valid UTF-8: byte offset 3"),
    Case("F06", "UTF-16 file", ["score", "-r", REF, "{file:utf16.txt}"], 2, "is not valid UTF-8: byte offset 0"),
    Case("F07", "a folder given as a file", ["score", "-r", "{tmp}/a_folder", HYP], 2, "is a directory"),
    Case("F08", "references of different lengths", ["score", "-r", REF, "-r", "{file:short.txt}", HYP], 2,
         "has 1012 lines but reference"),
    Case("F09", "source of another length", ["score", "-s", "{file:short.txt}", "-r", REF, HYP], 2,
         "short.txt has 1 lines but reference"),
    Case("F10", "a line of 2 MB (no line ends)", ["score", "-r", "{file:huge_line.txt}", "{file:huge_line.txt}"],
         0, "huge_line: line 1 of the hypothesis file is 2,000,000 bytes long"),
    Case("F11", "TSV line with a stray tab", ["run", *FAST_RUN, "testset=[tsv]", "testsets.tsv.path={file:stray_tab.tsv}"],
         2, "line 2 has 3 columns but line 1 has 2: a tab inside a segment?"),
    Case("F12", "JSONL line that is not JSON", ["run", *FAST_RUN, "testset=[jsonl]", "testsets.jsonl.path={file:bad.jsonl}"],
         2, "bad.jsonl: line 2 is not valid JSON"),
    Case("F13", "a hypothesis that is a reference file", ["score", "-r", REF, REF, "-m", "bleu"], 0,
         f"hypothesis file {REF} is identical to reference {REF}"),
    Case("F14", "output file written into a folder that cannot exist",
         ["score", "-r", REF, HYP, "--segments", "/proc/nope/s.tsv"], 2, "cannot write /proc/nope/s.tsv"),
    Case("F15", "NUL bytes in the hypotheses", ["score", "-r", REF, "{file:nul.txt}"], 0,
         "nul_bytes: the hypothesis file contains"),
    # -- options and configs -------------------------------------------------------------------------------------
    Case("O01", "unknown metric", ["score", "-r", REF, HYP, "-m", "chrf+"], 2, "Did you mean 'chrf++' or 'chrf'"),
    Case("O02", "metric list before the files", ["score", "-r", REF, "-m", "bleu", HYP], 2,
         "put `-m METRIC...` after the hypothesis files"),
    Case("O03", "unknown BLEU tokenizer", ["score", "-r", REF, HYP, "-tok", "nope"], 2,
         "unknown BLEU tokenizer 'nope'"),
    Case("O04", "negative width", ["score", "-r", REF, HYP, "-w", "-3"], 2, "digits must be between 0 and 10"),
    Case("O05", "zero workers", ["score", "-r", REF, HYP, "-j", "0"], 2, "must be at least 1, not 0"),
    Case("O06", "alpha outside (0, 1)", ["score", "-r", REF, HYP, HYP2, "--paired-bs", "--alpha", "2"], 2,
         "must be between 0 and 1"),
    Case("O07", "a paired test with one system", ["score", "-r", REF, HYP, "--paired-bs"], 2,
         "at least two hypothesis files"),
    Case("O08", "--all-pairs without a test", ["score", "-r", REF, HYP, HYP2, "--all-pairs"], 2,
         "--all-pairs needs --paired-bs or --paired-ar"),
    Case("O09", "COMET option without COMET", ["score", "-r", REF, HYP, "--comet-model", "x"], 2,
         "--comet-model is given but no COMET metric is"),
    Case("O10", "COMET without sources", ["score", "-r", REF, HYP, "-m", "comet"], 2,
         "metric COMET needs the source sentences: add -s SRC"),
    Case("O11", "a metric option that does not exist", ["score", "-r", REF, HYP, "-O", "chrf.lowercas=true"], 2,
         "Did you mean 'lowercase'?"),
    Case("O12", "a country code as a language", ["score", "-r", REF, HYP, "--tgt-lang", "vn"], 2,
         "'vn' is a country code, not a language code; did you mean 'vi'?"),
    Case("O13", "unknown config name", ["run", "system=[copy_sorce]"], 2, "Did you mean 'copy_source'?"),
    Case("O14", "misspelt field", ["run", *FAST_RUN, "systems.copy_source.nam=x"], 2,
         "unknown field 'nam' in systems.copy_source. Did you mean 'name'?"),
    Case("O15", "strict=maybe", ["run", *FAST_RUN, "strict=maybe"], 2, "strict must be true or false, not 'maybe'"),
    Case("O16", "strict=no", ["run", *FAST_RUN, "strict=no"], 2, "strict must be true or false, not 'no'"),
    Case("O17", "cache.statistics=no", ["run", *FAST_RUN, "cache.statistics=no"], 2,
         "cache.statistics must be true or false, not 'no'"),
    Case("O18", "workers=abc", ["run", *FAST_RUN, "workers=abc"], 2, "workers must be an integer (or null), not 'abc'"),
    Case("O19", "significance.resamples=abc", ["run", *FAST_RUN, "significance.resamples=abc"], 2,
         "significance.resamples must be an integer, not 'abc'"),
    Case("O20", "a wrong type for a system field", ["run", *FAST_RUN, "systems.copy_source.name=[a,b]"], 2,
         "systems.copy_source.name must be a string"),
    Case("O21", "unknown rank_by metric", ["run", *FAST_RUN, "rank_by=chrf2"], 2, "unknown rank_by metric 'chrf2'"),
    Case("O22", "unknown baseline system", ["run", *FAST_RUN, "significance.test=bootstrap",
                                            "significance.baseline=opus"], 2, "unknown significance.baseline system"),
    Case("O23", "a test set in a country code", ["run", *FAST_RUN, "testsets.flores200_devtest.tgt_lang=vn"], 2,
         "tgt_lang: 'vn' is a country code"),
    Case("O24", "an output file as a system, ambiguous", ["run", "metric=[bleu]", "report=false",
                                                         "+hypotheses.mine={file:short.txt}"], 2,
         "say which: +hypotheses.mine.flores200_devtest="),
    # -- folders and caches --------------------------------------------------------------------------------------
    Case("C01", "results folder that cannot be written", ["run", *FAST_RUN, "paths.results_dir=/proc/nope"], 2,
         "results cannot be written to /proc/nope"),
    Case("C02", "cache folder that is a file", ["score", "-r", REF, HYP, "--cache-dir", "{file:a_file}"], 2,
         "is a file; give a folder"),
    Case("C03", "a damaged cache.sqlite", ["score", "-r", REF, HYP, "--cache-dir", "{tmp}/not_a_db"], 0,
         "is not a usable SQLite database"),
    Case("C04", "a folder that is not a run", ["compare", "{tmp}/a_folder", "{tmp}/a_folder"], 2,
         "is not a run folder (no scores.json)"),
    Case("C05", "a report of a folder that is not a run", ["report", "{tmp}/a_folder", "-o", "{tmp}/rep"], 2,
         "a_folder"),
    # -- outputs that are almost certainly wrong: scored, and flagged -----------------------------------------------
    Case("S01", "the source, untranslated", _flagged("source_copy.txt"), 0, "✗ copy_of_source", "leaderboard"),
    Case("S02", "a copy of the reference", _flagged("reference_copy.txt"), 0, "copy_of_reference", "leaderboard"),
    Case("S03", "lines shifted by one", _flagged("shifted.txt"), 0, "✗ shifted_lines", "leaderboard"),
    Case("S04", "lines shuffled", _flagged("shuffled.txt"), 0, "shuffled_lines", "leaderboard"),
    Case("S05", "byte-fallback tokens (<0xC3>)", _flagged("bytefallback.txt"), 0, "⚠ byte_fallback", "leaderboard"),
    Case("S06", "raw SentencePiece pieces (▁the)", _flagged("pieces.txt"), 0, "sentencepiece_pieces", "leaderboard"),
    Case("S07", "zero-width spaces", _flagged("zero_width.txt"), 0, "invisible_characters", "leaderboard"),
    Case("S08", "a Moses-tokenised output", _flagged("moses.txt"), 0, "moses_tokenized", "leaderboard"),
    Case("S09", "NFD-decomposed text against NFC", _flagged("nfd.txt"), 0, "unicode_normalization", "leaderboard"),
    Case("S10", "repetition loops", _flagged("loops.txt"), 0, "ngram_loop", "leaderboard"),
    Case("S11", "a UTF-8 BOM in one file only", _flagged("bom_hyp.txt"), 0, "bom_mismatch", "leaderboard"),
    Case("S12", "CRLF line ends in one file only", _flagged("crlf_hyp.txt"), 0, "crlf_mismatch", "leaderboard"),
    Case("S13", "HTML-escaped references", ["run", *FAST_RUN, "system=[copy_source]",
                                            "testsets.flores200_devtest.references={file:escaped_ref.txt}"], 0,
         "escaped_references", "leaderboard"),
    Case("S14", "a third of the references empty", ["run", *FAST_RUN, "system=[copy_source]",
                                                    "testsets.flores200_devtest.references={file:empty_refs.txt}"], 0,
         "empty_references", "leaderboard"),
    Case("S15", 'JSONL segments with "ref": ""', ["run", *FAST_RUN, "system=[copy_source]", "testset=[jsonl]",
                                                  "testsets.jsonl.path={file:empty_ref.jsonl}"], 0,
         "empty_references", "leaderboard"),
]


def _fill(text: str, tmp: Path, files: dict[str, Path]) -> str:
    text = text.replace("{tmp}", str(tmp))
    return re.sub(r"\{file:([^}]+)\}", lambda m: str(files[m.group(1)]), text)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    return folder, make_files(folder)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, bad, tmp_path):
    folder, files = bad
    argv = [_fill(a, folder, files) for a in case.argv]
    env = {**os.environ, "MT_HARNESS_RESULTS": str(tmp_path / "results"), "MT_HARNESS_CACHE": str(tmp_path / "cache")}
    res = subprocess.run([sys.executable, "-m", "harness", *argv], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=300)
    assert "Traceback" not in res.stderr, res.stderr
    assert res.returncode == case.code, res.stderr
    expected = _fill(case.expect, folder, files)
    if case.where == "stderr":
        assert expected in res.stderr, res.stderr
        if case.code == 2:
            assert res.stderr.rstrip().splitlines()[-1].startswith(("mt-harness: error:", "mt-harness score: error:",
                                                                     "usage:")), res.stderr
    else:
        assert expected in res.stdout, res.stdout


def test_the_readme_catalogue_lists_exactly_these_cases():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Bad inputs", 1)[1].split("\n## ", 1)[0]
    ids = re.findall(r"^\| ([A-Z]\d\d) \|", table, flags=re.M)
    assert ids == [c.id for c in CASES]
    assert len(ids) >= 40


def _processes_with(field: int, value: int) -> list[int]:
    """Processes whose /proc/PID/stat field after the command name is `value` (Linux): field 1 is the parent's
    pid, field 2 the process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[field]) == value:
            found.append(int(stat.parent.name))
    return found


def _children(pid: int) -> list[int]:
    return _processes_with(1, pid)


def _score_until_workers(tmp_path):
    """`mt-harness score -m ter -j 2` on FLORES-200 devtest repeated 30 times (30,360 segments: chunks of TER
    statistics for two worker processes, many seconds of work), in its own process group, returned once the
    workers run."""
    import threading
    import time

    for name, path in (("ref", FLORES_REF), ("hyp", OPUS_2020)):
        (tmp_path / name).write_text("\n".join(_lines(path) * 30) + "\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "harness", "score", "-r", str(tmp_path / "ref"), str(tmp_path / "hyp"),
                             "-m", "ter", "-j", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.time() + 120
    while len(_children(proc.pid)) < 2:
        assert time.time() < deadline and proc.poll() is None, "no worker processes started: " + "".join(lines)
        time.sleep(0.02)
    time.sleep(0.5)  # the workers are computing
    return proc, lines, reader


def test_ctrl_c_exits_130_with_one_line(tmp_path):
    """SIGINT while worker processes compute statistics, sent as a terminal sends it (to the whole process group,
    the workers too): one line, status 130, no worker's traceback, no process left behind."""
    import signal

    proc, lines, reader = _score_until_workers(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    err = "".join(lines)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.rstrip().splitlines()[-1] == "mt-harness: interrupted"
    _wait_until_the_group_is_gone(proc.pid)


def test_a_run_interrupted_by_sigterm_says_so_in_its_folder(tmp_path):
    """SIGTERM (a scheduler's stop) ends a run as Ctrl-C does: exit 130, one line, status "interrupted"."""
    import signal
    import time

    env = {**os.environ, "MT_HARNESS_RESULTS": str(tmp_path / "results"), "MT_HARNESS_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", *FAST_RUN, "metric=[ter]"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    while not list((tmp_path / "results").glob("*/*/status.json")):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    status = json.loads(next((tmp_path / "results").glob("*/*/status.json")).read_text(encoding="utf-8"))
    if status["status"] == "completed":  # the machine finished TER before the signal: nothing to check
        pytest.skip("the run completed before SIGTERM arrived")
    assert proc.returncode == 130 and err.rstrip().splitlines()[-1] == "mt-harness: interrupted", err
    assert status["status"] == "interrupted"


def _wait_until_the_group_is_gone(pgid: int) -> None:
    import time

    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)  # anyone left in the group?
        except ProcessLookupError:
            return
        time.sleep(0.1)
    left = [f"{pid}: {Path(f'/proc/{pid}/cmdline').read_bytes().replace(bytes(1), b' ').decode(errors='replace')}"
            for pid in _group_members(pgid)]
    pytest.fail(f"worker processes outlived their parent: {left}")


def _group_members(pgid: int) -> list[int]:
    return _processes_with(2, pgid)


def test_kill_9_leaves_no_worker_behind(tmp_path):
    """The main process killed outright while its workers compute: the workers end with it."""
    import signal

    proc, _, _ = _score_until_workers(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # the parent only, as the OOM killer or `kill -9 PID` does
    proc.wait(timeout=30)
    _wait_until_the_group_is_gone(proc.pid)
