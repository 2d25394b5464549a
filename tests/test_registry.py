import pytest

from harness.errors import UnknownNameError
from harness.metrics import metric_registry
from harness.registry import Registry, did_you_mean


def test_did_you_mean_finds_close_and_case_insensitive_names():
    assert did_you_mean("chrff", ["bleu", "chrf", "ter"]) == "'chrf'"
    assert did_you_mean("BLEU", ["bleu", "chrf"]) == "'bleu'"
    assert did_you_mean("zzzz", ["bleu", "chrf"]) is None


def test_unknown_name_lists_known_names_and_suggestion():
    reg = metric_registry()
    with pytest.raises(UnknownNameError) as e:
        reg.create("bleuu")
    msg = str(e.value)
    assert "unknown metric 'bleuu'" in msg and "Did you mean 'bleu'?" in msg and "chrf++" in msg


def test_aliases_resolve_to_canonical_name_and_duplicates_are_refused():
    reg = metric_registry()
    assert reg.canonical("chrfpp") == "chrf++"
    assert reg.create("chrfpp").name == "chrF2++"
    r: Registry[int] = Registry("thing")
    r.register("a", lambda: 1)
    with pytest.raises(ValueError):
        r.register("b", lambda: 2, aliases=("a",))
