import json
import os
import subprocess
import sys

import pytest
from conftest import (
    FLORES_REF,
    OPUS_2020,
    OPUS_BT,
    PUBLISHED,
    ROOT,
    count_statistics_calls,
)

from harness.config import build_metric, compose
from harness.errors import ConfigError, HarnessError, UnknownNameError
from harness.run import evaluate


@pytest.fixture(scope="module")
def files_only_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    return evaluate(compose(["experiment=files_only"]), output_dir=out), out


def test_run_reproduces_published_scores(files_only_run):
    run, _ = files_only_run
    for system, published in PUBLISHED.items():
        r = run.get("flores200_devtest", system)
        for metric, value in published.items():
            assert round(r.scores[metric].score, 2) == value


def test_results_folder_has_every_file(files_only_run):
    run, out = files_only_run
    assert {p.name for p in out.iterdir()} >= {"config.yaml", "hyps", "segments.jsonl", "scores.json", "leaderboard.md"}
    hyp_file = out / "hyps" / "flores200_devtest" / "vie-eng_opus+bt-2021-04-30.txt"
    assert hyp_file.read_bytes() == OPUS_BT.read_bytes()
    rows = [json.loads(line) for line in (out / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 * 1012 + 52  # FLORES: 3 systems; the seed article: copy-source only (files are FLORES-only)
    first = rows[0]
    assert set(first) == {"testset", "system", "seg_id", "doc_id", "hyp", "scores"}
    assert set(first["scores"]) == {"BLEU", "chrF2", "chrF2++", "TER"}
    doc = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert doc["packages"]["sacrebleu"] and "commit" in doc["harness"] and doc["created"]
    assert doc["testsets"]["flores200_devtest"]["segments"] == 1012
    res = {(r["system"]): r for r in doc["results"]}
    bleu = res["vie-eng_opus-2020-09-10"]["scores"]["BLEU"]
    assert bleu["signature"].startswith("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert "hyp_len = 24745 ref_len = 24721" in bleu["details"]
    assert "experiment_name: files-only" in (out / "config.yaml").read_text(encoding="utf-8")


def test_segment_scores_average_is_consistent_with_statistics(files_only_run):
    run, _ = files_only_run
    r = run.get("flores200_devtest", "vie-eng_opus-2020-09-10")
    assert r.segment_scores["TER"].shape == (1012,)
    # corpus TER is total edits over total reference length, i.e. a length-weighted mean of segment TER
    stats = r.statistics["TER"]
    weighted = (r.segment_scores["TER"] * stats[:, 1]).sum() / stats[:, 1].sum()
    assert weighted == pytest.approx(r.scores["TER"].score)


def test_leaderboard_ranks_systems_and_shows_signatures(files_only_run):
    _, out = files_only_run
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    flores = md.split("## flores200_devtest")[1].split("\n## ")[0]
    rows = [line for line in flores.splitlines() if line.startswith("| ") and line[2].isdigit()]
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    # Rank, Cluster, System: the three systems differ significantly, so each has its own rank and cluster
    assert [c[:3] for c in cells] == [["1", "1", "vie-eng_opus+bt-2021-04-30"], ["2", "2", "vie-eng_opus-2020-09-10"],
                                      ["3", "3", "copy-source"]]
    assert [c.split(" ± ")[0] for c in cells[0][3:6]] == ["27.31", "54.88", "52.87"]
    assert all(" ± " in c for row in cells for c in row[3:7])  # every score has its confidence interval
    assert "± is the 95% confidence interval (1,000 bootstrap resamples, seed 12345)." in flores
    assert "`BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" in md


def test_unloadable_system_is_not_run_and_the_rest_completes(tmp_path, results_env):
    run = evaluate(compose(["system=[copy_source,opus_mt_vi_en]", "metric=[bleu]"]), output_dir=tmp_path / "o")
    bad = run.get("flores200_devtest", "opus-mt-vi-en")
    assert not bad.ok and "Helsinki-NLP/opus-mt-vi-en" in bad.reason
    assert run.get("flores200_devtest", "copy-source").ok
    md = (tmp_path / "o" / "leaderboard.md").read_text(encoding="utf-8")
    # one footnote for both test sets: the model cannot load, whatever the test set
    assert md.count("| – | – | opus-mt-vi-en | – | not run [1] |") == 2
    assert "1. opus-mt-vi-en on flores200_devtest, seed_article: cannot load" in md and "\n2. " not in md


def test_strict_turns_a_not_run_system_into_a_failure(results_env):
    with pytest.raises(HarnessError, match="opus-mt-vi-en.*strict=true"):
        evaluate(compose(["system=[copy_source,opus_mt_vi_en]", "metric=[bleu]", "strict=true"]), write=False)


def test_bad_output_file_is_not_run_with_both_counts(tmp_path, results_env):
    short = tmp_path / "short.txt"
    short.write_text("only one line\n", encoding="utf-8")
    run = evaluate(compose(["system=[file]", f"systems.file.outputs={{flores200_devtest:{short}}}", "metric=[bleu]"]),
                   write=False)
    r = run.get("flores200_devtest", "file")
    assert not r.ok and "has 1 lines" in r.reason and "1012 segments" in r.reason


def test_empty_hypotheses_are_scored_counted_and_reported(tmp_path, results_env):
    lines = OPUS_2020.read_text(encoding="utf-8").split("\n")[:1012]
    lines[0] = lines[5] = ""
    hyp = tmp_path / "holes.txt"
    hyp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = evaluate(compose(["system=[file]", f"systems.file.outputs={{flores200_devtest:{hyp}}}", "metric=[bleu]"]),
                   output_dir=tmp_path / "o")
    r = run.get("flores200_devtest", "file")
    assert r.n_empty == 2 and r.segment_scores["BLEU"][0] == 0.0
    doc = json.loads((tmp_path / "o" / "scores.json").read_text(encoding="utf-8"))
    assert doc["results"][0]["empty_hypotheses"] == 2
    assert "2 empty hypotheses" in (tmp_path / "o" / "leaderboard.md").read_text(encoding="utf-8")


def test_rank_by_lower_is_better_metric(results_env):
    run = evaluate(compose(["experiment=files_only", "metric=[bleu,ter]", "rank_by=TER"]), write=False)
    from harness.report import ranked
    from harness.results import run_document

    order = [r["system"] for r in ranked(run_document(run), "flores200_devtest")]
    assert order == ["vie-eng_opus+bt-2021-04-30", "vie-eng_opus-2020-09-10", "copy-source"]


def test_unknown_rank_by_and_duplicate_names_are_config_errors(results_env):
    with pytest.raises(UnknownNameError, match="Did you mean 'chrF2'"):
        evaluate(compose(["experiment=files_only", "rank_by=chrf2"]), write=False)
    with pytest.raises(ConfigError, match="two systems share a name"):
        evaluate(compose(["system=[copy_source,file]", "systems.file.outputs={}", "systems.file.name=copy-source"]),
                 write=False)


def test_string_metric_run_imports_neither_torch_nor_comet(tmp_path):
    code = ("import sys; from harness.config import compose; from harness.run import evaluate; "
            "evaluate(compose(['experiment=files_only', 'metric=[bleu,chrf,ter]']), write=False); "
            "print(sorted(m for m in ('torch', 'transformers', 'comet', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "MT_HARNESS_CACHE": str(tmp_path)})
    assert out.stdout.strip() == "[]"


def test_statistics_cache_computes_only_what_is_new(tmp_path, monkeypatch):
    from harness.metrics.sacrebleu_metrics import BLEU

    monkeypatch.setenv("MT_HARNESS_CACHE", str(tmp_path / "cache"))
    calls = count_statistics_calls(monkeypatch, BLEU)
    base = ["system=[opus_2020_09_10,copy_source]", "metric=[bleu]", "workers=1"]  # counted in this process
    first = evaluate(compose(base), write=False)
    assert sum(calls) == 2 * 1012 + 52  # and copy-source on the 52 segments of the seed article
    calls.clear()
    again = evaluate(compose(["system=[opus_2020_09_10,copy_source,opus_bt_2021_04_30]", "metric=[bleu]", "workers=1"]),
                     write=False)
    # only the added system (a string metric caches blocks of segments, so all 1,012 of its segments)
    assert sum(calls) == 1012
    for name in ("vie-eng_opus-2020-09-10", "copy-source"):
        cached, fresh = again.get("flores200_devtest", name), first.get("flores200_devtest", name)
        assert cached.scores["BLEU"] == fresh.scores["BLEU"]
        assert (cached.statistics["BLEU"] == fresh.statistics["BLEU"]).all()
    calls.clear()
    evaluate(compose(base + ["metrics.bleu.tokenize=intl"]), write=False)
    assert sum(calls) == 2 * 1012 + 52  # another signature: nothing reused


def test_interrupted_statistics_resume_from_the_last_stored_chunk(tmp_path):
    from conftest import FLORES_REF, FLORES_SRC

    from harness.cache import STATISTICS, STATISTICS_BLOCK, Cache
    from harness.data import load_parallel
    from harness.metric_statistics import segment_statistics

    ts = load_parallel("flores", FLORES_SRC, FLORES_REF)
    hyps = OPUS_2020.read_text(encoding="utf-8").split("\n")[:1012]
    cache = Cache(tmp_path / "c.sqlite")

    flaky = build_metric("chrf")
    calls = []
    compute = flaky.segment_statistics

    def interrupted_on_the_third_chunk(hyps, refs, srcs=None):
        calls.append(len(hyps))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return compute(hyps, refs, srcs)

    flaky.segment_statistics = interrupted_on_the_third_chunk
    with pytest.raises(KeyboardInterrupt):
        segment_statistics(flaky, ts, hyps, cache, chunk_size=300)
    assert cache.count(STATISTICS_BLOCK) == 2  # two blocks of 300 segments
    assert cache.count(STATISTICS) == 0  # a string metric keeps no row per segment
    stats, computed = segment_statistics(build_metric("chrf"), ts, hyps, cache, chunk_size=300)
    assert computed == 1012 - 600
    assert (stats == build_metric("chrf").segment_statistics(hyps, ts.references)).all()


def test_a_run_folder_reads_back_and_loads_into_pandas(files_only_run):
    """load_run gives back the statistics the run scored; segments_frame is one tidy DataFrame."""
    from harness.results import load_run, segments_frame

    run, out = files_only_run
    back = load_run(out)
    assert [m.name for m in back.metrics] == [m.name for m in run.metrics]
    for r in run.results:
        if r.ok:
            again = back.get(r.testset, r.system)
            assert again.hypotheses == r.hypotheses
            assert all((again.statistics[m] == r.statistics[m]).all() for m in r.statistics)
            assert again.scores["BLEU"].score == r.scores["BLEU"].score
    frame = segments_frame(out)
    assert list(frame.columns[:9]) == ["testset", "system", "segment", "seg_id", "doc_id", "src", "ref", "refs", "hyp"]
    assert len(frame) == 3 * 1012 + 52
    opus = frame[(frame.system == "vie-eng_opus-2020-09-10")]
    assert opus.segment.tolist() == list(range(1012)) and opus.seg_id.iloc[0] == "1"
    assert opus.ref.tolist() == FLORES_REF.read_text(encoding="utf-8").split("\n")[:1012]
    rows = [json.loads(line) for line in (out / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    expected = [row["scores"]["chrF2"] for row in rows if row["system"] == "vie-eng_opus-2020-09-10"]
    assert opus.chrF2.tolist() == expected
