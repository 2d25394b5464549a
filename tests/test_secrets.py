"""Secrets never reach what a run writes: config.yaml, Hydra's .hydra/ records, run.log, scores.json."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT

from harness.secrets import is_secret_name, redact, redact_text


@pytest.mark.parametrize("name, secret", [
    ("token", True), ("hub.token", True), ("HF_TOKEN", True), ("OPENAI_API_KEY", True), ("api_key", True),
    ("db_password", True), ("AWS_SECRET_ACCESS_KEY", True), ("max_tokens", False), ("max_new_tokens", False),
    ("tokenizer", False), ("tokenize", False), ("api_key_env", False), ("generated_tokens", False),
])
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


def test_redaction_of_values_urls_and_environment_secrets():
    secrets = ["hf_abcdefghijkl"]
    doc = {"hub": {"token": "xyz12345"}, "max_tokens": 512, "note": "key hf_abcdefghijkl inside",
           "url": "https://me:pa55word@host/data?token=t0k3n&x=1", "overrides": ["+hub.token=xyz12345", "a.b=2"]}
    assert redact(doc, secrets) == {"hub": {"token": "***"}, "max_tokens": 512, "note": "key *** inside",
                                    "url": "https://me:***@host/data?token=***&x=1",
                                    "overrides": ["+hub.token=***", "a.b=2"]}
    assert redact_text("max_tokens=512 api_key_env=OPENAI_API_KEY", []) == "max_tokens=512 api_key_env=OPENAI_API_KEY"


def test_no_secret_reaches_any_file_a_run_writes(tmp_path):
    env = {**os.environ, "MT_HARNESS_RESULTS": str(tmp_path / "results"), "HF_TOKEN": "hf_envsecret0123456789"}
    res = subprocess.run([sys.executable, "-m", "harness", "run", "experiment=files_only", "testset=[seed_article]",
                          "metric=[bleu]", "+hub.token=overridesecret987", "+extra.copy=${oc.env:HF_TOKEN}",
                          "+extra.url='https://user:urlsecret555@example.com/x'"],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stderr
    written = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" for p in written) and any(p.name == "overrides.yaml" for p in written)
    for secret in ("overridesecret987", "hf_envsecret0123456789", "urlsecret555"):
        assert not [str(p) for p in written if secret.encode() in p.read_bytes()], secret
        assert secret not in res.stdout + res.stderr
