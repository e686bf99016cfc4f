"""Which language a text is in, English or Dutch, from the words it uses."""

from __future__ import annotations

import re

from assistant.textnorm import basic_clean

# Letter groups that are common in one language's spelling and rare in the other's:
# the tie-breaker for words that no prompts file knows.
_SPELLING = {
    "nl": re.compile(r"ij|oe|aa|uu|ee(?!d\b)|sch|ui|eu|tje\b|lijk|heid"),
    "en": re.compile(r"th|wh|sh|gh|ing\b|ck|tion\b|\by\w|w[aeiou]|ou"),
}

_words_cache: dict[tuple, dict[str, frozenset[str]]] = {}


def _known_words(packs: dict) -> dict[str, frozenset[str]]:
    """For each language, the words its prompts use that the other language's don't.

    Common words (the stopword list) and every word in the themes' and commands'
    triggers, the fillers and the contractions: what a person says to Haven.
    Words both languages use ("is", "in", "me", "stop", "help") tell nothing.
    """
    key = tuple(sorted((lang, id(pack)) for lang, pack in packs.items()))
    cached = _words_cache.get(key)
    if cached is not None:
        return cached
    raw: dict[str, set[str]] = {}
    for lang, pack in packs.items():
        words: set[str] = set(pack.normalise.stopwords)
        phrases: list[str] = list(pack.normalise.fillers) + list(pack.normalise.contractions)
        phrases += list(pack.normalise.variants)
        for theme in pack.themes.values():
            phrases += theme.triggers
        for command in pack.commands.values():
            phrases += command.triggers
        for p in phrases:
            words.update(basic_clean(p).replace("'", "").split())
        raw[lang] = words
    known = {
        lang: frozenset(w for w in words if not any(w in other for o, other in raw.items() if o != lang))
        for lang, words in raw.items()
    }
    _words_cache.clear()
    _words_cache[key] = known
    return known


def guess_language(text: str, packs: dict) -> str:
    """The language whose own words (from its prompts) cover more of the text.

    Words that only one language's prompts use count first; spelling (Dutch "ij",
    "oe", "sch"; English "th", "wh", "-ing") breaks a tie. Anything still undecided,
    such as an empty text, goes to English.
    """
    words = basic_clean(text).replace("'", "").split()
    languages = [lang for lang in ("en", "nl") if lang in packs]
    if len(languages) < 2 or not words:
        return languages[0] if languages else "en"
    known = _known_words({lang: packs[lang] for lang in languages})
    hits = {lang: sum(1 for w in words if w in known[lang]) for lang in languages}
    if hits["en"] != hits["nl"]:
        return max(languages, key=lambda lang: hits[lang])
    unknown = " ".join(w for w in words if not any(w in known[lang] for lang in languages))
    spelling = {lang: len(_SPELLING[lang].findall(unknown)) for lang in languages}
    return "nl" if spelling["nl"] > spelling["en"] else "en"
