"""COMET metrics on tiny checkpoints built locally (regression = wmt22-comet-da style, unified = cometkiwi style,
xcomet = XCOMET style), compared with unbabel-comet's own `predict` on the same samples."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from harness.cache import Cache
from harness.config import build_metric, compose
from harness.data import build_testset
from harness.errors import ConfigError, HarnessError, ModelUnavailableError
from harness.metric_statistics import segment_statistics_and_details
from harness.metrics.comet import COMET, token_ids
from harness.metrics.comet_checkpoint import file_sha256
from harness.run import evaluate, score_all
from harness.run_result import SystemResult
from harness.testing.tiny_models import CORPUS

pytestmark = pytest.mark.slow

SRCS = CORPUS[:8]
REFS = CORPUS[8:16]
SYSTEMS = {  # three systems; the first repeats references and a source, the others are new text
    "shifted": CORPUS[9:16] + CORPUS[:1],
    "lower": [s.lower() for s in REFS],
    "reversed": [" ".join(s.split()[::-1]) for s in REFS],
}


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory, torch_single_thread):
    from harness.testing.tiny_comet import build_comet_checkpoint, build_xlmr_encoder

    root = tmp_path_factory.mktemp("tiny_comet")
    encoder = build_xlmr_encoder(root / "encoder")
    short = build_xlmr_encoder(root / "short-encoder", max_position_embeddings=40)  # inputs cut at 36 tokens
    out = {kind: build_comet_checkpoint(root / kind, kind, encoder=encoder)
           for kind in ("regression", "unified", "xcomet")}
    out["short"] = build_comet_checkpoint(root / "short", "regression", encoder=short)
    out["short-unified"] = build_comet_checkpoint(root / "short-unified", "unified", encoder=short)
    out["encoder"], out["short-encoder"] = encoder, short
    return out


def predict(ckpt, samples, batch_size=4):
    import comet

    model = comet.load_from_checkpoint(str(ckpt / "checkpoints" / "model.ckpt"), local_files_only=True)
    return model.predict(samples, batch_size=batch_size, gpus=0, progress_bar=False)


def triples(hyps, refs=REFS, srcs=SRCS):
    return [{"src": s, "mt": h, "ref": r} for s, h, r in zip(srcs, hyps, refs)]


def metric(ckpt, **kw):
    """A COMET metric built from configs/metric/comet.yaml (as runs build it) on a local checkpoint."""
    return build_metric("comet", {"model": str(ckpt), "batch_size": kw.pop("batch_size", 4), "progress_bar": False,
                                  **kw})


# ------------------------------------------------------------------------------------- scores and reuse

def test_regression_scores_match_predict_with_n_plus_2_encoder_passes(ckpts):
    m = metric(ckpts["regression"])
    for hyps in SYSTEMS.values():
        stats = m.segment_statistics(hyps, [(r,) for r in REFS], SRCS)
        expected = predict(ckpts["regression"], triples(hyps)).scores
        assert np.abs(stats[:, 0] - expected).max() < 1e-6
        assert (stats[:, 1] == 1).all()
    # sources and references once, then only each system's new hypotheses; "shifted" repeats known text
    new_hyps = sum(len(set(h) - set(SRCS) - set(REFS)) for h in SYSTEMS.values())
    assert m.counts.sequences == len(SRCS) + len(REFS) + new_hyps
    assert m.counts.passes == len(SYSTEMS) + 2 - 1  # "shifted" needed no hypothesis pass at all
    assert m.runtime_info()["shares_embeddings"] is True


def test_joint_path_without_reuse_also_matches_predict(ckpts):
    m = metric(ckpts["regression"], reuse_embeddings=False)
    hyps = SYSTEMS["reversed"]
    stats = m.segment_statistics(hyps, [(r,) for r in REFS], SRCS)
    assert not m.runtime_info()["shares_embeddings"]
    assert np.abs(stats[:, 0] - predict(ckpts["regression"], triples(hyps)).scores).max() < 1e-6
    assert m.counts.sequences == 3 * len(hyps)


def test_chunked_calls_give_the_scores_of_one_call(ckpts):
    hyps = SYSTEMS["lower"]
    whole = metric(ckpts["regression"]).segment_statistics(hyps, [(r,) for r in REFS], SRCS)
    m = metric(ckpts["regression"], batch_size=2)
    parts = [m.segment_statistics(hyps[i:i + 3], [(r,) for r in REFS[i:i + 3]], SRCS[i:i + 3])
             for i in range(0, len(hyps), 3)]
    assert np.abs(np.vstack(parts) - whole).max() < 1e-6


def test_several_references_average_the_per_reference_scores(ckpts):
    other_refs = [r.upper() for r in REFS]
    hyps = SYSTEMS["reversed"]
    expected = (np.array(predict(ckpts["regression"], triples(hyps, REFS)).scores)
                + np.array(predict(ckpts["regression"], triples(hyps, other_refs)).scores)) / 2
    for reuse in (True, False):
        stats = metric(ckpts["regression"], reuse_embeddings=reuse).segment_statistics(
            hyps, list(zip(REFS, other_refs)), SRCS)
        assert np.abs(stats[:, 0] - expected).max() < 1e-6


def test_reference_free_unified_model_matches_predict(ckpts):
    m = metric(ckpts["unified"], name="CometKiwi", use_references=False)
    assert not m.needs_references and "nrefs:0" in m.signature()
    hyps = SYSTEMS["reversed"]
    stats = m.segment_statistics(hyps, [(r,) for r in REFS], SRCS)
    expected = predict(ckpts["unified"], [{"src": s, "mt": h} for s, h in zip(SRCS, hyps)]).scores
    assert np.abs(stats[:, 0] - expected).max() < 1e-6


def test_xcomet_scores_and_error_spans_match_predict(ckpts):
    m = metric(ckpts["xcomet"], name="xCOMET", error_spans=True)
    hyps = SYSTEMS["lower"]
    stats, details = m.segment_statistics_with_details(hyps, [(r,) for r in REFS], SRCS)
    expected = predict(ckpts["xcomet"], triples(hyps))
    assert np.abs(stats[:, 0] - expected.scores).max() < 1e-6
    spans = [d["error_spans"] for d in details]
    assert any(spans), "the tiny model should tag some subwords as errors"
    for ours, theirs in zip(spans, expected.metadata.error_spans):
        assert [(s["text"], s["severity"], s["start"], s["end"]) for s in ours] == \
               [(s["text"], s["severity"], s["start"], s["end"]) for s in theirs]
        assert np.allclose([s["confidence"] for s in ours], [s["confidence"] for s in theirs], atol=1e-6)
    json.dumps(details)  # stored in the cache and segments.jsonl as JSON


def test_checkpoint_and_setting_mismatches_are_config_errors(ckpts):
    refs = [(r,) for r in REFS]
    with pytest.raises(ConfigError, match="reference-free.*cometkiwi"):
        metric(ckpts["unified"]).segment_statistics(SRCS, refs, SRCS)
    with pytest.raises(ConfigError, match="needs references"):
        metric(ckpts["regression"], use_references=False).segment_statistics(SRCS, refs, SRCS)
    with pytest.raises(ConfigError, match="no word-level outputs.*error_spans=false"):
        metric(ckpts["regression"], error_spans=True).segment_statistics(SRCS, refs, SRCS)
    with pytest.raises(ConfigError, match="precision"):
        build_metric("comet", {"precision": "half"})


# ---------------------------------------------------------------------------------------------- truncation

def _too_long(tok, text, limit):
    return len(tok(text)["input_ids"]) > limit


def test_truncation_is_counted_and_reported(ckpts):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ckpts["short-encoder"])
    limit = 40 - 4  # max_position_embeddings - 4, as comet's Encoder.prepare_sample cuts
    hyps = ["Hi.", CORPUS[10] + " " + CORPUS[11], "Hello there.", " ".join(CORPUS[8:12])]
    srcs, refs = ["Chào.", "Xin chào.", " ".join(CORPUS[:4]), "Chào bạn."], ["Hi.", "Hello.", "Hi there.", "Hey."]
    expected = [any(_too_long(tok, t, limit) for t in seg) for seg in zip(hyps, srcs, refs)]
    assert 0 < sum(expected) < len(hyps)
    m = metric(ckpts["short"])
    stats = m.segment_statistics(hyps, [(r,) for r in refs], srcs)
    assert stats[:, 2].astype(bool).tolist() == expected
    score = m.corpus_score(stats)
    assert f"|trunc:{sum(expected)}|" in score.signature and "truncated" in score.details
    assert "trunc" not in m.signature()  # the cache key holds settings only
    # the joint (unified) path: each part fits, but mt and src joined exceed the limit
    joint = metric(ckpts["short-unified"], use_references=False)
    half = next(t for t in CORPUS if not _too_long(tok, t, limit) and len(tok(t)["input_ids"]) > limit // 2 + 2)
    hyps, srcs = [half, "Hi."], [half, "Chào."]
    stats = joint.segment_statistics(hyps, [("x",), ("x",)], srcs)
    model = joint.load()
    for (hyp, src), flag in zip(zip(hyps, srcs), stats[:, 2]):
        (joined,) = model.prepare_sample([{"mt": hyp, "src": src}], stage="predict")
        untruncated = len(tok(hyp)["input_ids"]) + len(tok(src)["input_ids"])  # <s> mt </s></s> src </s>
        assert bool(flag) == (joined["attention_mask"].sum().item() < untruncated)
    assert stats[:, 2].tolist() == [1.0, 0.0]


def test_token_ids_are_those_of_comet_prepare_sample(ckpts):
    import comet

    model = comet.load_from_checkpoint(str(ckpts["short"] / "checkpoints" / "model.ckpt"), local_files_only=True)
    texts = ["Hi.", " ".join(CORPUS[:4]), CORPUS[3]]
    ids, cut = token_ids(model.encoder.tokenizer, texts, model.encoder.max_positions - 2)
    prepared = model.encoder.prepare_sample(texts)
    for row, mask, ours in zip(prepared["input_ids"], prepared["attention_mask"], ids):
        assert row[mask.bool()].tolist() == ours
    assert cut.tolist() == [False, True, False]


# ----------------------------------------------------------------------------------- signature and loading

def test_signature_needs_no_model_and_pins_the_checkpoint_content(ckpts, tmp_path):
    folder = shutil.copytree(ckpts["regression"], tmp_path / "copy", ignore=shutil.ignore_patterns("encoder"))
    by_folder, by_file = metric(folder), metric(folder / "checkpoints" / "model.ckpt")
    sig = by_folder.signature()
    assert by_folder._model is None and by_file._model is None
    assert sig == by_file.signature()  # folder and .ckpt path name the same content
    assert sig.startswith("COMET|model:copy@sha256:") and "|nrefs:1|prec:fp32|bs:4|comet:" in sig
    assert "|transformers:" in sig and "|torch:" in sig
    assert sig.split("|")[1].split("@")[1] == metric(ckpts["regression"]).signature().split("|")[1].split("@")[1]
    with (folder / "checkpoints" / "model.ckpt").open("ab") as f:
        f.write(b"\0")  # other content: another identity, so no cached statistics are reused
    assert metric(folder).signature() != sig


def test_file_hash_is_remembered_by_path_size_and_mtime(tmp_path):
    path = tmp_path / "model.ckpt"
    path.write_bytes(b"a" * 1000)
    memo = Cache(tmp_path / "memo.sqlite")
    first = file_sha256(path, memo)
    stat = path.stat()
    path.write_bytes(b"b" * 1000)  # same size; put the modification time back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_sha256(path, memo) == first  # not read again
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert file_sha256(path, memo) != first


def test_hub_id_loads_offline_from_the_hf_cache_and_pins_the_snapshot(ckpts, tmp_path, monkeypatch):
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--Unbabel--wmt22-comet-da"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(ckpts["regression"], repo / "snapshots" / commit, ignore=shutil.ignore_patterns("encoder"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    m = metric("Unbabel/wmt22-comet-da")
    assert m.signature().startswith("COMET|model:Unbabel/wmt22-comet-da@0123456789ab|")
    hyps = SYSTEMS["lower"]
    stats = m.segment_statistics(hyps, [(r,) for r in REFS], SRCS)  # through comet.download_model, offline
    assert m.runtime_info()["checkpoint"].startswith(str(repo / "snapshots" / commit))
    assert np.abs(stats[:, 0] - predict(ckpts["regression"], triples(hyps)).scores).max() < 1e-6


def test_legacy_checkpoint_names_are_pinned_by_content(ckpts, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # comet keeps wmt20/wmt21 models in ~/.cache/torch/unbabel_comet
    shutil.copytree(ckpts["regression"], tmp_path / ".cache" / "torch" / "unbabel_comet" / "wmt20-comet-da",
                    ignore=shutil.ignore_patterns("encoder"))
    assert metric("wmt20-comet-da").signature().startswith("COMET|model:wmt20-comet-da@sha256:")
    assert metric("wmt20-comet-da").signature().split("@")[1] == metric(ckpts["regression"]).signature().split("@")[1]


def test_unreachable_hub_names_the_checkpoint_and_the_fix():
    m = build_metric("comet")  # the hub id in the config, neither cached nor reachable
    assert "@unresolved|" in m.signature()  # neither cached nor reachable: nothing to pin yet
    with pytest.raises(ModelUnavailableError) as e:
        m.segment_statistics(["Hello."], [("Hi.",)], ["Chào."])
    msg = str(e.value)
    assert "'Unbabel/wmt22-comet-da'" in msg and "HF_HUB_OFFLINE=1" in msg
    assert "metrics.comet.model=/models/wmt22-comet-da" in msg and "KeyError" not in msg


def test_encoder_missing_offline_is_explained_and_a_local_copy_fixes_it(ckpts, tmp_path):
    import torch
    import yaml

    folder = shutil.copytree(ckpts["regression"], tmp_path / "hub-encoder")
    hparams = yaml.safe_load((folder / "hparams.yaml").read_text())
    hparams["pretrained_model"] = "xlm-roberta-large"  # as in Unbabel/wmt22-comet-da
    (folder / "hparams.yaml").write_text(yaml.safe_dump(hparams))
    ckpt = torch.load(folder / "checkpoints" / "model.ckpt", weights_only=False)
    ckpt["hyper_parameters"]["pretrained_model"] = "xlm-roberta-large"
    torch.save(ckpt, folder / "checkpoints" / "model.ckpt")
    with pytest.raises(ModelUnavailableError) as e:
        metric(folder).segment_statistics(["Hello."], [("Hi.",)], ["Chào."])
    msg = str(e.value)
    assert "'xlm-roberta-large'" in msg and "HF_HUB_OFFLINE=1" in msg
    assert "metrics.comet.encoder=/models/xlm-roberta-large" in msg and "endswith" not in msg
    hyps = SYSTEMS["lower"]
    fixed = metric(folder, encoder=str(ckpts["encoder"]))
    assert "|encoder:encoder|" in fixed.signature()
    expected = metric(ckpts["regression"]).segment_statistics(hyps, [(r,) for r in REFS], SRCS)
    assert np.array_equal(fixed.segment_statistics(hyps, [(r,) for r in REFS], SRCS), expected)


def test_bad_local_paths_say_what_is_wrong(tmp_path):
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        metric(tmp_path / "nope").segment_statistics(["a"], [("b",)], ["c"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailableError, match="has no checkpoints/model.ckpt"):
        metric(tmp_path / "empty").signature()


def test_building_and_signing_imports_neither_torch_nor_comet(tmp_path):
    code = ("import sys; from harness.config import compose; from harness.config import instantiate_group; "
            "ms = instantiate_group(compose(['metric=[comet,cometkiwi,xcomet]']).metrics, 'metric'); "
            "print([m.signature() for m in ms.values()] and "
            "sorted(x for x in ('torch', 'transformers', 'comet') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "MT_HARNESS_CACHE": str(tmp_path)})
    assert out.stdout.strip() == "[]"


# -------------------------------------------------------------------------------- the run and its caches

def _testset():
    return build_testset("tiny", "vi", "en", SRCS, [(r,) for r in REFS])


def test_score_all_caches_statistics_and_spans_and_resumes(ckpts, tmp_path, monkeypatch):
    ts, cache = _testset(), Cache(tmp_path / "cache.sqlite")
    m = metric(ckpts["xcomet"], name="xCOMET", error_spans=True)
    calls = []
    original = COMET.segment_statistics_with_details

    def interrupted(self, hyps, refs, srcs=None):
        calls.append(len(hyps))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, hyps, refs, srcs)

    monkeypatch.setattr(COMET, "segment_statistics_with_details", interrupted)
    with pytest.raises(KeyboardInterrupt):
        segment_statistics_and_details(m, ts, SYSTEMS["lower"], cache, chunk_size=3)
    assert cache.count("statistics") == 3 and cache.count("segment_details") == 3
    stats, details, computed = segment_statistics_and_details(m, ts, SYSTEMS["lower"], cache, chunk_size=3)
    assert computed == len(ts) - 3
    monkeypatch.undo()
    fresh, fresh_details = metric(ckpts["xcomet"], error_spans=True).segment_statistics_with_details(
        SYSTEMS["lower"], [(r,) for r in REFS], SRCS)
    assert np.abs(stats - fresh).max() < 1e-6
    assert [[s["start"] for s in d["error_spans"]] for d in details] == \
           [[s["start"] for s in d["error_spans"]] for d in fresh_details]


def _run_overrides(ckpt, tmp_path, metric_name="comet", systems=("copy_source",)):
    jsonl = tmp_path / "tiny.jsonl"
    jsonl.write_text("\n".join(json.dumps({"src": s, "ref": r}, ensure_ascii=False) for s, r in zip(SRCS, REFS))
                     + "\n", encoding="utf-8")
    overrides = ["testset=[jsonl]", f"testsets.jsonl.path={jsonl}", f"system=[{','.join(systems)}]",
                 f"metric=[bleu,{metric_name}]", f"metrics.{metric_name}.model={ckpt}",
                 f"metrics.{metric_name}.batch_size=4"]
    for name, hyps in SYSTEMS.items():
        path = tmp_path / f"{name}.txt"
        path.write_text("\n".join(hyps) + "\n", encoding="utf-8")
        overrides.append(f"+systems.{name}={{_target_:harness.systems.file.FileOutputs,name:{name},"
                         f"outputs:{{jsonl:'{path}'}}}}")
    return overrides


def test_run_adds_comet_columns_with_signature_and_a_rerun_computes_nothing(ckpts, tmp_path, results_env,
                                                                              monkeypatch):
    overrides = _run_overrides(ckpts["regression"], tmp_path)
    loads = []
    original_load = COMET._load_checkpoint
    monkeypatch.setattr(COMET, "_load_checkpoint", lambda self, *a: loads.append(1) or original_load(self, *a))
    first = evaluate(compose(overrides), output_dir=tmp_path / "first")
    assert len(loads) == 1 and not first.metric_errors
    md = (tmp_path / "first" / "leaderboard.md").read_text(encoding="utf-8")
    assert "| COMET |" in md.splitlines()[4] and "`COMET|model:regression@sha256:" in md
    r = first.get("jsonl", "lower")
    assert f"| {r.scores['COMET'].score:.4f} ± " in md  # four digits for 0..1 scores
    expected = predict(ckpts["regression"], triples(SYSTEMS["lower"])).scores
    assert np.abs(r.segment_scores["COMET"] - expected).max() < 1e-6
    assert r.scores["COMET"].score == pytest.approx(np.mean(expected), abs=1e-6)
    rows = [json.loads(x) for x in (tmp_path / "first" / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {row["system"] for row in rows} == {"copy-source", *SYSTEMS} and all("COMET" in x["scores"] for x in rows)
    assert all("details" not in row for row in rows)
    doc = json.loads((tmp_path / "first" / "scores.json").read_text(encoding="utf-8"))
    sig = next(x for x in doc["results"] if x["system"] == "lower")["scores"]["COMET"]["signature"]
    assert sig.startswith("COMET|model:regression@sha256:") and "|trunc:0|" in sig

    monkeypatch.setattr(COMET, "load", lambda self: pytest.fail("the model was loaded for a fully cached run"))
    again = evaluate(compose(overrides), output_dir=tmp_path / "again")
    for name in ("copy-source", *SYSTEMS):
        assert again.get("jsonl", name).scores["COMET"] == first.get("jsonl", name).scores["COMET"]
        assert np.array_equal(again.get("jsonl", name).statistics["COMET"], first.get("jsonl", name).statistics["COMET"])


def test_run_writes_xcomet_error_spans_and_reuses_them_from_the_cache(ckpts, tmp_path, results_env, monkeypatch):
    overrides = _run_overrides(ckpts["xcomet"], tmp_path, "xcomet", systems=())
    first = evaluate(compose(overrides), output_dir=tmp_path / "first")
    rows = [json.loads(x) for x in (tmp_path / "first" / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    spans = [span for row in rows for span in row["details"]["xCOMET"]["error_spans"]]
    assert len(rows) == len(SYSTEMS) * len(SRCS) and spans
    assert set(spans[0]) == {"text", "severity", "start", "end", "confidence"}
    expected = predict(ckpts["xcomet"], triples(SYSTEMS["shifted"])).metadata.error_spans
    got = [row["details"]["xCOMET"]["error_spans"] for row in rows if row["system"] == "shifted"]
    assert [[(s["start"], s["end"], s["severity"]) for s in seg] for seg in got] == \
           [[(s["start"], s["end"], s["severity"]) for s in seg] for seg in expected]
    monkeypatch.setattr(COMET, "load", lambda self: pytest.fail("the model was loaded for a fully cached run"))
    again = evaluate(compose(overrides), output_dir=tmp_path / "again")
    assert again.get("jsonl", "shifted").segment_details == first.get("jsonl", "shifted").segment_details


def test_unloadable_comet_is_a_metric_error_and_strict_makes_it_fatal(tmp_path, results_env):
    overrides = _run_overrides(tmp_path / "missing-checkpoint", tmp_path)
    run = evaluate(compose(overrides), output_dir=tmp_path / "o")
    assert "COMET" in run.metric_errors and "does not exist" in run.metric_errors["COMET"]
    assert run.get("jsonl", "lower").scores["BLEU"] and "COMET" not in run.get("jsonl", "lower").scores
    assert "Metric COMET was not computed" in (tmp_path / "o" / "leaderboard.md").read_text(encoding="utf-8")
    with pytest.raises(HarnessError, match="metric COMET failed.*strict=true"):
        evaluate(compose(overrides + ["strict=true"]), write=False)


def test_score_all_reuses_embeddings_across_the_systems_of_a_run(ckpts):
    ts = _testset()
    results = [SystemResult("tiny", name, ok=True, hypotheses=hyps) for name, hyps in SYSTEMS.items()]
    m = metric(ckpts["regression"])
    assert not score_all({"tiny": ts}, [m], results, strict=True)
    assert m.counts.sequences == len(set(SRCS) | set(REFS) | {h for hyps in SYSTEMS.values() for h in hyps})
    assert m.counts.reused > 0
    # significance tests resample rows and score sums of them, vectorised over resamples
    stats = results[0].statistics["COMET"]
    resamples = np.random.default_rng(0).integers(0, len(stats), size=(50, len(stats)))
    scores = m.scores_from_statistics(stats[resamples].sum(axis=1))
    assert scores.shape == (50,)
    assert np.allclose(scores, results[0].segment_scores["COMET"][resamples].mean(axis=1))


# --------------------------------------------------------------------------------------- CLI and benchmark

def test_score_command_with_comet_model(ckpts, tmp_path, capsys):
    from harness.cli import main

    src, ref, hyp = tmp_path / "src.txt", tmp_path / "ref.txt", tmp_path / "hyp.txt"
    for path, lines in ((src, SRCS), (ref, REFS), (hyp, SYSTEMS["lower"])):
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["score", "-s", str(src), "-r", str(ref), str(hyp), "-m", "comet", "bleu",
                 "--comet-model", str(ckpts["regression"]), "--comet-batch-size", "4", "--format", "json"]) == 0
    scores = json.loads(capsys.readouterr().out)["results"][0]["scores"]
    expected = predict(ckpts["regression"], triples(SYSTEMS["lower"])).scores
    assert scores["COMET"]["score"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert scores["COMET"]["signature"].startswith("COMET|model:regression@sha256:") and "BLEU" in scores
    assert main(["score", "-s", str(src), "-r", str(ref), str(hyp), "-m", "comet",
                 "--comet-model", str(ckpts["regression"])]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert re.fullmatch(r"COMET\|model:regression@sha256:\w+\|.*\|trunc:0\|.* = -?\d\.\d{4}", line), line
    assert main(["score", "-r", str(ref), str(hyp), "-m", "comet", "--comet-model", str(ckpts["regression"])]) == 2
    assert "metric COMET needs the source sentences: add -s SRC" in capsys.readouterr().err
    assert main(["score", "-r", str(ref), str(hyp), "-m", "bleu", "--comet-model", "x"]) == 2
    assert "--comet-model is given but no COMET metric is" in capsys.readouterr().err
    assert main(["score", "-s", str(src), "-r", str(ref), str(hyp), "-m", "comet",
                 "--comet-model", str(tmp_path / "nope")]) == 2
    assert "Set `--comet-model` to an existing folder" in capsys.readouterr().err
    # one --comet-model cannot serve two COMET metrics (they need different checkpoints): each gets its own -O
    assert main(["score", "-s", str(src), "-r", str(ref), str(hyp), "-m", "cometkiwi", "xcomet",
                 "--comet-model", str(ckpts["regression"])]) == 2
    assert "-O cometkiwi.model=... -O xcomet.model=..." in capsys.readouterr().err


def test_score_command_reaches_the_cache_dir_of_comet(ckpts, tmp_path, capsys):
    """--cache-dir also keeps the checkpoint's content hashes, so a second `score` call does not hash it again."""
    from harness.cache import FILE_SHA256
    from harness.cli import main

    src, ref, hyp = tmp_path / "src.txt", tmp_path / "ref.txt", tmp_path / "hyp.txt"
    for path, lines in ((src, SRCS), (ref, REFS), (hyp, SYSTEMS["lower"])):
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["score", "-s", str(src), "-r", str(ref), str(hyp), "-m", "comet", "--comet-model",
                 str(ckpts["regression"]), "--cache-dir", str(tmp_path / "cache")]) == 0
    cache = Cache(tmp_path / "cache" / "cache.sqlite")
    assert cache.count(FILE_SHA256) == 2  # hparams.yaml and model.ckpt
    cache.close()


def test_benchmark_quick_run_checks_scores_and_passes(capsys):
    from benchmarks.bench_comet import main

    assert main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "OK: scores agree with predict" in out and "encoder passes" in out
