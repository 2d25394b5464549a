"""Keeping secrets out of everything a run writes: configs, Hydra's records, logs and results.

A secret is (1) the value of a config key named like one (`token`, `hf_token`, `api_key`, `password`, ...),
(2) the value of an environment variable named like one (HF_TOKEN, OPENAI_API_KEY, ...) wherever it appears,
e.g. resolved into the config by `${oc.env:HF_TOKEN}`, or (3) the password or token in a URL
(`https://user:secret@host`, `?token=...`). Each becomes `***`. Names such as `max_tokens` or `tokenizer`
are not secrets: only a whole name or its last `_` part counts.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

REDACTED = "***"
_SECRET_NAME = re.compile(r"(^|[_.-])(token|secret|password|passwd|api_?key|access_?key|credentials?|auth)$", re.I)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/\s:@]+):(?P<password>[^/\s@]+)@", re.I)
_URL_QUERY = re.compile(r"(?P<key>[?&](?:token|access_token|api_key|apikey|key|sig|signature)=)(?P<value>[^&#\s]+)",
                        re.I)
_ASSIGNMENT = re.compile(r"(?P<key>(?<![\w.?&])[+~]*[A-Za-z_][\w.-]*)=(?P<value>'[^']*'|\"[^\"]*\"|[^\s,\]]+)")
#: shorter environment values are too likely to occur by chance (e.g. "1") to be replaced everywhere
_MIN_SECRET_LENGTH = 8


def is_secret_name(name: str) -> bool:
    """Whether a config key or environment variable name says its value is a secret (`HF_TOKEN`, `api_key`,
    `hub.token`; not `max_tokens`, `tokenizer`, `api_key_env`)."""
    return bool(_SECRET_NAME.search(str(name)))


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """The values of environment variables named like secrets, longest first (so a secret that contains
    another is replaced whole)."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_name(k) and len(v) >= _MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """`text` with every known secret value, URL password and URL token replaced by `***`."""
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, REDACTED)
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    text = _URL_QUERY.sub(lambda m: f"{m['key']}{REDACTED}", text)
    # `+hub.token=...` as written in Hydra's records and in log lines
    return _ASSIGNMENT.sub(lambda m: f"{m['key']}={REDACTED}" if is_secret_name(m["key"].lstrip("+~"))
                           else m[0], text)


def redact(obj: Any, secrets: list[str] | None = None) -> Any:
    """A copy of a JSON/YAML-like structure with secrets redacted: values under secret-named keys, and secret
    values or URL credentials inside any string."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(obj, dict):
        return {k: (REDACTED if is_secret_name(k) and v not in (None, "", REDACTED) and not isinstance(v, (dict, list))
                    else redact(v, secrets)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact(v, secrets) for v in obj)
    if isinstance(obj, str):
        return redact_text(obj, secrets)
    return obj


def redact_files(folder: Path) -> None:
    """Redact, in place, the YAML records Hydra writes before a run starts (`.hydra/config.yaml`,
    `overrides.yaml`, `hydra.yaml`): overrides such as `+hub.token=...` land there in clear text."""
    import yaml

    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            path.write_text(redact_text(text), encoding="utf-8")
            continue
        clean = redact(data)
        if clean != data:
            path.write_text(yaml.safe_dump(clean, sort_keys=False, allow_unicode=True), encoding="utf-8")


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets from every record's message (configured on the run's log
    handlers in configs/hydra/default.yaml)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
