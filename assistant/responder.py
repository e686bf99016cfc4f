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
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from assistant.aftercare import ASKED_ABOUT, CHECKS, Aftercare
from assistant.language import guess_language
from assistant.library import LanguagePack, language_pack
from assistant.matcher import Matcher, MatcherSettings
from assistant.meaning import FALLBACK, Meaning, matcher_features, shared_meaning
from assistant.readings import Reading
from assistant.safety import SafetyHit, safety_detector

ROTATION = 5  # a variant does not come back within this many uses of its list
# Hours (local time) when "tonight" would be wrong: replies.toml's 'daytime' words apply.
DAY_HOURS = range(5, 18)


@dataclass
class Reply:
    """One answer, with everything --json reports about it."""

    text: str
    """What was heard."""
    language: str
    kind: str
    """reflection, crisis, unsafe, command or fallback (THEMES.md); in the safety flow also
    check (Haven asks directly about ending one's life) and aftercare (the answer to a safety
    reply or to that question; a yes to breathing is the command breathe)."""
    theme: str | None
    command: str | None
    reply: str
    """What Haven says."""
    score: float
    mode: str = "normal"
    """'safety' once a crisis was heard: the session stays there."""
    answer: str | None = None
    """What a reply after a safety reply heard (aftercare.ANSWERS, or 'unclear' after a check)."""

    def fields(self) -> dict:
        return {
            "text": self.text, "language": self.language, "kind": self.kind, "theme": self.theme,
            "command": self.command, "reply": self.reply, "score": round(self.score, 1), "mode": self.mode,
            "answer": self.answer,
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
    hour: int | None = None
    """The local hour the replies are said at (None: now); "tonight" only in the evening."""
    # The safety flow (aftercare.py):
    pending: str | None = None
    """What Haven just asked, heard on the next utterance only: 'after_crisis', or one of CHECKS."""
    keep_numbers: str | None = None
    """'crisis' or 'unsafe' once such a reply (or its check) was given: the goodbye keeps the numbers."""
    reassured: bool = False
    """The person said they are safe or called someone: no "are you safe?" again."""
    region_advised: bool = False

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


def check_prompts(prompts_dir: Path | None = None, region: str | None = None) -> None:
    """Load and validate every text a Responder needs (a PromptsError names file and line)
    and the region, without the meaning layer: fast, so that a bad file stops Haven before
    the slow loads."""
    for lang in ("en", "nl"):
        language_pack(lang, prompts_dir)
    safety_detector(("en", "nl"), prompts_dir)  # compiled once: the Responder reuses it
    Aftercare(("en", "nl"), prompts_dir, region)


class Responder:
    def __init__(self, language: str = "en", prompts_dir: Path | None = None,
                 settings: MatcherSettings | None = None, region: str | None = None,
                 meaning: Meaning | None = None, words_only: bool = False):
        """region: whose helplines the safety replies give (helplines.py).
        meaning: the encoder and heads (default: the process's shared one).
        words_only: the rules and matcher alone, without the meaning layer: only for the
        benchmarks' "rules alone" column, never for a person."""
        self.language = language
        self.prompts_dir = prompts_dir
        languages = ("en", "nl")
        self.packs = {lang: language_pack(lang, prompts_dir) for lang in languages}
        self.matchers = {lang: Matcher(self.packs[lang], settings) for lang in languages}
        self.meaning = None if words_only else (meaning or shared_meaning())
        self.safety = safety_detector(languages, prompts_dir).with_meaning(self.meaning)
        self.aftercare = Aftercare(languages, prompts_dir, region)

    def pack(self, language: str) -> LanguagePack:
        return self.packs[language]

    def respond(self, text: str, conv: Conversation, language: str | None = None,
                alternatives: tuple[Reading, ...] = ()) -> Reply:
        """The reply to `text`. `alternatives`: other readings whisper found nearly as likely
        (readings.py); a crisis or danger in a near-tie is answered as if it had been the
        transcript, since one misheard word must not hide it; in a farther reading, it asks."""
        language = language or self.language
        if language == "auto":
            language = guess_language(text, self.packs)
        conv.turns += 1
        reply = self._decide(text, conv, language, alternatives)
        reply.reply = self._timely(reply.reply, conv, language)
        if reply.kind == "command" and reply.command == "repeat" and conv.last_reply is not None:
            return reply  # "repeat" does not replace what is repeated
        conv.last_reply = reply
        return reply

    def _decide(self, text: str, conv: Conversation, language: str,
                alternatives: tuple[Reading, ...] = ()) -> Reply:
        pack, matcher = self.packs[language], self.matchers[language]

        hit = self.safety.check(text, language, alternatives)
        if hit is not None and hit.by == "meaning" and matcher.command(text).id is not None:
            # "I'm gonna quit now, goodbye": a command the matcher's precise rules hear beats
            # the meaning layer alone (a farewell to Haven is not a farewell to life); the
            # rules still beat every command.
            hit = None
        pending, conv.pending = conv.pending, None  # an answer is heard once: nothing loops
        if hit is not None and hit.kind == "check":
            if conv.safety_mode or pending in ASKED_ABOUT:
                hit = None  # already in safety mode, or just asked: the check-in or the answer below
            else:
                return self._safety_reply("check", text, conv, language, hit.score, CHECKS[hit.about])
        answer = self.aftercare.answer(text, language) if pending and hit is None else None
        if pending in ASKED_ABOUT and answer == "yes":
            hit = SafetyHit(ASKED_ABOUT[pending], 1.0, text, language, "yes to the direct question")
        if hit is not None:
            conv.safety_mode = conv.safety_mode or hit.kind == "crisis"
            return self._safety_reply(hit.kind, text, conv, language, hit.score)

        kind, label, score = self._intent(text, language)
        if kind == "command":
            said = self._command_reply(label, conv, language)
            return Reply(text, language, "command", None, label, said, score,
                         "safety" if conv.safety_mode else "normal")

        if pending is not None and (answer is not None or pending in ASKED_ABOUT):
            return self._answer(pending, answer, text, conv, language)

        if conv.safety_mode:
            # After a crisis: no theme reflections for the rest of the session.
            lines = self.aftercare.lines("after_crisis", "checkin", language) if conv.reassured \
                else self.safety.checkin(language)
            said = self.aftercare.fill(conv.pick(f"{language}:checkin:{conv.reassured}", lines), language)
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

        The matcher's command first (its rules are precise). Then, with the meaning layer,
        Meaning.intent: a command only the meaning head is sure of, else the stacked
        decision over the matcher's numbers and the meaning head, which gives way to an
        open invitation when it is unsure. Words only: the matcher's theme."""
        matcher = self.matchers[language]
        cmd = matcher.command(text)
        if cmd.id is not None:
            return "command", cmd.id, cmd.score
        if self.meaning is None:
            match = matcher.theme(text)
            return ("fallback", None, match.score) if match.id is None else ("reflection", match.id, match.score)
        decided = self.meaning.intent(self.meaning.features(text), matcher_features(matcher, text), language,
                                      matched=matcher.theme(text).id)
        score = round(decided.probability * 100, 1)
        if decided.label == FALLBACK:
            return "fallback", None, score
        if decided.label.startswith("command:"):
            return "command", decided.label.split(":", 1)[1], score
        return "reflection", decided.label, score

    def _safety_reply(self, kind: str, text: str, conv: Conversation, language: str, score: float,
                      check: str | None = None) -> Reply:
        """A crisis, unsafe or check reply, its numbers filled in for the person's region;
        `check` is the aftercare step whose question a check asks (one of CHECKS)."""
        lines = self.aftercare.lines(check, "question", language) if check else self.safety.replies(kind, language)
        said = self.aftercare.fill(conv.pick(f"{language}:{check or kind}", lines), language)
        advice = self.aftercare.advice(language)
        if advice and kind != "check" and not conv.region_advised:
            said, conv.region_advised = f"{said} {advice}", True
        conv.pending = check or {"crisis": "after_crisis"}.get(kind)
        if conv.keep_numbers != "crisis":
            conv.keep_numbers = "unsafe" if "unsafe" in (kind, ASKED_ABOUT.get(check)) else "crisis"
        return Reply(text, language, kind, None, None, said, score * 100,
                     "safety" if conv.safety_mode else "normal")

    def _answer(self, pending: str, answer: str | None, text: str, conv: Conversation, language: str) -> Reply:
        """The answer to the breathing offer after a crisis, or to a direct question."""
        if pending in ASKED_ABOUT:
            # "I'm safe" answers the question about their safety, not the one about suicide.
            key = "no" if answer == "no" or (ASKED_ABOUT[pending] == "unsafe" and answer == "safe") else "unclear"
        else:
            key = answer
            conv.reassured = conv.reassured or answer in ("safe", "called")
        said = self.aftercare.fill(conv.pick(f"{language}:{pending}:{key}", self.aftercare.lines(pending, key, language)),
                                   language)
        mode = "safety" if conv.safety_mode else "normal"
        if pending == "after_crisis" and key == "yes":
            # A yes to breathing is the breathe command: the session starts the cues at once.
            return Reply(text, language, "command", None, "breathe", said, 100.0, mode, answer=key)
        return Reply(text, language, "aftercare", None, None, said, 100.0, mode, answer=key)

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
        """One or two sentences naming the themes that came up most; after a safety reply,
        the goodbye that keeps the numbers follows."""
        language = language or (self.language if self.language != "auto" else "en")
        said = f"{self._themes_summary(conv, language)} {self.goodbye_numbers(conv, language)}".strip()
        return self._timely(said, conv, language)

    def _timely(self, text: str, conv: Conversation, language: str) -> str:
        """Evening words ("tonight") said in the daytime become daytime words ("today")."""
        hour = conv.hour if conv.hour is not None else time.localtime().tm_hour
        if hour not in DAY_HOURS:
            return text
        for pair in self.packs[language].replies.get("daytime", []):
            evening, day = (w.strip() for w in pair.split(" -> "))
            text = re.sub(rf"\b{re.escape(evening)}\b", lambda m: day[:1].upper() + day[1:]
                          if m.group(0)[:1].isupper() else day, text, flags=re.IGNORECASE)
        return text

    def goodbye_numbers(self, conv: Conversation, language: str) -> str:
        """The goodbye's numbers after a crisis, unsafe or check reply; '' otherwise."""
        if conv.keep_numbers is None:
            return ""
        lines = self.aftercare.lines("goodbye", conv.keep_numbers, language)
        return self.aftercare.fill(conv.pick(f"{language}:goodbye", lines), language)

    def numbers_kept(self, conv: Conversation, language: str) -> list[dict]:
        """The helplines the goodbye names, for --json and the screen: [] without a safety reply."""
        return self.aftercare.numbers(conv.keep_numbers, language) if conv.keep_numbers else []

    def voiced(self, text: str, language: str) -> str:
        """The text as the voice says it: the region's numbers in their spoken form."""
        return self.aftercare.helplines(language).spoken(text)

    def _themes_summary(self, conv: Conversation, language: str) -> str:
        pack = self.packs[language]
        top = [t for t, _ in conv.themes.most_common(2)]
        if not top:
            return conv.pick(f"{language}:summary_empty", pack.lines("summary_empty"))
        joiner = pack.lines("and")[0] if "and" in pack.replies else "and"
        names = [pack.themes[t].summary for t in top]
        listed = names[0] if len(names) == 1 else f"{names[0]} {joiner} {names[1]}"
        return conv.pick(f"{language}:summary_intro", pack.lines("summary_intro")).format(themes=listed)
