"""Language codes: ISO 639-1 (what test sets use) to the codes each model family expects."""

from __future__ import annotations

from harness.errors import ConfigError, did_you_mean

# iso: (English name, NLLB/FLORES-200 code, mBART-50 code or None)
_LANGUAGES: dict[str, tuple[str, str, str | None]] = {
    "vi": ("Vietnamese", "vie_Latn", "vi_VN"),
    "en": ("English", "eng_Latn", "en_XX"),
    "fr": ("French", "fra_Latn", "fr_XX"),
    "de": ("German", "deu_Latn", "de_DE"),
    "es": ("Spanish", "spa_Latn", "es_XX"),
    "pt": ("Portuguese", "por_Latn", "pt_XX"),
    "it": ("Italian", "ita_Latn", "it_IT"),
    "ru": ("Russian", "rus_Cyrl", "ru_RU"),
    "zh": ("Chinese", "zho_Hans", "zh_CN"),
    "ja": ("Japanese", "jpn_Jpan", "ja_XX"),
    "ko": ("Korean", "kor_Hang", "ko_KR"),
    "th": ("Thai", "tha_Thai", "th_TH"),
    "id": ("Indonesian", "ind_Latn", "id_ID"),
    "km": ("Khmer", "khm_Khmr", "km_KH"),
    "lo": ("Lao", "lao_Laoo", None),
    "hi": ("Hindi", "hin_Deva", "hi_IN"),
    "ar": ("Arabic", "arb_Arab", "ar_AR"),
    "cs": ("Czech", "ces_Latn", "cs_CZ"),
    "uk": ("Ukrainian", "ukr_Cyrl", "uk_UA"),
}
_BY_FLORES = {v[1]: k for k, v in _LANGUAGES.items()}
_BY_MBART = {v[2]: k for k, v in _LANGUAGES.items() if v[2]}


def iso_code(lang: str) -> str:
    """Accepts `vi`, `vie_Latn` or `vi_VN` and returns `vi`."""
    if lang in _LANGUAGES:
        return lang
    if lang in _BY_FLORES:
        return _BY_FLORES[lang]
    if lang in _BY_MBART:
        return _BY_MBART[lang]
    hint = did_you_mean(lang, [*_LANGUAGES, *_BY_FLORES])
    raise ConfigError(f"unknown language code {lang!r}" + (f"; did you mean {hint}?" if hint else "")
                      + f" Known: {', '.join(sorted(_LANGUAGES))} (or FLORES-200 codes such as vie_Latn).")


def language_name(lang: str) -> str:
    return _LANGUAGES[iso_code(lang)][0]


def code_for_family(lang: str, family: str) -> str:
    """The language code a model family expects: nllb -> vie_Latn, m2m100 -> vi, mbart50 -> vi_VN."""
    iso = iso_code(lang)
    if family == "nllb":
        return _LANGUAGES[iso][1]
    if family == "m2m100":
        return iso
    if family == "mbart50":
        code = _LANGUAGES[iso][2]
        if code is None:
            raise ConfigError(f"mBART-50 has no code for {language_name(iso)}; set src_lang/tgt_lang in the system config")
        return code
    raise ConfigError(f"model family {family!r} has no language-code table")
