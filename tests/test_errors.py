import pytest

from harness.errors import UnknownNameError, did_you_mean


def test_did_you_mean_finds_close_and_case_insensitive_names():
    assert did_you_mean("chrff", ["bleu", "chrf", "ter"]) == "'chrf'"
    assert did_you_mean("BLEU", ["bleu", "chrf"]) == "'bleu'"
    assert did_you_mean("zzzz", ["bleu", "chrf"]) is None


def test_unknown_name_lists_known_names_and_suggestion():
    with pytest.raises(UnknownNameError) as e:
        raise UnknownNameError("metric", "bleuu", ["chrf++", "bleu", "ter"])
    msg = str(e.value)
    assert msg == "unknown metric 'bleuu'. Did you mean 'bleu'? Known metrics: bleu, chrf++, ter."
