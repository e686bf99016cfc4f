"""The responder: themes, commands, fallback, language and conversation rules.

Accuracy is measured on the development sets (tests/data/dev_LANG.tsv, written by
someone else) with the full responder, safety first, a fresh conversation for every
utterance. Crisis and unsafe rows belong to tests/test_safety.py and are left out
here. The floors are what the matcher reaches now, and never below 90 %. The dev set
is not the goal (utterances nobody tuned on are: tests/data/holdout*), so a library
change that gains on the held-out sets may cost a dev row or two; then the floor
follows, with both numbers in the commit. Never lower one for any other reason.
Speed is printed by benchmarks/responder_eval.py, not asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.language import guess_language
from assistant.responder import ROTATION, Conversation, Responder

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

# Share of dev rows (reflection, command, fallback) answered with the right kind and id.
ACCURACY_FLOOR = {"en": 0.95, "nl": 0.904}


def load_rows(language: str) -> list[tuple[str, str, str]]:
    path = DATA / f"dev_{language}.tsv"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        assert len(parts) >= 3, f"{path.name}:{number}: expected kind<TAB>label<TAB>text"
        rows.append((parts[0].strip(), parts[1].strip(), parts[2].strip()))
    return rows


def label_of(reply) -> tuple[str, str]:
    if reply.kind == "reflection":
        return reply.kind, reply.theme
    if reply.kind == "command":
        return reply.kind, reply.command
    return reply.kind, "-"


@pytest.fixture(scope="module")
def responder() -> Responder:
    return Responder("en")


def say(responder: Responder, text: str, language: str = "en", conv: Conversation | None = None):
    return responder.respond(text, conv if conv is not None else Conversation(), language)


# -- accuracy -----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "nl"])
def test_dev_accuracy(responder, language):
    rows = [r for r in load_rows(language) if r[0] not in ("crisis", "unsafe")]
    wrong = []
    for kind, label, text in rows:
        got = label_of(say(responder, text, language))
        if got != (kind, label):
            wrong.append(f"{kind}:{label} -> {got[0]}:{got[1]}  {text}")
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= ACCURACY_FLOOR[language], (
        f"{language}: {accuracy:.1%} < {ACCURACY_FLOOR[language]:.1%}\n" + "\n".join(wrong))


@pytest.mark.parametrize("language", ["en", "nl"])
def test_dev_commands_and_fallback_all_right(responder, language):
    """Every command and every small-talk row of the dev set, without exception."""
    for kind, label, text in load_rows(language):
        if kind in ("command", "fallback"):
            assert label_of(say(responder, text, language)) == (kind, label), text


# -- small talk and fragments ---------------------------------------------------------

FRAGMENTS = {
    "en": ["um", "uh huh", "yeah", "okay so", "and then", "hello", "the", "so um the", "hmm hmm",
           "i don't know", "thank you", "you", "thanks for watching", "subtitles by the amara org community"],
    "nl": ["eh", "ja", "nou", "oké dan", "en toen", "hallo", "de", "eh dus", "hmm", "ik weet het niet",
           "dank je", "bedankt voor het kijken", "ondertiteld door de amara org gemeenschap"],
}

# Everyday talk that is not about the relationship. Some of it shares a word with
# a theme ("she works at the hospital", "my mom called about the holidays"), so a
# few may still get a theme; the share that falls back must stay at least this high.
SMALL_TALK_FALLBACK_FLOOR = 0.80
SMALL_TALK = {
    "en": ["i had a sandwich for lunch", "the weather is nice today", "can you believe the traffic this morning",
           "i watched a movie last night", "my sister is coming over on sunday", "we need to fix the car",
           "i went to the gym", "the cat is sleeping on the couch", "i have a meeting at ten",
           "do you know any good recipes", "it's raining again", "the kids have school tomorrow",
           "i forgot my keys at the office", "what's on tv tonight", "he bought a new phone",
           "we're going to the beach this weekend", "my mom called about the holidays", "i need to do the laundry",
           "the dog needs a walk", "is this thing on", "testing testing one two three", "that's funny",
           "we painted the living room", "the train was full this morning", "i'm reading a good book",
           "let me check my calendar", "the soup is too salty", "she works at the hospital",
           "he plays football on saturdays", "our neighbours got a new car", "i'm cooking pasta tonight",
           "the wifi is slow again", "did you see the news"],
    "nl": ["ik heb een broodje gegeten", "het is mooi weer vandaag", "wat een file vanochtend",
           "ik heb gisteren een film gekeken", "mijn zus komt zondag langs", "de auto moet naar de garage",
           "ik ben naar de sportschool geweest", "de kat ligt op de bank te slapen",
           "ik heb om tien uur een vergadering", "weet jij een lekker recept", "het regent alweer",
           "de kinderen moeten morgen naar school", "ik ben mijn sleutels vergeten", "wat is er vanavond op tv",
           "hij heeft een nieuwe telefoon gekocht", "we gaan dit weekend naar het strand",
           "mijn moeder belde over de feestdagen", "ik moet nog de was doen", "de hond moet uitgelaten worden",
           "doet dit ding het", "wat grappig", "we hebben de woonkamer geverfd", "de trein was vol vanochtend",
           "ik lees een goed boek", "ik kijk even in mijn agenda", "de soep is te zout",
           "ze werkt in het ziekenhuis", "hij voetbalt op zaterdag", "de buren hebben een nieuwe auto",
           "ik kook vanavond pasta", "de wifi is weer traag", "heb je het nieuws gezien"],
}


@pytest.mark.parametrize("language", ["en", "nl"])
def test_fragments_and_speech_recognition_noise_fall_back(responder, language):
    for text in FRAGMENTS[language]:
        reply = say(responder, text, language)
        assert reply.kind == "fallback", f"{text!r} -> {label_of(reply)}"


@pytest.mark.parametrize("language", ["en", "nl"])
def test_small_talk_gets_no_theme(responder, language):
    themed = []
    for text in SMALL_TALK[language]:
        reply = say(responder, text, language)
        assert reply.kind != "command", f"{text!r} -> {label_of(reply)}"
        if reply.kind != "fallback":
            themed.append(f"{text!r} -> {label_of(reply)}")
        else:
            assert reply.reply in responder.pack(language).lines("fallback")
    share = 1 - len(themed) / len(SMALL_TALK[language])
    assert share >= SMALL_TALK_FALLBACK_FLOOR, f"{share:.0%} fell back:\n" + "\n".join(themed)


# -- commands --------------------------------------------------------------------------

COMMANDS = {
    "en": [("stop", "stop"), ("okay stop please", "stop"), ("goodbye", "stop"), ("hold on a second", "pause"),
           ("can you pause", "pause"), ("go on", "resume"), ("okay i'm back", "resume"),
           ("could you say that again please", "repeat"), ("sorry what did you say", "repeat"),
           ("slow down please", "slower"), ("your talking too fast", "slower"), ("help me breathe", "breathe"),
           ("i'm panicking can we do the breathing exercise", "breathe"), ("what can you do", "help"),
           ("how does this work", "help")],
    "nl": [("stop", "stop"), ("doei", "stop"), ("genoeg voor vandaag", "stop"), ("wacht even", "pause"),
           ("momentje", "pause"), ("ga maar door", "resume"), ("ik ben er weer", "resume"),
           ("kun je dat herhalen", "repeat"), ("wat zei je", "repeat"), ("je praat te snel", "slower"),
           ("langzamer alsjeblieft", "slower"), ("adem met me mee", "breathe"), ("hoe werkt dit", "help"),
           ("wat kun je", "help")],
}

# A command word inside a sentence about someone else is no command.
NOT_COMMANDS = {
    "en": ["i wish he would stop ignoring me", "i just want him to stop", "he told me to go on without him",
           "she said that's enough and walked out", "i can't wait for him to notice me",
           "i can't breathe when he yells at me like that", "wait he never even said sorry",
           "he keeps saying it again and again", "she never helps me with anything",
           "i need help with him he never listens"],
    "nl": ["ik wil dat hij stopt met zeuren", "hij ging gewoon door met praten", "ik wacht altijd op hem",
           "ik kan niet ademen als hij zo schreeuwt", "ze helpt me nooit met iets",
           "hij zegt het steeds weer opnieuw", "ik wou dat ze eens stopte met op haar telefoon zitten"],
}


@pytest.mark.parametrize("language", ["en", "nl"])
def test_commands(responder, language):
    for text, command in COMMANDS[language]:
        reply = say(responder, text, language)
        assert (reply.kind, reply.command) == ("command", command), f"{text!r} -> {label_of(reply)}"


@pytest.mark.parametrize("language", ["en", "nl"])
def test_command_words_inside_sentences_are_not_commands(responder, language):
    for text in NOT_COMMANDS[language]:
        reply = say(responder, text, language)
        assert reply.kind != "command", f"{text!r} -> {label_of(reply)}"


def test_command_inside_sentence_still_gets_its_theme(responder):
    reply = say(responder, "i wish he would stop ignoring me all the time")
    assert (reply.kind, reply.theme) == ("reflection", "unseen")


# -- conversation --------------------------------------------------------------------

THEME_TALK = {
    ("en", "unseen"): ["he's always on his phone when i'm talking to him", "she never has time for me anymore",
                       "i feel invisible in my own house", "his work always comes first"],
    ("nl", "alone"): ["ik voel me zo eenzaam naast hem", "ik voel me zo alleen",
                      "we leven langs elkaar heen", "ik heb niemand om mee te praten"],
    ("en", "protest"): ["i keep yelling at her until she answers", "i nag and nag until he reacts"],
    ("nl", "cycle"): ["we hebben steeds weer dezelfde ruzie", "het is altijd hetzelfde patroon"],
}


def reflection_of(reply, responder, language: str) -> str:
    """The reflection a reply starts with (the rest is the invitation or question)."""
    options = responder.pack(language).themes[reply.theme].reflections
    found = [r for r in options if reply.reply.startswith(r)]
    assert len(found) == 1, reply.reply
    return found[0]


@pytest.mark.parametrize("language,theme", [("en", "unseen"), ("nl", "alone")])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_reflections_rotate(responder, language, theme, seed):
    """The same reflection does not come back within five replies on a theme."""
    conv = Conversation(seed=seed)
    talk = THEME_TALK[(language, theme)]
    used = []
    for turn in range(24):
        reply = say(responder, talk[turn % len(talk)], language, conv)
        assert (reply.kind, reply.theme) == ("reflection", theme), reply.text
        used.append(reflection_of(reply, responder, language))
    for i, reflection in enumerate(used):
        recent = used[max(0, i - ROTATION):i]
        assert reflection not in recent, f"turn {i}: {reflection!r} came back within {ROTATION} replies"


def test_rotation_is_per_theme(responder):
    """Talk about another theme in between does not use up a theme's variants."""
    conv = Conversation(seed=3)
    used = []
    for turn in range(12):
        reply = say(responder, THEME_TALK[("en", "unseen")][turn % 4], "en", conv)
        used.append(reflection_of(reply, responder, "en"))
        say(responder, THEME_TALK[("en", "protest")][turn % 2], "en", conv)
    for i in range(len(used)):
        assert used[i] not in used[max(0, i - ROTATION):i]


@pytest.mark.parametrize("language,first,second", [("en", "unseen", "protest"), ("nl", "alone", "cycle")])
def test_follow_up_question_when_the_theme_continues(responder, language, first, second):
    pack = responder.pack(language)
    invitations = pack.lines("invitations")
    conv = Conversation(seed=5)

    def closing(reply) -> str:
        return reply.reply[len(reflection_of(reply, responder, language)):].strip()

    a = THEME_TALK[(language, first)]
    b = THEME_TALK[(language, second)]
    r1 = say(responder, a[0], language, conv)
    assert r1.theme == first and closing(r1) in invitations, "a new theme ends with an open invitation"
    r2 = say(responder, a[1], language, conv)
    assert r2.theme == first and closing(r2) in pack.themes[first].questions, "same theme: go a step deeper"
    r3 = say(responder, a[2], language, conv)
    assert r3.theme == first and closing(r3) in pack.themes[first].questions
    r4 = say(responder, b[0], language, conv)
    assert r4.theme == second and closing(r4) in invitations, "another theme starts with an invitation again"
    r5 = say(responder, b[1], language, conv)
    assert r5.theme == second and closing(r5) in pack.themes[second].questions


@pytest.mark.parametrize("language,again", [("en", "say that again"), ("en", "sorry what did you say"),
                                            ("nl", "wat zei je"), ("nl", "kun je dat herhalen")])
def test_repeat_says_the_last_reply_word_for_word(responder, language, again):
    conv = Conversation(seed=2)
    talk = THEME_TALK[("en", "unseen")] if language == "en" else THEME_TALK[("nl", "alone")]
    first = say(responder, talk[0], language, conv)
    assert first.kind == "reflection"
    repeated = say(responder, again, language, conv)
    assert (repeated.kind, repeated.command) == ("command", "repeat")
    assert repeated.reply.endswith(first.reply), "the previous reply, word for word"
    lead = repeated.reply[: -len(first.reply)].strip()
    assert lead in ("", *responder.pack(language).commands["repeat"].replies)
    # Asking again repeats the same reply, not the repeat.
    assert say(responder, again, language, conv).reply == repeated.reply
    # And the conversation goes on from there.
    after = say(responder, talk[1], language, conv)
    assert after.kind == "reflection" and after.reply != repeated.reply


def test_repeat_repeats_a_command_reply_and_a_fallback(responder):
    conv = Conversation()
    paused = say(responder, "hold on a second", "en", conv)
    assert say(responder, "say that again", "en", conv).reply.endswith(paused.reply)
    small = say(responder, "the weather is nice today", "en", conv)
    assert small.kind == "fallback"
    assert say(responder, "repeat that", "en", conv).reply.endswith(small.reply)


def test_repeat_before_anything_was_said(responder):
    reply = say(responder, "say that again", "en", Conversation())
    assert reply.kind == "command" and reply.reply


# -- language ------------------------------------------------------------------------

AUTO = [
    ("i feel so alone even when he's next to me", "en"), ("ik voel me zo alleen als hij naast me ligt", "nl"),
    ("he never listens to me", "en"), ("hij luistert nooit naar me", "nl"), ("hold on", "en"),
    ("wacht even", "nl"), ("momentje", "nl"), ("say that again", "en"), ("wat zei je", "nl"),
    ("we always have the same fight", "en"), ("we hebben altijd dezelfde ruzie", "nl"),
    ("stop", "en"), ("doei", "nl"), ("ik wil niet meer", "nl"), ("i don't know", "en"),
]


@pytest.mark.parametrize("text,language", AUTO)
def test_auto_language_picks_the_language_of_the_text(responder, text, language):
    packs = {lang: responder.pack(lang) for lang in ("en", "nl")}
    assert guess_language(text, packs) == language
    assert responder.respond(text, Conversation(), "auto").language == language


@pytest.mark.parametrize("language", ["en", "nl"])
def test_auto_language_on_the_dev_set(responder, language):
    packs = {lang: responder.pack(lang) for lang in ("en", "nl")}
    rows = load_rows(language)
    right = sum(guess_language(text, packs) == language for _, _, text in rows)
    assert right / len(rows) >= 0.98


def test_auto_language_reflects_in_that_language(responder):
    conv = Conversation()
    en = responder.respond("he's always on his phone when i'm talking to him", conv, "auto")
    nl = responder.respond("ik voel me zo eenzaam naast hem", conv, "auto")
    assert (en.language, en.theme) == ("en", "unseen")
    assert (nl.language, nl.theme) == ("nl", "alone")
    assert reflection_of(nl, responder, "nl") in responder.pack("nl").themes["alone"].reflections


def test_empty_text_goes_to_english_and_falls_back(responder):
    reply = responder.respond("", Conversation(), "auto")
    assert reply.language == "en" and reply.kind == "fallback"


# -- the time of day -------------------------------------------------------------------

@pytest.mark.parametrize("language, evening, day", [("en", "tonight", "today"), ("nl", "vanavond", "vandaag")])
def test_tonight_is_said_only_in_the_evening(responder, language, evening, day):
    """replies.toml's 'daytime' words: at 1 pm no reply says "tonight"; at 10 pm they may."""
    said = {}
    for hour in (13, 22):
        lines = []
        for seed in range(12):  # enough rotations to meet the lines that say it
            conv = Conversation(seed=seed, hour=hour)
            lines.append(responder.summary(conv, language))  # nothing heard: summary_empty
            conv.themes["unseen"] += 1
            lines.append(responder.summary(conv, language))  # summary_intro
        said[hour] = " ".join(lines).lower()
    assert evening in said[22]
    assert evening not in said[13] and day in said[13]


def _trigger_scores_by_loop(matcher, index, words):
    """The trigger scores as Matcher._score_triggers worked them out before it summed over
    flat arrays: one trigger at a time, one word at a time (kept here as the reference)."""
    from assistant.matcher import _best_heard, _window

    heard, _, said_all = matcher._heard(index, words)
    s = matcher.s
    scores = {}
    for j in {j for i in heard for j in index.by_stem[i]}:
        t = index.triggers[j]
        bonus, positions, matched, floored, weighed = False, [], [], 0.0, 0.0
        for i, subj, w, wf in zip(t.stems, t.subjects, t.weights, t.floored):
            if i not in heard:
                continue
            best, same = _best_heard(heard[i], subj, s.other_subject)
            floored += best * wf
            weighed += best * w
            bonus = bonus or same
            matched.append(i)
            positions.append([k for k, _, _ in heard[i]])
        coverage = floored / t.floored_mass
        span, _ = _window(positions)
        if span > t.n_words + 3:
            coverage *= max(0.5, (t.n_words + 3) / span) ** 0.5
        mass = t.mass + (s.person_weight if bonus else 0.0)
        coverage *= max(min(1.0, (mass / s.light_mass) ** s.light_power), min(1.0, weighed / max(said_all, 1e-9)))
        scores[j] = (coverage, frozenset(matched))
    return scores


@pytest.mark.parametrize("language", ["en", "nl"])
def test_trigger_scores_are_those_of_one_trigger_at_a_time(language):
    """The flat-array sums give every trigger exactly the score (and matched words, and
    order) of the plain loop, on every dev row and a training file: long rambles with words
    said twice, the speaker and the other person, misheard words."""
    matcher = Responder(language, words_only=True).matchers[language]
    index = matcher._themes
    training = ROOT / "training" / language / "themes_more.tsv"
    rows = [text for _, _, text in load_rows(language)]
    rows += [line.split("\t")[2] for line in training.read_text(encoding="utf-8").splitlines()
             if line.count("\t") >= 2 and not line.startswith("#")]
    assert len(rows) > 700
    for text in rows:
        words = matcher.normalise(text)[0].split()
        got = matcher._score_triggers(index, words)[0]
        want = _trigger_scores_by_loop(matcher, index, words)
        assert list(got) == list(want), text
        assert got == want, text
