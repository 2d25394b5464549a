"""Sanity checks (harness/sanity.py): small hand-checkable inputs, then FLORES-200 devtest with the real
OPUS-MT outputs (no flag) and corrupted copies of them (each raises its own flag and nothing else)."""

import html
import json
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
from conftest import FLORES_REF, FLORES_SRC, OPUS_2020, OPUS_BT, ROOT

from harness.errors import DataError
from harness.sanity import (
    CHECKS,
    ERROR,
    WARNING,
    Flag,
    Thresholds,
    _runs,
    check_hypotheses,
    check_references,
    compare_file_facts,
    file_facts,
)
from harness.textio import read_lines

# ------------------------------------------------------------------------------------------- tiny inputs

# Three distinct words per segment, so that every segment can be told apart from every other one.
NOUNS = ("apple river mountain lantern violin harbour meadow castle pencil falcon garden bridge compass "
         "blanket orchard kettle tunnel glacier saddle lighthouse chimney anchor basket canyon dolphin "
         "feather journal ladder mirror needle oyster parrot quarry rocket shovel thimble umbrella walnut "
         "yacht zebra acorn beacon cactus drum ember fountain goblet hammock igloo jasmine kayak lemon "
         "marble nutmeg olive pebble quilt ribbon spruce tulip vessel willow badger cobalt dagger "
         "eagle ferry gravel hazel iris jigsaw kiwi lagoon mango nectar opal pumpkin quiver raven "
         "saffron timber urchin velvet wagon yarn zinnia almond bamboo cedar dune").split()


def tiny(n=20):
    """n sources, references and faithful hypotheses (the references, lightly reworded)."""
    words = [NOUNS[3 * i: 3 * i + 3] for i in range(n)]
    src = [f"Con {a} đã nhìn thấy một {b} ở gần {c} hôm qua." for a, b, c in words]
    ref = [f"The {a} saw a {b} near the {c} yesterday." for a, b, c in words]
    hyp = [f"Yesterday the {a} saw one {b} close to the {c}." for a, b, c in words]
    return src, [(r,) for r in ref], hyp


def flags_by_check(flags):
    return {f.check: f for f in flags}


def test_empty_outputs_are_counted_with_their_positions_and_escalate():
    src, refs, hyp = tiny()
    hyp[3] = hyp[7] = "  "
    src[5], hyp[5] = "", ""  # nothing to translate: an empty output is right
    flag = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en"))["empty_output"]
    assert (flag.segments, flag.share, flag.examples, flag.severity) == (2, 0.1, (3, 7), WARNING)
    assert "10% (2 of 20)" in flag.message and "lines 4, 8" in flag.message

    for i in range(10, 20):
        hyp[i] = ""
    flag = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en"))["empty_output"]
    assert (flag.segments, flag.severity) == (12, ERROR)
    # a threshold set above the share silences the check
    lenient = Thresholds(empty_output=0.7)
    assert "empty_output" not in flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en", lenient))


def test_copies_of_the_source_ignore_case_and_spaces_but_not_segments_whose_reference_is_the_source():
    src, refs, hyp = tiny()
    hyp[0] = "  " + src[0].upper().replace(" ", "   ")
    hyp[1] = src[1]
    src[2] = hyp[2] = "Ehud Ur, Halifax"  # a name: the reference is the source too
    refs[2] = ("Ehud Ur, Halifax",)
    flag = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en"))["copy_of_source"]
    assert (flag.segments, flag.examples) == (2, (0, 1))


def test_copies_of_the_reference_count_only_long_segments():
    src, refs, hyp = tiny()
    for i in range(5):  # 5 of 20 segments of 8 words: 25% > 20%
        hyp[i] = refs[i][0]
    flag = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en"))["copy_of_reference"]
    assert (flag.segments, flag.share, flag.severity) == (5, 0.25, WARNING)

    hyp[4] = hyp[4] + " "  # not byte-identical any more: 4 of 20 is not above 20%
    assert "copy_of_reference" not in flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en"))

    short = [("Thank you.",)] * 20  # short references match by chance: not judged at all
    assert "copy_of_reference" not in flags_by_check(check_hypotheses(src, short, ["Thank you."] * 20, "vi", "en"))


def test_a_line_lost_in_the_middle_is_reported_as_a_shift_from_there_on():
    src, refs, hyp = tiny(30)
    shifted = hyp[:17] + hyp[18:] + [""]  # line 18 lost, an empty line at the end
    flags = flags_by_check(check_hypotheses(src, refs, shifted, "vi", "en"))
    flag = flags["shifted_lines"]
    assert flag.segments == 12 and flag.examples[0] == 17 and flag.severity == WARNING
    assert "next segment" in flag.message and "around line 18" in flag.message and "missing" in flag.message
    assert "shuffled_lines" not in flags

    extra = ["An extra header line about nothing in particular."] + hyp[:-1]
    flag = flags_by_check(check_hypotheses(src, refs, extra, "vi", "en"))["shifted_lines"]
    assert flag.segments == 29 and flag.severity == ERROR and "previous segment" in flag.message
    assert "extra line" in flag.message


def test_reordered_output_is_reported_as_shuffled():
    src, refs, hyp = tiny(30)
    flags = flags_by_check(check_hypotheses(src, refs, hyp[::-1], "vi", "en"))
    assert flags["shuffled_lines"].segments == 30 and "shifted_lines" not in flags  # the middle pair swaps too


def test_loops_need_four_repeats_and_are_no_defect_where_the_reference_loops_too():
    src, refs, hyp = tiny(10)
    everything = Thresholds(ngram_loop=0.0)
    hyp[0] = "The river saw the cat the cat the cat the cat."  # a two-word unit, four times
    hyp[1] = "The the the theory of the river."  # three times, then a longer word
    hyp[2] = "Ha ha ha ha, said the river."
    refs[2] = ("Ha, ha, ha, ha! said the river.",)  # the reference laughs too
    hyp[3] = "河流看到了我们我们我们我们我们我们我们我们"  # eight times, no spaces
    hyp[4] = "河流看到了我们我们我们我们我们我们我们"  # seven times
    hyp[5] = "The price rose to 1 000 000 000 dollars."  # digits repeat without looping
    flag = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en", everything))["ngram_loop"]
    assert flag.examples == (0, 3)


def test_far_too_short_and_too_long_outputs():
    src, refs, hyp = tiny(20)
    short, long = hyp.copy(), hyp.copy()
    short[4] = "Yesterday."
    long[6] = " ".join([hyp[6], *hyp[7:11]])  # five translations on one line
    assert flags_by_check(check_hypotheses(src, refs, short, "vi", "en"))["too_short"].examples == (4,)
    flags = flags_by_check(check_hypotheses(src, refs, long, "vi", "en"))
    assert flags["too_long"].examples == (6,) and "ngram_loop" not in flags
    long[6] = " ".join(["the river"] * 25)  # long because it loops: reported as a loop only
    flags = flags_by_check(check_hypotheses(src, refs, long, "vi", "en"))
    assert flags["ngram_loop"].examples == (6,) and "too_long" not in flags


def test_model_tokens_left_in_the_output():
    src, refs, hyp = tiny(20)
    hyp[1] = "Yesterday Erdo<0xC4><0x9F>an saw the apple."
    hyp[2] = "▁Yesterday ▁the ▁river"
    hyp[3] = "Yesterday the <unk> saw one river.</s>"
    hyp[4] = "Yesterday the ⁇ saw one river."
    hyp[5] = hyp[5] + " ▁"
    refs[5] = ("A reference that quotes the ▁ character.",)
    flags = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en", Thresholds(model_tokens=0.0)))
    assert flags["byte_fallback"].examples == (1,) and "<0xC4>" in flags["byte_fallback"].message
    assert flags["sentencepiece_pieces"].examples == (2,)
    assert flags["special_tokens"].examples == (3, 4)


def test_control_and_invisible_characters():
    src, refs, hyp = tiny(20)
    hyp[0] = hyp[0] + "\x00"
    hyp[1] = "Yesterday\tthe apple saw one river."  # tabs are fine
    hyp[2] = hyp[2].replace(" ", "\u200b ", 1)
    hyp[3] = hyp[3].replace(" ", "\u200b ", 1)
    refs[3] = (refs[3][0].replace(" ", "\u200b ", 1),)  # the reference has it too
    strict = Thresholds(control_characters=0.0, invisible_characters=0.0)
    flags = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en", strict))
    control, invisible = flags["control_characters"], flags["invisible_characters"]
    assert control.examples == (0,) and "UTF-16" in control.message
    assert invisible.examples == (2,) and "ZERO WIDTH SPACE" in invisible.message


def test_markup_on_one_side_only():
    src, refs, hyp = tiny(20)
    hyp[0] = "He said &quot;yes&quot; to the apple."
    hyp[1] = "The river<br>saw the apple."
    hyp[2] = "AT&T saw the <unk> and the river."  # neither an entity nor a tag
    hyp[3] = "He said &quot;yes&quot; again."
    refs[3] = ("He said &quot;yes&quot; again.",)  # escaped on both sides: consistent
    flag = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en"))["markup_mismatch"]
    assert flag.examples == (0, 1) and "hypotheses contain" in flag.message

    escaped_refs = [(html.escape(f'"{r[0]}"'),) for r in refs]
    flag = flags_by_check(check_hypotheses(src, escaped_refs, tiny(20)[2], "vi", "en"))["markup_mismatch"]
    assert flag.segments == 20 and "references contain" in flag.message and "&quot;" in flag.message


def test_moses_tokenisation_is_recognised_and_not_reported_again_as_markup():
    src, refs, hyp = tiny(20)
    hyp[0] = "I don 't know , said the apple ."
    hyp[1] = "It &apos;s the river @-@ side ."
    hyp[2] = "The students' books are in the 'old' castle."  # quotes, not split contractions
    flags = flags_by_check(check_hypotheses(src, refs, hyp, "vi", "en", Thresholds(moses_tokenized=0.0)))
    assert flags["moses_tokenized"].examples == (0, 1)
    assert "markup_mismatch" not in flags


def test_unicode_normalisation_on_either_side():
    vi = ["Chúng tôi hiện có đàn chuột bốn tháng tuổi.", "Tiến sĩ Ehud Ur là giáo sư y khoa."] * 10
    src = [f"Sentence number {i} in English." for i in range(20)]
    refs = [(r,) for r in vi]
    hyp = [unicodedata.normalize("NFD", v) if i < 3 else v for i, v in enumerate(vi)]
    flag = flags_by_check(check_hypotheses(src, refs, hyp, "en", "vi"))["unicode_normalization"]
    assert flag.examples == (0, 1, 2) and "hypotheses are not in Unicode NFC" in flag.message

    nfd_refs = [(unicodedata.normalize("NFD", v),) for v in vi]
    flag = flags_by_check(check_hypotheses(src, nfd_refs, vi, "en", "vi"))["unicode_normalization"]
    assert flag.segments == 20 and "references are not in Unicode NFC" in flag.message
    assert "unicode_normalization" not in flags_by_check(check_hypotheses(src, nfd_refs, [r[0] for r in nfd_refs],
                                                                          "en", "vi"))


def test_test_set_problems():
    src, refs, _ = tiny(20)
    bad = [(r[0],) for r in refs]
    bad[0] = ("",)
    bad[1] = ("", " ")  # every reference empty
    bad[2] = ("", refs[2][0])  # one reference left: fine
    bad[3] = (html.escape('"Quoted" & escaped'),)
    bad[4] = (src[4].lower(),)
    bad[5] = (unicodedata.normalize("NFD", "Tiến sĩ Ehud Ur"),)
    strict = Thresholds(empty_references=0.0, escaped_references=0.0, reference_equals_source=0.0,
                        nfd_references=0.0, duplicate_segments=0.0)
    flags = flags_by_check(check_references(src + [src[6]], bad + [bad[6]], "vi", "en", strict))
    assert flags["empty_references"].examples == (0, 1)
    assert flags["escaped_references"].examples == (3,) and "&quot;" in flags["escaped_references"].message
    assert flags["reference_equals_source"].examples == (4,)
    assert flags["nfd_references"].examples == (5,)
    assert flags["duplicate_segments"].examples == (20,)
    assert check_references(src, refs, "vi", "en") == []


def test_errors_come_first_and_flags_serialise():
    src, refs, hyp = tiny(20)
    hyp = [""] * 12 + hyp[12:]
    hyp[15] = hyp[15] + " <unk>"
    hyp[16] = hyp[16] + " <unk>"
    flags = check_hypotheses(src, refs, hyp, "vi", "en")
    assert [f.check for f in flags] == ["empty_output", "special_tokens"]
    assert [f.severity for f in flags] == [ERROR, WARNING]
    assert all(f.check in CHECKS for f in flags)
    assert json.loads(json.dumps(flags[1].as_dict()))["examples"] == [15, 16]


def test_inputs_must_have_one_entry_per_segment():
    src, refs, hyp = tiny(5)
    with pytest.raises(DataError, match="5, 5, 4"):
        check_hypotheses(src, refs, hyp[:4], "vi", "en")
    assert check_hypotheses([], [], [], "vi", "en") == [] and check_references([], [], "vi", "en") == []


def test_runs_finds_every_run_of_the_required_length():
    rng = np.random.default_rng(7)
    for _ in range(300):
        equal = rng.random(int(rng.integers(0, 40))) < rng.random()
        length = int(rng.integers(1, 15))
        naive = [p for p in range(equal.size - length + 1) if equal[p:p + length].all()]
        assert _runs(equal, length).tolist() == naive


def test_importing_the_module_does_not_load_the_language_identifier():
    code = "import sys, harness.sanity; print('py3langid' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------- files

def test_file_facts():
    facts = file_facts("\ufeffone\r\ntwo\x00\r\nthree, the longest\nlast".encode())
    assert (facts.lines, facts.bom, facts.crlf, facts.nul_bytes) == (4, True, 2, 1)
    assert (facts.longest_line, facts.longest_line_at) == (len("three, the longest"), 2)
    assert file_facts(b"").lines == 0 and file_facts(b"a\n\n").lines == 2


def test_compare_file_facts_on_the_real_files():
    hyp_raw, ref_raw = OPUS_2020.read_bytes(), FLORES_REF.read_bytes()
    assert compare_file_facts(file_facts(hyp_raw), file_facts(ref_raw)) == []

    checks = lambda hyp: [f.check for f in compare_file_facts(file_facts(hyp), file_facts(ref_raw))]  # noqa: E731
    assert checks(b"\xef\xbb\xbf" + hyp_raw) == ["bom_mismatch"]
    assert checks(hyp_raw.replace(b"\n", b"\r\n")) == ["crlf_mismatch"]
    assert checks(hyp_raw.replace(b"\n", b"\r")) == ["line_count_mismatch"]  # old Mac line ends: one line
    assert checks(hyp_raw.replace(b"\n", b"\r") * 80) == ["line_count_mismatch", "huge_line"]  # 10 MB
    utf16 = hyp_raw.decode().encode("utf-16-le")
    assert checks(utf16) == ["line_count_mismatch", "nul_bytes"]  # a NUL after the last \n is one more line


# ------------------------------------------------------------------------------- FLORES-200 and OPUS-MT

@pytest.fixture(scope="module")
def flores():
    return read_lines(FLORES_SRC), read_lines(FLORES_REF), read_lines(OPUS_2020)


def checks_of(flags):
    return {f.check for f in flags}


@pytest.mark.parametrize("output", [OPUS_2020, OPUS_BT], ids=lambda p: p.parent.name)
def test_real_outputs_and_the_test_set_raise_no_flag(flores, output):
    src, ref, _ = flores
    refs = [(r,) for r in ref]
    assert check_hypotheses(src, refs, read_lines(output), "vi", "en") == []
    assert check_references(src, refs, "vi", "en") == []


def every(k, lines, change):
    """`change` applied to every k-th line."""
    return [change(i, h) if i % k == 0 else h for i, h in enumerate(lines)]


def _moses(lines):
    from sacremoses import MosesTokenizer

    tokenizer = MosesTokenizer("en")
    return [tokenizer.tokenize(h, return_str=True, escape=True) for h in lines]


CORRUPTIONS = {
    # name: (corrupt(src, ref, hyp) -> hypotheses, the checks expected)
    "copy_of_source": (lambda s, r, h: s, {"copy_of_source", "off_target"}),
    "copy_of_reference": (lambda s, r, h: r, {"copy_of_reference"}),
    "shifted_up": (lambda s, r, h: h[1:] + [""], {"shifted_lines"}),
    "shifted_down": (lambda s, r, h: ["Header"] + h[:-1], {"shifted_lines"}),
    "shuffled": (lambda s, r, h: [h[i] for i in np.random.default_rng(0).permutation(len(h))], {"shuffled_lines"}),
    "empty_10%": (lambda s, r, h: every(10, h, lambda i, x: ""), {"empty_output"}),
    "byte_fallback_20%": (lambda s, r, h: every(5, h, lambda i, x: x.replace("e", "<0xC3><0xA9>", 1)),
                          {"byte_fallback"}),
    "sentencepiece": (lambda s, r, h: ["▁" + x.replace(" ", " ▁") for x in h], {"sentencepiece_pieces"}),
    "unk_5%": (lambda s, r, h: every(20, h, lambda i, x: x.replace(" ", " <unk> ", 1)), {"special_tokens"}),
    "moses": (lambda s, r, h: _moses(h), {"moses_tokenized"}),
    "html_escaped": (lambda s, r, h: [html.escape(x) for x in h], {"markup_mismatch"}),
    "zero_width_10%": (lambda s, r, h: every(10, h, lambda i, x: x.replace(" ", "\u200b ", 1)),
                       {"invisible_characters"}),
    "nul_5%": (lambda s, r, h: every(20, h, lambda i, x: x + "\x00"), {"control_characters"}),
    "utf16": (lambda s, r, h: ["\x00".join(x) for x in h], {"control_characters"}),
    "loops_3%": (lambda s, r, h: every(33, h, lambda i, x: x + " and then and then and then and then"),
                 {"ngram_loop"}),
    "truncated_10%": (lambda s, r, h: every(10, h, lambda i, x: " ".join(x.split()[:2])), {"too_short"}),
    "merged_5%": (lambda s, r, h: every(20, h, lambda i, x: " ".join(h[i:i + 5])), {"too_long"}),
    # untranslated: Vietnamese, but not a copy of the source (its words reversed)
    "vietnamese_33%": (lambda s, r, h: every(3, h, lambda i, x: " ".join(reversed(s[i].split()))), {"off_target"}),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_each_corruption_raises_its_own_flag(flores, name):
    src, ref, hyp = flores
    corrupt, expected = CORRUPTIONS[name]
    flags = check_hypotheses(src, [(r,) for r in ref], corrupt(src, ref, hyp), "vi", "en")
    assert checks_of(flags) == expected, [f.message for f in flags]


def test_messages_on_real_corruptions_say_what_happened(flores):
    src, ref, hyp = flores
    refs = [(r,) for r in ref]
    flags = flags_by_check(check_hypotheses(src, refs, src, "vi", "en"))
    assert flags["copy_of_source"].severity == ERROR and flags["off_target"].severity == ERROR
    assert "mostly Vietnamese, the source language" in flags["off_target"].message

    lost = hyp[:500] + hyp[501:] + [""]  # line 501 lost
    flag = flags_by_check(check_hypotheses(src, refs, lost, "vi", "en"))["shifted_lines"]
    assert flag.severity == WARNING and 501 <= flag.examples[0] + 1 <= 510
    assert f"around line {flag.examples[0] + 1}" in flag.message and "next segment" in flag.message

    flag = flags_by_check(check_hypotheses(src, refs, hyp[1:] + [""], "vi", "en"))["shifted_lines"]
    assert flag.severity == ERROR and flag.share > 0.6


def test_english_to_vietnamese_output_and_its_nfd_form(flores):
    src, ref, _ = flores
    output = [" ".join(w for j, w in enumerate(s.split()) if j % 5 != 4) for s in src]  # stands in for en->vi MT
    refs = [(s,) for s in src]
    assert check_hypotheses(ref, refs, output, "en", "vi") == []
    nfd = [unicodedata.normalize("NFD", x) for x in output]
    assert checks_of(check_hypotheses(ref, refs, nfd, "en", "vi")) == {"unicode_normalization"}


TEST_SET_CORRUPTIONS = {
    # name: (corrupt(src, ref) -> (sources, references), the checks expected)
    "empty_30%": (lambda s, r: (s, [("" if i % 10 < 3 else x,) for i, x in enumerate(r)]), {"empty_references"}),
    "html_escaped": (lambda s, r: (s, [(html.escape(x),) for x in r]), {"escaped_references"}),
    "source_as_reference_20%": (lambda s, r: (s, [(s[i] if i % 5 == 0 else x,) for i, x in enumerate(r)]),
                                {"reference_equals_source", "off_target_references"}),
    "swapped": (lambda s, r: (r, [(x,) for x in s]), {"off_target_references"}),
    "duplicated_10%": (lambda s, r: (s + s[:101], [(x,) for x in r + r[:101]]), {"duplicate_segments"}),
}


@pytest.mark.parametrize("name", TEST_SET_CORRUPTIONS)
def test_each_test_set_corruption_raises_its_own_flag(flores, name):
    src, ref, hyp = flores
    corrupt, expected = TEST_SET_CORRUPTIONS[name]
    sources, references = corrupt(src, ref)
    flags = check_references(sources, references, "vi", "en")
    assert checks_of(flags) == expected, [f.message for f in flags]
    if name == "swapped":
        assert "look swapped" in flags[0].message
    if name == "empty_30%":  # the system's output is not blamed for the test set's gaps
        assert check_hypotheses(sources, references, hyp, "vi", "en") == []


def test_decomposed_vietnamese_references(flores):
    src, ref, _ = flores
    nfd = [(unicodedata.normalize("NFD", s),) for s in src]
    flag = flags_by_check(check_references(ref, nfd, "en", "vi"))["nfd_references"]
    assert flag.segments == 1012 and "100% of sources are" in flag.message


def test_flag_fields():
    flag = Flag("empty_output", WARNING, 2, 0.1, "message", (3, 7))
    assert flag.as_dict() == {"check": "empty_output", "severity": "warning", "segments": 2, "share": 0.1,
                              "message": "message", "examples": [3, 7]}


# ------------------------------------------------------------------------------- large test sets: a sample

def test_a_large_test_set_is_checked_on_a_sample_whose_flags_name_file_lines(flores):
    """Past max_segments the checks look at blocks of consecutive segments spread over the file (here 200 of
    1,012: 20 blocks of 10); a line lost at line 601 still shows as a shift, and every line the flag names is
    a line of the file that really is shifted."""
    src, ref, hyp = flores
    refs = [(r,) for r in ref]
    lost = hyp[:600] + hyp[601:] + [""]  # line 601 lost: from there on each line holds the next one's translation
    sampled = Thresholds(max_segments=200)
    flag = flags_by_check(check_hypotheses(src, refs, lost, "vi", "en", sampled))["shifted_lines"]
    assert "[checked on a sample: 200 of 1,012 segments, in 20 blocks spread evenly]" in flag.message
    assert all(600 <= i < 1011 and lost[i] == hyp[i + 1] for i in flag.examples)
    assert f"around line {flag.examples[0] + 1}" in flag.message
    assert 0.2 < flag.share < 0.5  # the blocks after line 601: about 8 of 20
    # the whole file, unsampled, names the same first lines
    whole = flags_by_check(check_hypotheses(src, refs, lost, "vi", "en"))["shifted_lines"]
    assert "sample" not in whole.message and set(flag.examples) <= set(np.flatnonzero(
        [lost[i] == hyp[i + 1] for i in range(1011)]).tolist())


def test_a_large_test_set_looks_for_duplicates_among_all_its_segments(flores):
    """A test set concatenated with itself: every segment of the second half repeats one of the first, however
    far apart, though the other checks see a sample only."""
    src, ref, _ = flores
    refs = [(r,) for r in ref]
    flags = flags_by_check(check_references(src + src, refs + refs, "vi", "en", Thresholds(max_segments=200)))
    duplicate = flags["duplicate_segments"]
    assert duplicate.segments == 1012 and duplicate.examples == (1012, 1013, 1014, 1015, 1016)
    assert "sample" not in duplicate.message
    # the same texts under another segment: not a duplicate (the source differs)
    assert "duplicate_segments" not in checks_of(check_references(src + src[1:] + src[:1], refs + refs, "vi", "en"))
