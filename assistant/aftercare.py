"""After a safety reply: the short conversation that follows it, and the numbers kept to the end.

Three small jobs, with every word in prompts/LANG/aftercare.toml:

- hear the answer to what Haven just asked (yes, no, "I'm safe", "I called someone",
  "I don't know"): once, on the next utterance only, so nothing loops;
- the direct questions when the safety layer is unsure ("Are you thinking about ending
  your life?", "Are you afraid that someone will hurt you?"): Responder asks, and
  routes the answer here;
- the helplines for the person's region (helplines.py) filled into every template,
  and the goodbye that keeps them after a crisis or an unsafe reply.

Try it: python -m assistant.aftercare "yes please" "I'm safe, I called my sister"
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from assistant.helplines import PLACEHOLDERS, Directory, Helplines, choose_region
from assistant.library import LANGUAGES, default_prompts_dir
from assistant.tomlfile import TomlFile

FILE_NAME = "aftercare.toml"
ANSWERS = ("called", "safe", "unsure", "no", "yes")  # in precedence: "no, I'm safe" is safe
SHORT = ("unsure", "no", "yes")  # only a short answer is an answer: "yes he never listens" is not
MAX_ANSWER_WORDS = 8
# step -> what is said for each answer (a check's "yes" is the crisis or unsafe reply itself)
STEPS = {"after_crisis": ("yes", "no", "safe", "called", "unsure", "checkin"), "check": ("question", "no", "unclear"),
         "check_unsafe": ("question", "no", "unclear"), "goodbye": ("crisis", "unsafe")}
# What a direct question asks about -> its step: ending one's life, or someone hurting them.
CHECKS = {"crisis": "check", "unsafe": "check_unsafe"}
ASKED_ABOUT = {step: about for about, step in CHECKS.items()}  # a check's step -> what it asked about
_REGION_KEYS = {"emergency_name", "advice", "heading", "emergency", "unknown"}
_FIELD = re.compile(r"\{([a-z_]+)\}")
_SENTENCE_START = re.compile(r"(?:^|(?<=[.!?] ))[a-z]")


def _plain(text: str) -> str:
    """Lowercase words without accents, apostrophes or punctuation: "I'm OK." -> "im ok"."""
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("'", "")
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


@dataclass
class _Texts:
    answers: dict[str, re.Pattern]
    lines: dict[str, dict[str, list[str]]]
    region: dict


def _load(language: str, root: Path) -> _Texts:
    f = TomlFile(root / language / FILE_NAME, root)
    f.check_keys(f.data, "", {"answers", *STEPS, "region"}, what="table")
    table = f.table("answers")
    f.check_keys(table, "answers", ANSWERS)
    answers = {}
    for answer in ANSWERS:
        phrases = sorted({_plain(p) for p in f.strings(table, answer, header="answers")}, key=len, reverse=True)
        answers[answer] = re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, phrases)) + r")(?!\S)")
    lines = {}
    for step, keys in STEPS.items():
        t = f.table(step)
        f.check_keys(t, step, keys)
        lines[step] = {k: f.strings(t, k, header=step, minimum=1) for k in keys}
        for k, texts in lines[step].items():
            for text in texts:
                bad = [p for p in _FIELD.findall(text) if p not in PLACEHOLDERS]
                if bad or re.search(r"\d", text):
                    raise f.error_at(f"[{step}] {k}: numbers only as placeholders "
                                     f"({', '.join(f'{{{p}}}' for p in PLACEHOLDERS)}): {text[:50]!r}...",
                                     f.value_line(step, text, k))
    region = f.table("region")
    f.check_keys(region, "region", _REGION_KEYS)
    texts = {k: f.strings(region, k, header="region") if k == "advice" else f.string(region, k, header="region")
             for k in _REGION_KEYS}
    return _Texts(answers, lines, texts)


class Aftercare:
    """The texts of both languages and the helplines of the person's region."""

    def __init__(self, languages=LANGUAGES, prompts_dir: Path | None = None, region: str | None = None, env=None):
        root = Path(prompts_dir) if prompts_dir is not None else default_prompts_dir()
        self.texts = {language: _load(language, root) for language in languages}
        self.directory = Directory(root)
        self.setting, self.env = region, env

    def region(self, language: str) -> tuple[str, str]:
        """The region and where it came from (setting, locale, language)."""
        return choose_region(self.setting, language, self.env)

    def helplines(self, language: str) -> Helplines:
        return self.directory.get(self.region(language)[0])

    def fill(self, template: str, language: str) -> str:
        emergency_name = self.texts[language].region["emergency_name"]
        text = template.format(**self.helplines(language).fields(emergency_name))
        # A name filled in at the start of a sentence ("the 988 Lifeline is ...") gets its capital.
        return _SENTENCE_START.sub(lambda m: m.group(0).upper(), text)

    def advice(self, language: str) -> str | None:
        """What an unknown region hears once: only 112, and to set `region`."""
        return None if self.helplines(language).known else self.texts[language].region["advice"][0]

    def lines(self, step: str, key: str, language: str) -> list[str]:
        return self.texts[language].lines[step][key]

    def answer(self, text: str, language: str) -> str | None:
        """What the utterance answers: called, safe, unsure, no, yes; None if it is no answer."""
        plain = _plain(text)
        short = len(plain.split()) <= MAX_ANSWER_WORDS
        for answer in ANSWERS:
            if (short or answer not in SHORT) and self.texts[language].answers[answer].search(plain):
                return answer
        return None

    def screen(self, numbers: list[dict], language: str) -> list[str]:
        """The last lines on screen after a session with a safety reply: the numbers
        (as numbers() gives them), and for an unknown region the advice to set it."""
        texts = self.texts[language].region
        shown = [f"  {n['name']}: {n['number']}" for n in numbers]
        return [texts["heading"], *shown] + ([] if self.helplines(language).known else [texts["unknown"]])

    def numbers(self, kind: str, language: str) -> list[dict]:
        """The same for --json: [{"name", "number"}], as the services write them."""
        lines = self.helplines(language)
        return [{"name": line.name or self.texts[language].region["emergency"], "number": line.number}
                for line in lines.lines(("abuse",) if kind == "unsafe" else ("crisis",))]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m assistant.aftercare TEXT [TEXT...]", file=sys.stderr)
        return 2
    care = Aftercare()
    for text in args:
        print(f"{text!r}: en={care.answer(text, 'en')} nl={care.answer(text, 'nl')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
