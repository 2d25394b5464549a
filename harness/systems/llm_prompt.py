"""Translation prompts for LLM systems (hf-causal, openai-api), from `configs/prompt/<name>.yaml` or inline.

A prompt is data: a system message, a user template, a plain template for models without a chat template,
and optional few-shot examples from a file. Templates (the system message too) are `str.format` strings
with the placeholders `{source}`, `{src_lang}` and `{tgt_lang}`; the languages are filled in as English
names ("Vietnamese", "English"), which instruction-tuned models follow better than codes. Literal braces
are written `{{ }}`.

Chat models get a message list: the system message (if any), then per few-shot example a user turn (the
user template filled with the example's source) and an assistant turn (its reference), then the user turn
for the segment. Plain models get one string: the system message and a blank line (if any), then per
example the plain template followed by " " + reference and a blank line, then the plain template for the
segment, which the model continues.

`Prompt.fingerprint()` hashes all of that content (few-shot examples included, not their file name), so it
can key the translation cache: editing a prompt or its examples file gives new translations.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from harness.errors import ConfigError, HarnessError, UnknownNameError
from harness.languages import language_name

PLACEHOLDERS = ("source", "src_lang", "tgt_lang")
FIELDS = ("system_message", "user_template", "plain_template", "few_shot", "few_shot_count")
DEFAULT_PLAIN_TEMPLATE = "{src_lang}: {source}\n{tgt_lang}:"


@dataclass(frozen=True)
class FewShotExample:
    src: str
    ref: str


@dataclass(frozen=True)
class Prompt:
    """A resolved prompt: the texts and the examples themselves (the file is read once, when it is built)."""

    name: str  # the prompt config's name, or "inline"
    user_template: str
    system_message: str | None = None
    plain_template: str = DEFAULT_PLAIN_TEMPLATE
    examples: tuple[FewShotExample, ...] = ()

    def _fill(self, template: str, source: str, src_lang: str, tgt_lang: str) -> str:
        return template.format(source=source, src_lang=language_name(src_lang), tgt_lang=language_name(tgt_lang))

    def _system(self, src_lang: str, tgt_lang: str) -> str | None:
        return self._fill(self.system_message, "", src_lang, tgt_lang) if self.system_message else None

    def chat_messages(self, source: str, src_lang: str, tgt_lang: str) -> list[dict[str, str]]:
        """The conversation for one segment, as chat templates and chat-completions APIs take it."""
        system = self._system(src_lang, tgt_lang)
        messages = [{"role": "system", "content": system}] if system else []
        for ex in self.examples:
            messages.append({"role": "user", "content": self._fill(self.user_template, ex.src, src_lang, tgt_lang)})
            messages.append({"role": "assistant", "content": ex.ref})
        messages.append({"role": "user", "content": self._fill(self.user_template, source, src_lang, tgt_lang)})
        return messages

    def plain_text(self, source: str, src_lang: str, tgt_lang: str) -> str:
        """One string for a model without a chat template; the model's continuation is the translation."""
        system = self._system(src_lang, tgt_lang)
        parts = [system + "\n\n"] if system else []
        for ex in self.examples:
            parts.append(self._fill(self.plain_template, ex.src, src_lang, tgt_lang) + " " + ex.ref + "\n\n")
        parts.append(self._fill(self.plain_template, source, src_lang, tgt_lang))
        return "".join(parts)

    def fingerprint(self) -> str:
        """sha256 of every text that reaches the model (not the prompt's name)."""
        content = {"system_message": self.system_message, "user_template": self.user_template,
                   "plain_template": self.plain_template, "examples": [[e.src, e.ref] for e in self.examples]}
        return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()

    def signature(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.fingerprint()[:16], "few_shot": len(self.examples)}


def plain_config_value(value: Any) -> Any:
    """A config value as plain Python: Hydra passes nested mappings and lists as OmegaConf containers, which
    neither JSON request bodies nor `transformers` generation configs take."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def prompt_names() -> list[str]:
    from harness.config import config_dir, group_options

    return group_options("prompt", config_dir())


def _check_template(template: Any, key: str, needs_source: bool = True) -> str:
    if not isinstance(template, str) or not template.strip():
        raise ConfigError(f"{key} must be a non-empty string with a {{source}} placeholder, not {template!r}")
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as e:
        raise ConfigError(f"{key} is not a valid template ({e}); write literal braces as {{{{ and }}}}") from None
    unknown = sorted(used - set(PLACEHOLDERS))
    if unknown:
        raise ConfigError(f"{key} uses unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                          f"the placeholders are {{source}}, {{src_lang}} and {{tgt_lang}} (write literal braces "
                          f"as {{{{ and }}}})")
    if needs_source and "source" not in used:
        raise ConfigError(f"{key} has no {{source}} placeholder, so the model would never see the text to translate")
    return template


def _load_examples(path: Any, count: Any, key: str) -> tuple[FewShotExample, ...]:
    from harness.data import load_jsonl, load_tsv

    if path is None:
        return ()
    file = Path(str(path)).expanduser()
    suffix = file.suffix.lower()
    if suffix not in (".jsonl", ".json", ".tsv", ".txt"):
        raise ConfigError(f"{key}.few_shot: {file} is neither JSONL (.jsonl: src, ref) nor TSV (.tsv: src<TAB>ref)")
    if not file.is_file():
        raise ConfigError(f"{key}.few_shot: no file {file} (relative paths are taken from {Path.cwd()}); set it to "
                          f"an existing JSONL or TSV file of examples, or to null")
    try:
        loaded = (load_jsonl if suffix in (".jsonl", ".json") else load_tsv)("few_shot", file)
    except HarnessError as e:
        raise ConfigError(f"{key}.few_shot: {e}") from None
    examples = tuple(FewShotExample(seg.src, seg.refs[0]) for seg in loaded.segments)
    if count is not None:
        if not isinstance(count, int) or count < 0:
            raise ConfigError(f"{key}.few_shot_count must be a whole number >= 0 or null (all), not {count!r}")
        examples = examples[:count]
    return examples


def _read_prompt_file(path: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf

    from harness.config import register_resolvers

    register_resolvers()  # ${project_root:} in few_shot paths
    node = OmegaConf.load(path)
    return OmegaConf.to_container(node, resolve=True) if node is not None else {}


def load_prompt(spec: str | Mapping[str, Any], key: str = "prompt") -> Prompt:
    """A prompt from the name of a file in configs/prompt/ (`"instruction"`), a path to a YAML file with the
    same fields, or a mapping with those fields (inline in a system config). `key` is where the spec sits in
    the config, for error messages (e.g. `systems.qwen.prompt`)."""
    if isinstance(spec, str):
        from harness.config import config_dir

        if spec.endswith((".yaml", ".yml")):
            path = Path(spec).expanduser()
            if not path.is_file():
                raise ConfigError(f"{key}: prompt file {path} does not exist; name one of {', '.join(prompt_names())} "
                                  f"(configs/prompt/) or give an existing YAML file")
        else:
            path = config_dir() / "prompt" / f"{spec}.yaml"
            if not path.is_file():
                raise UnknownNameError("prompt", spec, prompt_names())
        fields, name = _read_prompt_file(path), (path.stem if not spec.endswith((".yaml", ".yml")) else str(path))
    elif isinstance(spec, Mapping):
        fields = dict(plain_config_value(spec))
        name = "inline"
    else:
        raise ConfigError(f"{key} must be a prompt name ({', '.join(prompt_names())}) or a mapping with the fields "
                          f"{', '.join(FIELDS)}, not {spec!r}")
    if not isinstance(fields, dict):
        raise ConfigError(f"{key}: a prompt is a mapping with the fields {', '.join(FIELDS)}, not {fields!r}")
    for field_name in fields:
        if field_name not in FIELDS:
            raise UnknownNameError(f"{key} field", field_name, list(FIELDS))
    if "user_template" not in fields:
        raise ConfigError(f"{key} has no user_template; give one with a {{source}} placeholder")
    system_message = fields.get("system_message")
    if system_message is not None and not isinstance(system_message, str):
        raise ConfigError(f"{key}.system_message must be a string or null, not {system_message!r}")
    if system_message:
        _check_template(system_message, f"{key}.system_message", needs_source=False)
    return Prompt(name=name, user_template=_check_template(fields["user_template"], f"{key}.user_template"),
                  system_message=system_message or None,
                  plain_template=_check_template(fields.get("plain_template") or DEFAULT_PLAIN_TEMPLATE,
                                                 f"{key}.plain_template"),
                  examples=_load_examples(fields.get("few_shot"), fields.get("few_shot_count"), key))
