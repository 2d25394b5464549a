import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FLORES_REF, OPUS_2020, OPUS_BT, PUBLISHED, ROOT, modules_loaded_by_cli

from harness.cli import main


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})})


def test_score_json_gives_published_figures_with_signatures(capsys):
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), str(OPUS_BT), "-m", "bleu", "chrf",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # the run document, as in scores.json
    assert doc["testsets"]["score"]["segments"] == 1012
    for path, system in [(OPUS_2020, "vie-eng_opus-2020-09-10"), (OPUS_BT, "vie-eng_opus+bt-2021-04-30")]:
        scores = next(r["scores"] for r in doc["results"] if r["system"] == str(path))
        assert round(scores["BLEU"]["score"], 2) == PUBLISHED[system]["BLEU"]
        assert round(scores["chrF2"]["score"], 2) == PUBLISHED[system]["chrF2"]
        assert scores["BLEU"]["signature"].startswith("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|")
        assert scores["chrF2"]["signature"].startswith("chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|")


def test_score_text_single_system_is_sacrebleu_style(capsys):
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), "-m", "bleu", "chrf++"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("BLEU|nrefs:1|") and " = 25.34 58.3/31.5/19.0/11.8 (BP = 1.000" in out[0]
    assert out[1].startswith("chrF2++|") and out[1].endswith(" = 50.66")


def test_score_line_count_mismatch_names_both_files_and_counts(tmp_path, capsys):
    hyp = tmp_path / "short.txt"
    hyp.write_text("a\nb\n", encoding="utf-8")
    assert main(["score", "-r", str(FLORES_REF), str(hyp)]) == 2
    err = capsys.readouterr().err
    assert f"{hyp} has 2 lines" in err and "1012 segments" in err and str(FLORES_REF) in err


def test_score_unknown_metric_suggests_and_metric_before_files_is_explained(capsys):
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), "-m", "chrf+"]) == 2
    assert "Did you mean 'chrf++' or 'chrf'" in capsys.readouterr().err
    assert main(["score", "-r", str(FLORES_REF), "-m", "bleu", str(OPUS_2020)]) == 2
    assert "put `-m METRIC...` after the hypothesis files" in capsys.readouterr().err


def test_score_non_utf8_hypothesis_names_file_and_offset(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\n")
    assert main(["score", "-r", str(FLORES_REF), str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "byte offset 3" in err


def test_run_command_end_to_end(tmp_path, sacrebleu_intervals):
    res = _cli("run", "experiment=files_only", "metric=[bleu,chrf]", env={"MT_HARNESS_RESULTS": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    ci = sacrebleu_intervals["vie-eng_opus+bt-2021-04-30"]
    assert f"| 1 | 1 | vie-eng_opus+bt-2021-04-30 | 27.31 ± {ci['BLEU']:.2f} | 54.88 ± {ci['chrF2']:.2f} |" in res.stdout
    latest = tmp_path / "files-only" / "latest"
    assert (latest / "scores.json").exists() and (latest / "run.log").exists()


def test_run_unknown_system_name_suggests_the_close_one(tmp_path):
    res = _cli("run", "system=[copy_sorce]", env={"MT_HARNESS_RESULTS": str(tmp_path)})
    assert res.returncode == 2
    assert "unknown system config 'copy_sorce'. Did you mean 'copy_source'?" in res.stderr
    assert not any(tmp_path.iterdir())


def test_help_and_score_import_neither_torch_nor_comet():
    code = ("import sys, contextlib, io\nfrom harness.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['--help'])\n    except SystemExit: pass\n"
            f"    main(['score', '-r', {str(FLORES_REF)!r}, {str(OPUS_2020)!r}, '-m', 'bleu', 'ter'])\n"
            "print(sorted(m for m in ('torch', 'transformers', 'comet', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "mt-harness"
    assert script.exists(), "pip install -e . should install the mt-harness console script"
    res = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("mt-harness ")


def test_list_shows_groups_and_descriptions(capsys):
    assert main(["list", "system"]) == 0
    out = capsys.readouterr().out
    assert "opus_mt_vi_en" in out and "Marian/OPUS-MT" in out


def test_score_takes_sacrebleus_i_and_standard_input(tmp_path):
    via_i = _cli("score", "-r", FLORES_REF, "-i", OPUS_2020, "-m", "bleu")
    via_arg = _cli("score", "-r", FLORES_REF, OPUS_2020, "-m", "bleu")
    piped = subprocess.run([sys.executable, "-m", "harness", "score", "-r", str(FLORES_REF), "-m", "bleu"],
                           input=OPUS_2020.read_text(encoding="utf-8"), capture_output=True, text=True, cwd=ROOT)
    assert via_i.returncode == via_arg.returncode == piped.returncode == 0, piped.stderr
    assert via_i.stdout == via_arg.stdout == piped.stdout and " = 25.34 " in piped.stdout


def test_score_warns_when_a_hypothesis_is_a_reference_file(capsys, caplog):
    """`-r ref1 ref2 hyp` reads ref2 as a hypothesis: it scores 100, and the user is told why."""
    with caplog.at_level("WARNING"):
        assert main(["score", "-r", str(FLORES_REF), str(FLORES_REF), str(OPUS_2020), "-m", "bleu"]) == 0
    assert f"hypothesis file {FLORES_REF} is identical to reference {FLORES_REF}" in caplog.text
    assert "repeat -r for more" in caplog.text


def test_score_writes_segment_level_scores(tmp_path, capsys):
    import sacrebleu

    out = tmp_path / "segments.tsv"
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), str(OPUS_BT), "-m", "bleu", "chrf",
                 "--segments", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["system", "segment", "seg_id", "BLEU", "chrF2"] and len(rows) == 1 + 2 * 1012
    refs, hyps = FLORES_REF.read_text(encoding="utf-8").split("\n"), OPUS_BT.read_text(encoding="utf-8").split("\n")
    row = rows[1 + 1012 + 9]  # opus+bt, segment 10
    assert row[:3] == [str(OPUS_BT), "10", "10"]
    assert float(row[3]) == pytest.approx(sacrebleu.sentence_bleu(hyps[9], [refs[9]]).score, abs=1e-4)
    assert float(row[4]) == pytest.approx(sacrebleu.sentence_chrf(hyps[9], [refs[9]]).score, abs=1e-4)
    capsys.readouterr()
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), "-m", "bleu", "--segments", "-"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "system\tsegment\tseg_id\tBLEU" and len(printed) == 1013


def test_the_terminal_shows_what_matters_once(tmp_path):
    """Log lines on stderr (one per system that did not run, one cache summary), the leaderboard on stdout
    without Markdown escapes, and no progress bars when stderr is not a terminal."""
    env = {"MT_HARNESS_RESULTS": str(tmp_path / "results"), "MT_HARNESS_CACHE": str(tmp_path / "cache")}
    args = ["run", "system=[opus_2020_09_10,opus_bt_2021_04_30,opus_mt_vi_en]", "metric=[bleu,chrf]",
            "significance.baseline=vie-eng_opus-2020-09-10", "report=false"]
    _cli(*args, env=env)
    res = _cli(*args, env=env)  # the second run finds every statistic in the cache
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("opus-mt-vi-en not run") == 1  # two test sets, one line
    assert res.stderr.count("from the cache") == 1
    assert "it/s" not in res.stderr and "seg/s" not in res.stderr  # no progress bars off a terminal
    assert "\\*" not in res.stdout and "* differs from the baseline vie-eng_opus-2020-09-10" in res.stdout
    md = next((tmp_path / "results" / "default").glob("*/leaderboard.md")).read_text(encoding="utf-8")
    assert "\\* differs from the baseline" in md  # the Markdown file keeps its escape


def test_score_with_string_metrics_imports_neither_hydra_nor_the_aligner():
    """A warm re-score takes about half a second, most of it imports: building metrics from their flat configs
    needs no Hydra, and only the invoked command's arguments are built (no aligner for `score`)."""
    argv = ["score", "-r", str(FLORES_REF), str(OPUS_2020), "-m", "bleu", "chrf", "ter"]
    assert modules_loaded_by_cli(argv, ("hydra", "harness.align.pipeline", "harness.compare")) == (0, [])
