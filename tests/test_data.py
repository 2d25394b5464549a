import json
import unicodedata

import pytest
from conftest import FLORES_REF, FLORES_SRC

from harness.data import build_testset, load_hf_dataset, load_jsonl, load_parallel, load_tsv
from harness.errors import ConfigError, DataError, ModelUnavailableError


def test_flores_parallel_files():
    ts = load_parallel("flores", FLORES_SRC, FLORES_REF)
    assert len(ts) == 1012 and ts.num_refs == 1
    assert ts.segments[0].id == "1"
    assert ts.segments[0].refs[0].startswith('"We now have 4-month-old mice')
    assert ts.signature().startswith("testset:flores|vi-en|segments:1012|nrefs:1|sha256:")


def test_line_count_mismatch_names_both_files_and_counts(tmp_path):
    (tmp_path / "s").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "r").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_parallel("t", tmp_path / "s", tmp_path / "r")
    assert f"{tmp_path / 's'} has 3 lines" in str(e.value) and f"{tmp_path / 'r'} has 2 lines" in str(e.value)


def test_sources_are_nfc_normalised_references_kept(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Thống đốc")
    assert decomposed != "Thống đốc"
    ts = build_testset("t", "vi", "en", [decomposed, "x"], [(decomposed,), ("y",)])
    assert ts.segments[0].src == "Thống đốc"
    assert ts.segments[0].refs[0] == decomposed
    assert ts.notes == ("1 source segments were NFC-normalised",)


def test_several_reference_files(tmp_path):
    (tmp_path / "s").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "r1").write_text("A\nB\n", encoding="utf-8")
    (tmp_path / "r2").write_text("AA\nBB\n", encoding="utf-8")
    ts = load_parallel("t", tmp_path / "s", [tmp_path / "r1", tmp_path / "r2"])
    assert ts.references == [("A", "AA"), ("B", "BB")] and ts.num_refs == 2


def test_jsonl_with_ref_refs_doc_and_seg_ids(tmp_path):
    p = tmp_path / "t.jsonl"
    rows = [{"src": "xin chào", "ref": "hello", "doc_id": "d1", "seg_id": "d1-1"},
            {"src": "cảm ơn", "refs": ["thanks", "thank you"], "doc_id": "d1"}]
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    ts = load_jsonl("j", p)
    assert [s.id for s in ts.segments] == ["d1-1", "2"]
    assert ts.segments[1].refs == ("thanks", "thank you") and ts.segments[1].doc_id == "d1"
    assert ts.num_refs == -1 and "nrefs:var" in ts.signature()


@pytest.mark.parametrize("line, message", [
    ('{"src": "a"}', "neither 'ref' nor 'refs'"),
    ('{"ref": "a"}', "no 'src' field"),
    ('{"src": "a", "refs": "b"}', "'refs' must be a list of strings"),
    ('{"src": "a", ', "line 1 is not valid JSON"),
    ('["a", "b"]', "expected an object"),
])
def test_jsonl_errors_name_the_line(tmp_path, line, message):
    p = tmp_path / "bad.jsonl"
    p.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_jsonl("bad", p)


def test_duplicate_segment_ids_are_refused(tmp_path):
    p = tmp_path / "dup.jsonl"
    p.write_text('{"src": "a", "ref": "b", "seg_id": 1}\n{"src": "c", "ref": "d", "seg_id": 1}\n', encoding="utf-8")
    with pytest.raises(DataError, match="duplicate segment id '1'"):
        load_jsonl("dup", p)


def test_tsv_without_and_with_header(tmp_path):
    (tmp_path / "a.tsv").write_text("xin chào\thello\thi\ncảm ơn\tthanks\tthank you\n", encoding="utf-8")
    ts = load_tsv("a", tmp_path / "a.tsv")
    assert ts.sources == ["xin chào", "cảm ơn"] and ts.references[1] == ("thanks", "thank you")
    (tmp_path / "b.tsv").write_text("seg_id\tsrc\tref1\tref2\ts1\tmột\tone\tan\n".replace("\ts1", "\ns1"),
                                    encoding="utf-8")
    tb = load_tsv("b", tmp_path / "b.tsv", header=True)
    assert tb.segments[0].id == "s1" and tb.segments[0].refs == ("one", "an")
    (tmp_path / "c.tsv").write_text("only one column\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1 has 1 column"):
        load_tsv("c", tmp_path / "c.tsv")


def test_hf_datasets_from_local_json_files(tmp_path):
    p = tmp_path / "test.jsonl"
    p.write_text("\n".join(json.dumps({"id": i, "translation": {"vi": f"câu {i}", "en": f"sentence {i}"}},
                                      ensure_ascii=False) for i in range(5)) + "\n", encoding="utf-8")
    ts = load_hf_dataset("hf", "json", source_field="translation.vi", reference_fields="translation.en",
                         split="train", data_files=str(p), id_field="id")
    assert len(ts) == 5 and ts.segments[2].src == "câu 2" and ts.segments[2].refs == ("sentence 2",)
    assert ts.segments[2].id == "2"
    with pytest.raises(DataError, match="no field 'translation.fr'"):
        load_hf_dataset("hf", "json", source_field="translation.fr", reference_fields="translation.en",
                        split="train", data_files=str(p))


def test_hf_hub_dataset_unreachable_names_the_data_set_and_fails_at_once(monkeypatch):
    import time

    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **kw: pytest.fail("tried the hub although offline"))
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as e:
        load_hf_dataset("flores", "openlanguagedata/flores_plus", source_field="text", reference_fields="text",
                        split="devtest")
    assert time.perf_counter() - start < 5  # not datasets' retries
    msg = str(e.value)
    assert "openlanguagedata/flores_plus" in msg and "offline" in msg and "data_files" in msg
    assert "save_to_disk" in msg


def test_local_json_files_need_no_split_name(tmp_path):
    """`path: json` + `data_files` loads as a split called "train"; asking for "test" (the default) uses it."""
    p = tmp_path / "devtest.jsonl"
    p.write_text(json.dumps({"vi": "xin chào", "en": "hello"}) + "\n", encoding="utf-8")
    ts = load_hf_dataset("hf", "json", source_field="vi", reference_fields="en", data_files=str(p))
    assert ts.sources == ["xin chào"]


def test_a_dataset_saved_with_save_to_disk_loads(tmp_path):
    import datasets

    rows = {"vi": ["một", "hai", "ba"], "en": ["one", "two", "three"]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "single"))
    datasets.DatasetDict({"dev": datasets.Dataset.from_dict(rows),
                          "test": datasets.Dataset.from_dict({"vi": ["bốn"], "en": ["four"]})}
                         ).save_to_disk(str(tmp_path / "dict"))
    single = load_hf_dataset("s", str(tmp_path / "single"), source_field="vi", reference_fields="en")
    assert single.sources == rows["vi"] and [r[0] for r in single.references] == rows["en"]
    assert load_hf_dataset("d", str(tmp_path / "dict"), source_field="vi", reference_fields="en").sources == ["bốn"]
    with pytest.raises(DataError, match="no split 'train'; it has 'dev', 'test'"):
        load_hf_dataset("d", str(tmp_path / "dict"), source_field="vi", reference_fields="en", split="train")


@pytest.mark.parametrize("old, new", [
    ("hòa bình", "hoà bình"), ("khỏe mạnh", "khoẻ mạnh"), ("thủy thủ", "thuỷ thủ"), ("HÒA", "HOÀ"),
    ("hoàng hôn", "hoàng hôn"),  # a final consonant: both styles put the tone on the a
    ("quý", "quý"),              # qu + y: the u is part of the consonant
    ("Thuyền", "Thuyền"),
])
def test_vietnamese_tone_marks_move_only_in_oa_oe_uy(old, new):
    from harness.data.vietnamese import place_tone_marks

    assert place_tone_marks(old, "new") == new and place_tone_marks(new, "old") == old


def test_tone_marks_of_sources_are_in_the_test_set_signature(tmp_path):
    src, ref = tmp_path / "src.vi", tmp_path / "ref.en"
    src.write_text("Hòa bình và khỏe mạnh.\nThuyền đi.\n", encoding="utf-8")
    ref.write_text("Peace and health.\nThe boat leaves.\n", encoding="utf-8")
    plain = load_parallel("t", src, ref)
    new = load_parallel("t", src, ref, tone_marks="new")
    assert new.sources == ["Hoà bình và khoẻ mạnh.", "Thuyền đi."] and new.references == plain.references
    assert "|tones:new|" in new.signature() and "tones" not in plain.signature()
    assert new.notes == ("1 source segments got new-style tone marks",)
    with pytest.raises(ConfigError, match="applies to Vietnamese sources"):
        load_parallel("t", ref, src, src_lang="en", tgt_lang="vi", tone_marks="new")


def test_a_stray_tab_in_a_tsv_line_is_an_error_not_an_extra_reference(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("xin chào\thello\nmột\thai\tone two\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2 has 3 columns but line 1 has 2: a tab inside a segment"):
        load_tsv("t", tsv)
