"""What every `transformers` backend shares (seq2seq and causal): where the model and tokenizer come from, how
they load (through `harness.hub.load_pretrained`: local folder, cache, then hub, with the offline message), the
part of the signature that names them, and the facts known after loading."""

from __future__ import annotations

from typing import Any, Callable

from harness.errors import ConfigError
from harness.hub import load_pretrained, local_fingerprint
from harness.systems.base import TranslationSystem

DTYPES = ("float32", "bfloat16", "float16", "auto")


class HFModelSystem(TranslationSystem):
    """A system backed by a `transformers` model, loaded lazily on the first batch."""

    def __init__(self, name: str, model: str, tokenizer: str | None, revision: str | None, device: str, dtype: str,
                 trust_remote_code: bool):
        super().__init__(name)
        if dtype not in DTYPES:
            raise ConfigError(f"system {name!r}: dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        self.model_name, self.tokenizer_name, self.revision = str(model), str(tokenizer or model), revision
        self.device, self.dtype = device, dtype
        #: run code shipped with a hub model (off unless the config says so: it executes whatever the repository holds)
        self.trust_remote_code = bool(trust_remote_code)
        self._runtime: dict[str, Any] = {}

    def model_signature(self) -> dict[str, Any]:
        """The settings that name the model: id or folder (with its files' newest mtime), tokenizer, revision,
        dtype and the transformers version."""
        from importlib.metadata import version

        return {"model": self.model_name, "tokenizer": self.tokenizer_name, "revision": self.revision,
                "local_mtime": local_fingerprint(self.model_name), "dtype": self.dtype,
                "transformers": version("transformers")}

    def runtime_info(self) -> dict[str, Any]:
        return dict(self._runtime)

    def _config_hint(self) -> str:
        return f"{self.config_key}.model" if self.config_key else f"model (in the config of system {self.name!r})"

    def _from_pretrained(self, load: Callable[..., Any], tokenizer: bool = False, **kwargs) -> Any:
        """`load` (a `from_pretrained`) on this system's tokenizer or model, with its revision and
        trust_remote_code, through the offline-safe loader."""
        name = self.tokenizer_name if tokenizer else self.model_name
        what = "tokenizer" if tokenizer and self.tokenizer_name != self.model_name else "model"
        extra: dict[str, Any] = {"trust_remote_code": self.trust_remote_code, **kwargs}
        if self.revision:
            extra["revision"] = self.revision
        return load_pretrained(load, name, what=what, config_key=self._config_hint(), **extra)
