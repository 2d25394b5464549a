"""Reports: leaderboards across runs (Markdown, CSV, JSON, LaTeX), multirun sweep tables, the HTML report's
safety (hostile segments and names show as text) and content, bucketed tests, metric disagreement, documents,
speed, and the `report` command and the run's own report.html.

Runs are real runs (`evaluate`) of shipped outputs, plus a small test set built here: 120 FLORES-200 segments in
two documents and four hostile segments, with two systems that BLEU and chrF rank in opposite orders."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
import yaml
from conftest import FLORES_REF, FLORES_SRC, OPUS_2020, OPUS_BT

from harness import significance
from harness.config import compose
from harness.metrics.base import Metric
from harness.report.board import build_boards
from harness.report.output import find_runs, load_runs, write_report
from harness.report.tables import to_latex
from harness.run import evaluate

HOSTILE = ["<script>window.__pwned = 1</script>",
           '"><img src=x onerror="window.__pwned = 2">',
           "</script><!-- <script>window.__pwned = 3</script> -->",
           "already &amp; escaped &lt;b&gt; stays literal \u2028 line separator"]
EVIL_NAME = "<img src=x onerror=alert(1)>&co"
N_PLAIN = 120


class FakeComet(Metric):
    """An averaged metric like COMET (statistics [segment score, 1]): how close the hypothesis' length in
    characters is to the reference's. It prefers complete outputs, as COMET does."""

    name = "FakeCOMET"
    display_digits = 4
    meaningful_difference = 0.01

    def signature(self, num_refs: int = 1) -> str:
        return "FakeCOMET|length-similarity|v1"

    def segment_statistics(self, hyps, refs, srcs=None) -> np.ndarray:
        out = np.ones((len(hyps), 2))
        for i, (h, r) in enumerate(zip(hyps, refs)):
            out[i, 0] = 1 - abs(len(h) - len(r[0])) / max(len(h), len(r[0]), 1)
        return out

    def scores_from_statistics(self, summed: np.ndarray) -> np.ndarray:
        summed = np.asarray(summed, dtype=np.float64)
        return summed[..., 0] / np.maximum(summed[..., 1], 1)


def _lines(path: Path, n: int) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:n]


def drop_last_letters(line: str) -> str:
    """Words longer than four characters lose their last one: chrF minds less than BLEU."""
    return " ".join(w[:-1] if len(w) > 4 else w for w in line.split())


def make_tiny_data(folder: Path) -> dict[str, Path]:
    """The small test set (JSONL, documents doc-a and doc-b, hostile segments last) and two systems' outputs:
    `typos` (every word clipped: chrF prefers it) and `half-empty` (the first half exact, the rest empty: BLEU
    prefers it)."""
    src, ref = _lines(FLORES_SRC, N_PLAIN), _lines(FLORES_REF, N_PLAIN)
    rows = [{"seg_id": f"s{i}", "doc_id": "doc-a" if i < N_PLAIN // 2 else "doc-b", "src": s, "ref": r}
            for i, (s, r) in enumerate(zip(src, ref))]
    rows += [{"seg_id": f"h{i}", "doc_id": "doc-b", "src": h, "ref": h} for i, h in enumerate(HOSTILE)]
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"testset": folder / "tiny.jsonl", "typos": folder / "typos.txt", "half": folder / "half.txt"}
    paths["testset"].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    refs = [r["ref"] for r in rows]
    paths["typos"].write_text("\n".join(drop_last_letters(r) if i < N_PLAIN else HOSTILE[(i + 1) % len(HOSTILE)]
                                        for i, r in enumerate(refs)) + "\n", encoding="utf-8")
    paths["half"].write_text("\n".join(r if i < N_PLAIN // 2 or i >= N_PLAIN else "" for i, r in enumerate(refs))
                             + "\n", encoding="utf-8")
    return paths


def file_system(key: str, name: str, testset: str, path: Path) -> str:
    return f"+systems.{key}={{_target_:harness.systems.file.FileOutputs,name:'{name}',outputs:{{{testset}:'{path}'}}}}"


def tiny_overrides(paths: dict[str, Path], fake_comet: bool = False, evil: bool = True) -> list[str]:
    out = ["experiment=files_only", "testset=[]", "system=[]", "metric=[bleu,chrf]",
           f"+testsets.tiny={{_target_:harness.data.load_jsonl,name:tiny,path:'{paths['testset']}'}}",
           file_system("typos", "typos", "tiny", paths["typos"]), file_system("half", "half-empty", "tiny", paths["half"])]
    if evil:  # a hostile system name, with the same outputs as `typos`
        out.append(file_system("evil", EVIL_NAME, "tiny", paths["typos"]))
    if fake_comet:
        out.append("+metrics.fake={_target_:test_report.FakeComet}")
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A run of the small test set (BLEU, chrF, FakeCOMET), its folder and data."""
    folder = tmp_path_factory.mktemp("tiny")
    paths = make_tiny_data(folder / "data")
    evaluate(compose(tiny_overrides(paths, fake_comet=True)), output_dir=folder / "run")
    return {"run": folder / "run", "paths": paths, "folder": folder}


@pytest.fixture(scope="module")
def flores_runs(tmp_path_factory):
    """Two runs on FLORES-200 devtest (BLEU, chrF): A has the OPUS-MT outputs and copy-source; B the same and a
    noisier system (the opus+bt output with every fourth word dropped)."""
    folder = tmp_path_factory.mktemp("flores")
    noisy = folder / "noisy.txt"
    noisy.write_text("\n".join(" ".join(w for j, w in enumerate(line.split()) if j % 4 != 3)
                               for line in _lines(OPUS_BT, 1012)) + "\n", encoding="utf-8")
    base = ["experiment=files_only", "testset=[flores200_devtest]", "metric=[bleu,chrf]"]
    evaluate(compose(base), output_dir=folder / "a")
    evaluate(compose(base + [file_system("noisy", "noisy-bt", "flores200_devtest", noisy)]), output_dir=folder / "b")
    return folder


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The body rows of the Markdown table under `## heading...`."""
    section = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines[2:]]


def table_header(markdown: str, heading: str) -> list[str]:
    section = markdown.split(f"## {heading}", 1)[1]
    line = next(line for line in section.splitlines() if line.startswith("|"))
    return [c.strip() for c in line.split("|")[1:-1]]


# ------------------------------------------------------------------------------------------ across runs

def test_two_runs_one_row_per_system_and_run_with_intervals_each_run_recorded(flores_runs, tmp_path):
    out = write_report([flores_runs / "a", flores_runs / "b"], tmp_path, formats=["md", "csv", "json"])
    md = out["md"].read_text(encoding="utf-8")
    docs = {name: json.loads((flores_runs / name / "scores.json").read_text()) for name in "ab"}
    header = table_header(md, "flores200_devtest")
    assert header[:5] == ["Rank", "Cluster", "System", "Run", "BLEU"]
    rows = table_rows(md, "flores200_devtest")
    assert len(rows) == 7  # 3 systems in A, 4 in B
    dates = {docs[n]["created"][:16].replace("T", " ") for n in "ab"}
    assert {r[3].split(" (")[0] for r in rows} == dates
    # each row's interval is the one its own run recorded: the bootstrap of a system does not depend on the others
    by_key = {(r[2], r[3]): r for r in rows}
    labels = {run.path.name: run.label for run in load_runs([flores_runs / "a", flores_runs / "b"])}
    for name, doc in docs.items():
        block = doc["significance"]["testsets"]["flores200_devtest"]["BLEU"]["systems"]
        for system, entry in block.items():
            assert by_key[(system, labels[name])][4] == f"{entry['score']:.2f} ± {entry['ci']['half_width']:.2f}"
    # the same outputs in two runs: one cluster, never told apart
    opus = [r for r in rows if r[2] == "vie-eng_opus+bt-2021-04-30"]
    assert opus[0][1] == opus[1][1] and opus[0][0] == opus[1][0] == "1–2"
    assert rows[-1][2] == "copy-source" and rows[-1][0] == "6–7"
    assert "Across runs: intervals and tests recomputed" in md
    assert md.count("## flores200_devtest") == 1 and "## Runs" in md


def test_csv_and_json_hold_numbers_per_row(flores_runs, tmp_path):
    out = write_report([flores_runs / "a", flores_runs / "b"], tmp_path, formats=["csv", "json"])
    table = list(csv.DictReader(io.StringIO(out["csv"].read_text(encoding="utf-8"))))
    assert len(table) == 7 and {"BLEU", "BLEU ±", "BLEU low", "BLEU high", "chrF2"} <= set(table[0])
    doc_b = json.loads((flores_runs / "b" / "scores.json").read_text())
    noisy = next(r for r in doc_b["results"] if r["system"] == "noisy-bt")
    line = next(r for r in table if r["system"] == "noisy-bt")
    assert float(line["BLEU"]) == pytest.approx(noisy["scores"]["BLEU"]["score"], abs=1e-9)
    assert float(line["BLEU low"]) < float(line["BLEU"]) < float(line["BLEU high"])
    data = json.loads(out["json"].read_text(encoding="utf-8"))
    board = data["testsets"][0]
    assert board["significance_source"] == "recomputed" and len(data["runs"]) == 2
    ranks = [r["rank_range"] for r in board["rows"]]
    assert ranks[0] == [1, 2] and all(lo <= hi for lo, hi in ranks)
    assert board["rows"][0]["scores"]["BLEU"]["half_width"] > 0


def test_past_the_shared_matrix_limit_boards_draw_blocks_and_get_the_same_numbers(flores_runs, tmp_path, monkeypatch):
    """Recomputed intervals and ranks across runs share one index matrix only while it is small; past
    SHARED_INDEX_CELLS (a 1M-segment test set) each column draws its resamples block by block: the same ones."""
    folders = [flores_runs / "a", flores_runs / "b"]
    shared = json.loads(write_report(folders, tmp_path / "shared", formats=["json"])["json"].read_text())
    drawn = []
    block_draw = significance.bootstrap_index_blocks

    def counted(*a, **k):
        drawn.append(a)
        return block_draw(*a, **k)
    monkeypatch.setattr(significance, "SHARED_INDEX_CELLS", 0)
    monkeypatch.setattr(significance, "bootstrap_index_blocks", counted)
    blocks = json.loads(write_report(folders, tmp_path / "blocks", formats=["json"])["json"].read_text())
    assert drawn and blocks["testsets"] == shared["testsets"]
    assert blocks["testsets"][0]["significance_source"] == "recomputed"


def test_the_same_folder_twice_is_one_run(flores_runs):
    assert len(find_runs([flores_runs / "a", flores_runs / "a" / "scores.json"])) == 1


# ------------------------------------------------------------------------------------------ LaTeX

def _latex_env_balanced(tex: str) -> bool:
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{(\w+)\}", tex):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            return False
    return not stack


def _unescaped(text: str, char: str) -> int:
    return len(re.findall(r"(?<!\\)" + re.escape(char), text))


def test_latex_is_booktabs_balanced_and_escaped(flores_runs, tmp_path):
    run = load_runs([flores_runs / "a"])[0]
    run.doc = json.loads(json.dumps(run.doc).replace("copy-source", "R&D_v2 100% #1"))
    tex = to_latex(build_boards([run]))
    assert _latex_env_balanced(tex)
    assert tex.count(r"\toprule") == tex.count(r"\midrule") == tex.count(r"\bottomrule") == 1
    assert r"R\&D\_v2 100\% \#1" in tex
    body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0]
    header = tex.split(r"\toprule", 1)[1].split(r"\midrule", 1)[0]
    columns = _unescaped(header, "&")
    for line in body.strip().splitlines():
        assert _unescaped(line, "&") == columns, line
        assert _unescaped(line.replace(r"\%", ""), "%") == 0 and _unescaped(line, "#") == 0
        assert _unescaped(line, "_") == 0
    assert r"$\pm$" in body and "±" not in tex
    spec = re.search(r"\\begin\{tabular\}\{(\w+)\}", tex).group(1)
    assert len(spec) == columns + 1


# ------------------------------------------------------------------------------------------ multirun

def _fake_multirun(root: Path, noisy_paths: list[Path]) -> Path:
    """A multirun folder as Hydra writes it: jobs 0, 1 (run folders) with .hydra/overrides.yaml, sweeping the
    output file of one system; the other systems are the same in both jobs."""
    sweep = root / "multirun_2026-01-01_00-00-00_abcdef"
    for job, path in enumerate(noisy_paths):
        overrides = ["experiment=files_only", "testset=[flores200_devtest]", "metric=[bleu,chrf]",
                     f"+systems.mine={{_target_:harness.systems.file.FileOutputs,name:mine,outputs:"
                     f"{{flores200_devtest:'{path}'}}}}"]
        evaluate(compose(overrides), output_dir=sweep / str(job))
        (sweep / str(job) / ".hydra").mkdir()
        (sweep / str(job) / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(
            overrides[:3] + [f"systems.mine.outputs.flores200_devtest={path.name}"]))
    return sweep


def test_multirun_folder_is_one_table_of_sweep_points(tmp_path):
    variants = []
    for k, drop in enumerate((3, 5)):
        path = tmp_path / f"drop{drop}.txt"
        path.write_text("\n".join(" ".join(w for j, w in enumerate(line.split()) if j % drop != drop - 1)
                                  for line in _lines(OPUS_2020, 1012)) + "\n", encoding="utf-8")
        variants.append(path)
    sweep = _fake_multirun(tmp_path / "results", variants)
    out = write_report([sweep], tmp_path / "report", formats=["md", "csv"])
    md = out["md"].read_text(encoding="utf-8")
    key = "systems.mine.outputs.flores200_devtest"
    assert md.count("## flores200_devtest") == 1
    header = table_header(md, "flores200_devtest")
    assert header[2:5] == ["System", "Run", key]
    rows = table_rows(md, "flores200_devtest")
    assert len(rows) == 5  # the three unchanged systems once, `mine` once per sweep point
    mine = {r[4]: r for r in rows if r[2] == "mine"}
    assert set(mine) == {"drop3.txt", "drop5.txt"} and {r[3] for r in mine.values()} == {"job 0", "job 1"}
    assert all(r[4] == "any" and r[3] == "jobs 0, 1" for r in rows if r[2] != "mine")
    # dropping every fifth word hurts less than every third
    order = [r[4] for r in rows if r[2] == "mine"]
    assert order == ["drop5.txt", "drop3.txt"]
    table = list(csv.DictReader(io.StringIO(out["csv"].read_text(encoding="utf-8"))))
    assert [r[key] for r in table if r["system"] == "mine"] == ["drop5.txt", "drop3.txt"]


# ------------------------------------------------------------------------------------------ HTML: safety

def _script_blocks(page: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.DOTALL)


def test_hostile_segments_and_names_never_become_markup(tiny, tmp_path):
    from harness.report.html import json_for_script

    out = write_report([tiny["run"]], tmp_path, formats=["html", "md"])
    page = out["html"].read_text(encoding="utf-8")
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the data block and the page's script
    for bad in ("<img src=x", "window.__pwned = 1</script>", "<!-- <script>", "onerror=alert(1)>"):
        assert bad not in page
    blocks = _script_blocks(page)
    data = json.loads(blocks[0])
    board = data["testsets"][0]
    assert board["seg"]["src"][-len(HOSTILE):] == HOSTILE  # the data arrive unchanged
    assert EVIL_NAME in board["rows"]
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;co" in page  # the leaderboard shows the name as text
    # the JSON block can never be closed early, whatever the text
    tricky = {"s": "</script><!--<script>\u2028&"}
    encoded = json_for_script(tricky)
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded and json.loads(encoded) == tricky
    assert "\\u2028" in encoded
    # Content-Security-Policy: no network, and only the page's own script (by hash) may run
    csp = re.search(r'http-equiv=.Content-Security-Policy. content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert "http://" not in page and "https://" not in page


# ------------------------------------------------------------------------------------------ HTML: content

def test_html_has_every_section(tiny, tmp_path):
    out = write_report([tiny["run"]], tmp_path, formats=["html"])
    page = out["html"].read_text(encoding="utf-8")
    for section in ("Leaderboard", "Plots", "Buckets", "By source length", "By reference word frequency",
                    "difficulty", "Metric disagreement", "Documents", "Segments", "Translation speed"):
        assert section in page, section
    assert len(re.findall(r'<img class="plot"[^>]+src="data:image/svg\+xml;base64,', page)) == 3
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == sorted(f"tiny-{k}.{ext}" for k in ("distributions", "intervals", "length")
                           for ext in ("png", "svg"))
    assert (tmp_path / "plots" / "tiny-intervals.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bucket_tests_separate_systems_where_they_differ(flores_runs):
    from harness.report.analysis import bucket_analyses, length_buckets

    assert [(b.label, list(b.indices)) for b in length_buckets(["a " * 5, "a " * 12, "a " * 70, "a"])] == \
        [("≤ 10", [0, 3]), ("11–20", [1]), ("> 60", [2])]
    board = build_boards(load_runs([flores_runs / "a"]))[0]
    length = next(a for a in bucket_analyses(board) if a.kind == "source length")
    assert sum(len(b.indices) for b in length.buckets) == 1012
    for cell in length.cells["BLEU"]:
        if cell.block is None:
            assert len(cell.bucket.indices) < 10
            continue
        systems = cell.block["systems"]
        # copy-source is last and significantly worse in every tested bucket
        assert systems["copy-source"]["rank_range"] == [3, 3]
        # the bucket's score is BLEU on the bucket's segments, as sacreBLEU computes it
    bucket = length.cells["BLEU"][2]
    hyps = _lines(OPUS_BT, 1012)
    refs = _lines(FLORES_REF, 1012)
    idx = bucket.bucket.indices
    expected = sacrebleu.corpus_bleu([hyps[i] for i in idx], [[refs[i] for i in idx]]).score
    assert bucket.scores["vie-eng_opus+bt-2021-04-30"] == pytest.approx(expected, abs=1e-9)


def test_metric_disagreement_with_comet_like_metric_and_driving_segments(tiny):
    from harness.report.analysis import disagreements

    board = build_boards(load_runs([tiny["run"]]))[0]
    found, with_averaged = disagreements(board)
    assert with_averaged
    pairs = {(d.x, d.y, d.a, d.b) for d in found}
    # BLEU prefers the half-empty output; the COMET-like metric prefers the clipped words
    assert ("BLEU", "FakeCOMET", "half-empty", "typos") in pairs
    assert not any(d.x == "chrF2" and d.y == "FakeCOMET" for d in found)  # chrF and FakeCOMET agree
    d = next(d for d in found if (d.x, d.a, d.b) == ("BLEU", "half-empty", "typos"))
    assert d.diff_x > 0 and d.diff_y < 0 and len(d.segments) == 5
    # no segment has the two disagree (half-empty is exact, then empty): BLEU's verdict comes from aggregation
    # (its brevity penalty over the corpus), so the drivers are where FakeCOMET prefers typos most: the empty ones
    assert not d.segment_level
    assert all(N_PLAIN // 2 <= k < N_PLAIN and dy < 0 for k, _, dy in d.segments)


def test_without_comet_string_metrics_are_compared_and_the_page_says_so(tmp_path):
    from harness.report.analysis import disagreements

    paths = make_tiny_data(tmp_path / "data")
    evaluate(compose(tiny_overrides(paths, evil=False)), output_dir=tmp_path / "run")
    board = build_boards(load_runs([tmp_path / "run"]))[0]
    found, with_averaged = disagreements(board)
    assert not with_averaged
    assert [(d.x, d.y, d.a, d.b) for d in found] == [("BLEU", "chrF2", "half-empty", "typos")]
    page = write_report([tmp_path / "run"], tmp_path / "out", formats=["html"], plot_files=False)["html"] \
        .read_text(encoding="utf-8")
    assert "COMET is absent" in page and 'class="seglink"' in page


def test_document_scores_are_each_documents_corpus_score(tiny):
    from harness.report.analysis import document_scores, spread

    board = build_boards(load_runs([tiny["run"]]))[0]
    docs = document_scores(board)
    assert docs.documents == ["doc-a", "doc-b"] and docs.sizes == [60, 60 + len(HOSTILE)]
    rows = [json.loads(line) for line in tiny["paths"]["testset"].read_text(encoding="utf-8").split("\n") if line]
    typos = tiny["paths"]["typos"].read_text(encoding="utf-8").split("\n")
    for d, name in enumerate(docs.documents):
        idx = [i for i, r in enumerate(rows) if r["doc_id"] == name]
        expected = sacrebleu.corpus_bleu([typos[i] for i in idx], [[rows[i]["ref"] for i in idx]]).score
        assert docs.scores["BLEU"]["typos"][d] == pytest.approx(expected, abs=1e-9)
    # half-empty is exact on doc-a and empty on (most of) doc-b: a spread of most of the scale
    s = spread(docs.scores["BLEU"]["half-empty"])
    assert s["max"] == pytest.approx(100) and s["min"] < 20 and spread([1.0]) is None


def test_speed_table_lists_systems_that_translated(tiny):
    from harness.report.analysis import speed_rows

    runs = load_runs([tiny["run"]])
    assert speed_rows(build_boards(runs)) == []  # file outputs: reading times, not translation
    doc = runs[0].doc
    doc["systems"]["typos"]["runtime"] = {"device": "cpu"}
    next(r for r in doc["results"] if r["system"] == "typos")["translation"].update(
        {"seconds": 4.0, "translated": 124, "cached": 0, "segments_per_second": 31.0})
    rows = speed_rows(build_boards(runs))
    assert [(r["system"], r["segments_per_second"], r["translated"]) for r in rows] == [("typos", 31.0, 124)]


# ------------------------------------------------------------------------------------------ commands

def test_report_command_writes_every_format_and_names_a_bad_path(flores_runs, tmp_path, capsys):
    from harness.cli import main

    assert main(["report", str(flores_runs / "a"), "-o", str(tmp_path / "r"), "-f", "md", "tex"]) == 0
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["leaderboard.md", "leaderboard.tex"]
    assert main(["report", str(tmp_path / "nowhere"), "-o", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert "nowhere does not exist" in err and err.count("\n") == 1
    assert main(["report", str(flores_runs / "a"), "-o", str(tmp_path / "r3"), "--rank-by", "COMET"]) == 2
    assert "no such metric" in capsys.readouterr().err


def test_run_writes_report_html_unless_switched_off(tmp_path, monkeypatch):
    from harness.cli import main

    paths = make_tiny_data(tmp_path / "data")
    overrides = tiny_overrides(paths, evil=False)
    for switch, expected in (([], True), (["report=false"], False)):
        monkeypatch.setenv("MT_HARNESS_RESULTS", str(tmp_path / f"results{len(switch)}"))
        assert main(["run"] + overrides + switch) == 0
        run_dir = next((tmp_path / f"results{len(switch)}" / "files-only").glob("2*"))
        assert (run_dir / "report.html").is_file() == expected
        if expected:
            assert "half-empty" in (run_dir / "report.html").read_text(encoding="utf-8")
