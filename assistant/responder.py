"""From what was heard to what Haven says: a pure function of text, language and state.

Order matters and is fixed: safety first (a crisis is never answered with a
reflection, and it beats commands; when unsure, a direct question), then commands,
then themes, then an open invitation. Two readers decide together: the word rules
and matcher of prompts/, and the meaning layer (assistant.meaning: a sentence encoder
with small trained heads), which hears what the words alone miss. No audio here, so
every rule is testable with strings.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from assistant.language import guess_language
from assistant.library import LanguagePack, language_pack
from assistant.matcher import Matcher, MatcherSettings
from assistant.meaning import FALLBACK, Meaning, matcher_features, shared_meaning
from assistant.safety import SafetyDetector

ROTATION = 5  # a variant does not come back within this many uses of its list


@dataclass
class Reply:
    """One answer, with everything --json reports about it."""

    text: str
    """What was heard."""
    language: str
    kind: str
    theme: str | None
    command: str | None
    reply: str
    """What Haven says."""
    score: float
    mode: str = "normal"
    """'safety' once a crisis was heard: the session stays there."""

    def fields(self) -> dict:
        return {
            "text": self.text, "language": self.language, "kind": self.kind, "theme": self.theme,
            "command": self.command, "reply": self.reply, "score": round(self.score, 1), "mode": self.mode,
        }


@dataclass
class Conversation:
    """What the responder remembers between utterances."""

    seed: int = 0
    recent: dict[str, deque] = field(default_factory=dict)
    last_reply: Reply | None = None
    last_theme: str | None = None
    themes: Counter = field(default_factory=Counter)
    safety_mode: bool = False
    turns: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def pick(self, key: str, options: list[str]) -> str:
        """A variant not used in the last ROTATION picks from the same list."""
        used = self.recent.setdefault(key, deque(maxlen=min(ROTATION, max(len(options) - 1, 0))))
        fresh = [o for o in options if o not in used] or list(options)
        choice = self.rng.choice(fresh)
        if used.maxlen:
            used.append(choice)
        return choice


def check_prompts(prompts_dir: Path | None = None) -> None:
    """Load and validate every text a Responder needs (a PromptsError names file and line),
    without the meaning layer: fast, so that a bad file stops Haven before slow loads."""
    for lang in ("en", "nl"):
        language_pack(lang, prompts_dir)
    SafetyDetector(("en", "nl"), prompts_dir)


class Responder:
    def __init__(self, language: str = "en", prompts_dir: Path | None = None,
                 settings: MatcherSettings | None = None, meaning: Meaning | None = None,
                 words_only: bool = False):
        """meaning: the encoder and heads (default: the process's shared one).
        words_only: the rules and matcher alone, without the meaning layer: only for the
        benchmarks' "rules alone" column, never for a person."""
        self.language = language
        self.prompts_dir = prompts_dir
        languages = ("en", "nl")
        self.packs = {lang: language_pack(lang, prompts_dir) for lang in languages}
        self.matchers = {lang: Matcher(self.packs[lang], settings) for lang in languages}
        self.meaning = None if words_only else (meaning or shared_meaning())
        self.safety = SafetyDetector(languages, prompts_dir, meaning=self.meaning)

    def pack(self, language: str) -> LanguagePack:
        return self.packs[language]

    def respond(self, text: str, conv: Conversation, language: str | None = None) -> Reply:
        language = language or self.language
        if language == "auto":
            language = guess_language(text, self.packs)
        conv.turns += 1
        reply = self._decide(text, conv, language)
        if reply.kind == "command" and reply.command == "repeat" and conv.last_reply is not None:
            return reply  # "repeat" does not replace what is repeated
        conv.last_reply = reply
        return reply

    def _decide(self, text: str, conv: Conversation, language: str) -> Reply:
        pack, matcher = self.packs[language], self.matchers[language]

        hit = self.safety.check(text)
        if hit is not None:
            conv.safety_mode = conv.safety_mode or hit.kind == "crisis"
            said = conv.pick(f"{language}:{hit.kind}", self.safety.replies(hit.kind, language))
            return Reply(text, language, hit.kind, None, None, said, hit.score * 100,
                         "safety" if conv.safety_mode else "normal")

        kind, label, score = self._intent(text, language)
        if kind == "command":
            said = self._command_reply(label, conv, language)
            return Reply(text, language, "command", None, label, said, score,
                         "safety" if conv.safety_mode else "normal")

        if conv.safety_mode:
            # After a crisis: no theme reflections for the rest of the session.
            said = conv.pick(f"{language}:checkin", self.safety.checkin(language))
            return Reply(text, language, "fallback", None, None, said, 0.0, "safety")

        if kind == "fallback":
            said = conv.pick(f"{language}:fallback", pack.lines("fallback"))
            conv.last_theme = None
            return Reply(text, language, "fallback", None, None, said, score)

        theme = pack.themes[label]
        reflection = conv.pick(f"{language}:{theme.id}:reflection", theme.reflections)
        if conv.last_theme == theme.id:
            # The person stays with it: go a step deeper.
            closing = conv.pick(f"{language}:{theme.id}:question", theme.questions)
        else:
            closing = conv.pick(f"{language}:invitation", pack.lines("invitations"))
        conv.last_theme = theme.id
        conv.themes[theme.id] += 1
        return Reply(text, language, "reflection", theme.id, None, f"{reflection} {closing}", score)

    def _intent(self, text: str, language: str) -> tuple[str, str | None, float]:
        """("command", id, score), ("reflection", theme id, score) or ("fallback", None, score).

        With the meaning layer: the stacked decision over the matcher's numbers and the
        meaning head (assistant.meaning.Meaning.intent), which gives way to an open
        invitation when it is unsure. Words only: the matcher's command, then its theme."""
        matcher = self.matchers[language]
        if self.meaning is None:
            cmd = matcher.command(text)
            if cmd.id is not None:
                return "command", cmd.id, cmd.score
            match = matcher.theme(text)
            return ("fallback", None, match.score) if match.id is None else ("reflection", match.id, match.score)
        decided = self.meaning.intent(self.meaning.features(text), matcher_features(matcher, text), language)
        score = round(decided.probability * 100, 1)
        if decided.label == FALLBACK:
            return "fallback", None, score
        if decided.label.startswith("command:"):
            return "command", decided.label.split(":", 1)[1], score
        return "reflection", decided.label, score

    def _command_reply(self, command: str, conv: Conversation, language: str) -> str:
        replies = self.packs[language].commands[command].replies
        if command == "repeat":
            if conv.last_reply is None:
                return conv.pick(f"{language}:fallback", self.packs[language].lines("fallback"))
            # Word for word, after the short lead-in ("I said:").
            lead = replies[0] if replies else ""
            return f"{lead} {conv.last_reply.reply}".strip()
        return conv.pick(f"{language}:command:{command}", replies) if replies else ""

    def summary(self, conv: Conversation, language: str | None = None) -> str:
        """One or two sentences naming the themes that came up most."""
        language = language or (self.language if self.language != "auto" else "en")
        pack = self.packs[language]
        top = [t for t, _ in conv.themes.most_common(2)]
        if not top:
            return conv.pick(f"{language}:summary_empty", pack.lines("summary_empty"))
        joiner = pack.lines("and")[0] if "and" in pack.replies else "and"
        names = [pack.themes[t].summary for t in top]
        listed = names[0] if len(names) == 1 else f"{names[0]} {joiner} {names[1]}"
        return conv.pick(f"{language}:summary_intro", pack.lines("summary_intro")).format(themes=listed)
