"""The language the exercise checks speak: English by default, Chinese on request.

The translations are gettext catalogues (`.po` files, read with polib) in
`course_utils/locale/<locale>/LC_MESSAGES/`, one per lesson plus `checks_common.po` for the
helpers every lesson's checks share. They hold the lessons' text as well as the checks'
messages; `python3 course.py notebooks translate` keeps them in step with the English.

Messages are marked in the code as gettext does it: `_("...")` translates when the check runs,
`N_("...")` only marks a text (a module-level constant) that is translated later, where it is
shown. Placeholders are named (`_("{name} has shape {shape}").format(...)`), so a translation
may put them in another order.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": None, "zh": "zh_CN"}  # what `setup(lang=...)` accepts -> catalogue locale
LANGUAGE_VARIABLE = "COURSE_LANG"

_chosen: str | None = None


def set_language(lang: str | None) -> None:
    """Make the checks speak `lang` ("en" or "zh"); None goes back to $COURSE_LANG or English."""
    global _chosen
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"lang={lang!r} is not a course language; use one of {sorted(LANGUAGES)}.")
    _chosen = lang


def current_language() -> str:
    """The language chosen by `set_language`, else $COURSE_LANG, else "en"."""
    if _chosen is not None:
        return _chosen
    lang = os.environ.get(LANGUAGE_VARIABLE, "").strip().lower() or "en"
    lang = lang.split("_")[0].split("-")[0]  # zh_CN, zh-Hans -> zh
    return lang if lang in LANGUAGES else "en"


@functools.cache
def catalogue(locale: str) -> dict[str, str]:
    """Every finished translation of `locale`'s catalogues: English text -> translated text."""
    translations: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        for entry in polib.pofile(str(path)).translated_entries():
            translations.setdefault(entry.msgid, entry.msgstr)
    return translations


def _(message: str) -> str:
    """`message` in the current language (unchanged in English, or when it has no translation)."""
    locale = LANGUAGES[current_language()]
    if locale is None:
        return message
    return catalogue(locale).get(message, message)


def N_(message: str) -> str:  # noqa: N802 - gettext's own name for "mark, translate later"
    """Mark `message` for translation without translating it now (`_()` translates it later)."""
    return message
