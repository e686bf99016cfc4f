"""Text normalisation before matching: the same steps for triggers and for what was heard.

Speech recognition writes "I'm", "im", "I am" and "Im" for the same words, and people
pad speech with fillers; matching works on one canonical form. The word lists are
data (prompts/LANG/language.toml), the steps are here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
# Keep letters, digits, apostrophes inside words; everything else becomes a space.
_NON_WORD = re.compile(r"[^\w']+")
_EDGE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_SPACES = re.compile(r"\s+")


def basic_clean(text: str) -> str:
    """Lowercase, unify apostrophes, drop punctuation, fold white space."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    text = _EDGE_APOSTROPHE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference's length (both read by basic_clean)."""
    ref, hyp = basic_clean(reference).split(), basic_clean(hypothesis).split()
    if not ref:
        return 1.0
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / len(ref)


def _phrase_pattern(phrases) -> re.Pattern | None:
    """One regex that matches any of the phrases as whole words, longest first."""
    cleaned = sorted({basic_clean(p) for p in phrases if basic_clean(p)}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"(?<!\S)(?:" + "|".join(re.escape(p) for p in cleaned) + r")(?!\S)")


@dataclass
class Normaliser:
    """Turns raw text into the canonical form that triggers are compared in."""

    fillers: tuple[str, ...] = ()
    contractions: dict[str, str] = field(default_factory=dict)
    variants: dict[str, str] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Contractions and variants are word-for-phrase replacements in one pass.
        table = {basic_clean(k): basic_clean(v) for k, v in {**self.variants, **self.contractions}.items()}
        self._replacements = table
        self._replace_re = _phrase_pattern(table)
        self._filler_re = _phrase_pattern(self.fillers)

    def __call__(self, text: str) -> str:
        text = basic_clean(text)
        if self._replace_re is not None:
            text = self._replace_re.sub(lambda m: self._replacements[m.group(0)], text)
        if self._filler_re is not None:
            text = self._filler_re.sub(" ", text)
        # Apostrophes left over ("its" vs "it's") carry no meaning for matching.
        text = text.replace("'", "")
        return _SPACES.sub(" ", text).strip()

    def content_words(self, normalised: str) -> list[str]:
        """The words that carry meaning: everything but the stopwords."""
        return [w for w in normalised.split() if w not in self.stopwords]
