"""The safety flow in text (issue #13): the short conversation after a crisis reply, the
direct check when the safety layer is unsure, the goodbye that keeps the numbers. Every
branch in English and Dutch, through the real Responder and the texts in prompts/.
(The same through real speech and the real model: test_safety_flow_listen.py.)"""

from __future__ import annotations


import pytest

from assistant.aftercare import CHECKS, Aftercare
from assistant.errors import PromptsError
from assistant.responder import Conversation, Responder
from conftest import edit_file

CRISIS = {"en": "I don't want to live anymore", "nl": "ik wil niet meer leven"}
UNSAFE = {"en": "he hit me last night and I'm scared to go home", "nl": "hij heeft me gisteren geslagen"}
# Said without a word the rules know, and in the meaning layer's "check" band (the real
# detector: test_the_unsure_sentences_are_in_the_check_band keeps that true).
UNSURE = {"en": "I can't do this anymore, I'm so tired of everything",
          "nl": "ik kan dit niet meer, ik ben alles zo moe"}
# The same for the question about their safety: in the band between "clear" and the unsafe alarm.
UNSURE_UNSAFE = {"en": "I told my sister I walked into a door again",
                 "nl": "ik schrik als hij zijn hand optilt, ook als hij gewoon iets pakt"}
UNSURE_ABOUT = {"crisis": UNSURE, "unsafe": UNSURE_UNSAFE}
HOME = {"en": ("988", "911"), "nl": ("0800-0113", "112")}  # crisis line, emergency: US, NL
ABUSE = {"en": "1-800-799-7233", "nl": "0800-2000"}  # the domestic-violence line: US, NL
# Each answer, as a person might say it after the crisis reply's offer to breathe together.
ANSWERS = {
    "en": {"yes": ["yes", "yes please", "okay let's do that", "Yeah."], "no": ["no", "no thanks", "not now"],
           "safe": ["I'm safe", "I'm okay now, I'm safe."], "called": ["I'm safe, I called my sister", "I called someone"],
           "unsure": ["I don't know", "I'm not sure"]},
    "nl": {"yes": ["ja", "ja graag", "oké, laten we dat doen"], "no": ["nee", "nee dank je", "liever niet"],
           "safe": ["ik ben veilig", "het gaat nu wel, ik ben veilig"], "called": ["ik heb mijn zus gebeld"],
           "unsure": ["ik weet het niet", "geen idee"]},
}


@pytest.fixture(scope="module")
def care():
    return Aftercare(env={})


@pytest.fixture(scope="module")
def responders():
    return {lang: Responder(lang) for lang in ("en", "nl")}


def after_crisis(responders, lang):
    r, conv = responders[lang], Conversation()
    first = r.respond(CRISIS[lang], conv, lang)
    assert first.kind == "crisis" and conv.pending == "after_crisis"
    return r, conv


@pytest.mark.parametrize("lang,answer,text", [(lang, a, t) for lang, by in ANSWERS.items()
                                              for a, texts in by.items() for t in texts])
def test_answers_are_heard(care, lang, answer, text):
    assert care.answer(text, lang) == answer


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_yes_starts_breathing_still_in_safety_mode(responders, lang, care):
    r, conv = after_crisis(responders, lang)
    reply = r.respond(ANSWERS[lang]["yes"][1], conv, lang)
    assert (reply.kind, reply.command, reply.answer, reply.mode) == ("command", "breathe", "yes", "safety")
    assert reply.reply in [care.fill(t, lang) for t in care.lines("after_crisis", "yes", lang)]
    assert HOME[lang][0] in reply.reply  # the number stays offered
    # A crisis still cuts through right after.
    assert r.respond(CRISIS[lang], conv, lang).kind == "crisis"


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("answer", ["no", "safe", "called", "unsure"])
def test_each_other_answer_gets_its_own_words_and_keeps_the_number(responders, care, lang, answer):
    r, conv = after_crisis(responders, lang)
    reply = r.respond(ANSWERS[lang][answer][0], conv, lang)
    assert (reply.kind, reply.answer, reply.mode) == ("aftercare", answer, "safety")
    assert reply.reply in [care.fill(t, lang) for t in care.lines("after_crisis", answer, lang)]
    assert HOME[lang][0] in reply.reply


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_safe_or_called_is_not_asked_again(responders, care, lang):
    r, conv = after_crisis(responders, lang)
    r.respond(ANSWERS[lang]["called"][0], conv, lang)
    asking = {"en": "are you safe", "nl": "ben je veilig"}[lang]
    for text in ({"en": ["he never listens to me", "I'm just so tired", "it's hard"],
                  "nl": ["hij luistert nooit", "ik ben zo moe", "het is zwaar"]}[lang]):
        reply = r.respond(text, conv, lang)
        assert reply.kind == "fallback" and reply.mode == "safety"  # still no reflections
        assert asking not in reply.reply.lower()
        assert HOME[lang][0] in reply.reply


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_nothing_loops(responders, lang):
    # An answer is heard once: a second "yes" later is not a second answer to the offer.
    r, conv = after_crisis(responders, lang)
    assert r.respond(ANSWERS[lang]["no"][0], conv, lang).kind == "aftercare"
    later = r.respond(ANSWERS[lang]["yes"][0], conv, lang)
    assert later.kind != "aftercare" and later.command != "breathe"
    assert conv.pending is None


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_command_wins_over_an_answer(responders, lang):
    # "okay, that's enough for today, goodbye" holds "okay", but it is the stop command.
    r, conv = after_crisis(responders, lang)
    text = {"en": "okay, that's enough for today, goodbye", "nl": "oké, dat is genoeg voor vandaag, doei"}[lang]
    reply = r.respond(text, conv, lang)
    assert (reply.kind, reply.command) == ("command", "stop")


# --- the direct check (the meaning layer's "check" band, with the real detector) ---

@pytest.fixture(scope="module")
def checking():
    return {lang: Responder(lang) for lang in ("en", "nl")}


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("about", ["crisis", "unsafe"])
def test_the_unsure_sentences_are_in_the_check_band(checking, lang, about):
    hit = checking[lang].safety.check(UNSURE_ABOUT[about][lang], lang)
    assert (hit.kind, hit.by, hit.about) == ("check", "meaning", about)


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("about", ["crisis", "unsafe"])
def test_the_check_asks_plainly(checking, care, lang, about):
    r, conv = checking[lang], Conversation()
    reply = r.respond(UNSURE_ABOUT[about][lang], conv, lang)
    assert reply.kind == "check" and reply.reply in care.lines(CHECKS[about], "question", lang)
    assert conv.pending == CHECKS[about] and not conv.safety_mode


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_yes_to_the_check_is_the_crisis_reply(checking, lang):
    r, conv = checking[lang], Conversation()
    r.respond(UNSURE[lang], conv, lang)
    reply = r.respond(ANSWERS[lang]["yes"][0], conv, lang)
    assert reply.kind == "crisis" and reply.mode == "safety" and HOME[lang][0] in reply.reply
    assert conv.pending == "after_crisis"


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_yes_to_the_question_about_safety_is_the_unsafe_reply(checking, lang):
    r, conv = checking[lang], Conversation()
    r.respond(UNSURE_UNSAFE[lang], conv, lang)
    reply = r.respond(ANSWERS[lang]["yes"][0], conv, lang)
    assert reply.kind == "unsafe" and ABUSE[lang] in reply.reply and HOME[lang][1] in reply.reply
    assert conv.pending is None and not conv.safety_mode  # as after any unsafe reply
    assert [n["number"] for n in r.numbers_kept(conv, lang)] == [ABUSE[lang], HOME[lang][1]]


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("about", ["crisis", "unsafe"])
def test_no_to_the_check_returns_gently_with_extra_care(checking, care, lang, about):
    r, conv = checking[lang], Conversation()
    r.respond(UNSURE_ABOUT[about][lang], conv, lang)
    reply = r.respond(ANSWERS[lang]["no"][0], conv, lang)
    assert (reply.kind, reply.answer, reply.mode) == ("aftercare", "no", "normal")
    assert reply.reply in care.lines(CHECKS[about], "no", lang)
    # Reflections go on; the goodbye keeps the number of what was asked about (the extra care).
    text = {"en": "he was on his phone all through dinner again", "nl": "hij zat de hele avond op zijn telefoon"}[lang]
    assert r.respond(text, conv, lang).kind == "reflection"
    assert (HOME[lang][0] if about == "crisis" else ABUSE[lang]) in r.summary(conv, lang)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_im_safe_answers_the_question_about_safety_as_no(checking, care, lang):
    r, conv = checking[lang], Conversation()
    r.respond(UNSURE_UNSAFE[lang], conv, lang)
    reply = r.respond(ANSWERS[lang]["safe"][0], conv, lang)
    assert (reply.kind, reply.answer) == ("aftercare", "no")
    assert reply.reply in care.lines("check_unsafe", "no", lang)


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("about", ["crisis", "unsafe"])
def test_an_unclear_answer_to_the_check_gets_the_number_kindly(checking, care, lang, about):
    r, conv = checking[lang], Conversation()
    r.respond(UNSURE_ABOUT[about][lang], conv, lang)
    text = {"en": "I don't really know what I think anymore", "nl": "ik weet niet meer wat ik denk"}[lang]
    reply = r.respond(text, conv, lang)
    assert (reply.kind, reply.answer) == ("aftercare", "unclear")
    assert reply.reply in [care.fill(t, lang) for t in care.lines(CHECKS[about], "unclear", lang)]
    assert (HOME[lang][0] if about == "crisis" else ABUSE[lang]) in reply.reply


# --- the goodbye keeps the number ---

@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("kind", ["crisis", "unsafe"])
def test_the_goodbye_names_the_numbers_after_a_safety_reply(responders, lang, kind):
    r, conv = responders[lang], Conversation()
    said = r.respond((CRISIS if kind == "crisis" else UNSAFE)[lang], conv, lang)
    assert said.kind == kind
    goodbye = r.summary(conv, lang)
    numbers = [n["number"] for n in r.numbers_kept(conv, lang)]
    expected = {("en", "crisis"): ["988", "911"], ("nl", "crisis"): ["0800-0113", "112"],
                ("en", "unsafe"): ["1-800-799-7233", "911"], ("nl", "unsafe"): ["0800-2000", "112"]}[lang, kind]
    assert numbers == expected
    assert all(n in goodbye for n in numbers), goodbye


def test_no_numbers_in_a_goodbye_without_a_safety_reply(responders):
    r, conv = responders["en"], Conversation()
    r.respond("he never listens to me", conv, "en")
    assert r.numbers_kept(conv, "en") == [] and "988" not in r.summary(conv, "en")


def test_the_screen_ends_with_the_numbers(responders, care):
    r, conv = responders["en"], Conversation()
    r.respond(CRISIS["en"], conv, "en")
    lines = care.screen(r.numbers_kept(conv, "en"), "en")
    assert lines[0] == care.texts["en"].region["heading"]
    assert lines[1:] == ["  the 988 Lifeline: 988", "  Emergency: 911"]


# --- the texts are data, checked with file and line ---

# prompts_copy: the fixture in conftest.py


def test_a_digit_in_a_reply_names_file_and_line(prompts_copy):
    path = prompts_copy / "nl" / "aftercare.toml"
    line = edit_file(path, "Dat is goed, het hoeft niet.", "Dat is goed, bel 113.")
    with pytest.raises(PromptsError, match=rf"nl/aftercare\.toml:{line}: \[after_crisis\] no: numbers only as placeholders"):
        Aftercare(prompts_dir=prompts_copy, env={})


def test_an_unknown_answer_names_file_and_line(prompts_copy):
    path = prompts_copy / "en" / "aftercare.toml"
    line = edit_file(path, "\nyes = [\"yes\"", "\nmaybe_yes = [\"hm\"]\nyes = [\"yes\"") + 1
    with pytest.raises(PromptsError, match=rf"en/aftercare\.toml:{line}: \[answers\] has an unknown key 'maybe_yes'"):
        Aftercare(prompts_dir=prompts_copy, env={})


def test_a_missing_step_is_named(prompts_copy):
    path = prompts_copy / "en" / "aftercare.toml"
    edit_file(path, "[check]\n", "[checks]\n")
    with pytest.raises(PromptsError, match=r"en/aftercare\.toml:\d+: the file has an unknown table 'checks'"):
        Aftercare(prompts_dir=prompts_copy, env={})


# --- every way out keeps the number ---

@pytest.mark.parametrize("how", ["interrupt", "input"])
def test_ctrl_c_and_the_end_of_a_recording_keep_the_number(how):
    from fakes import Say, run_test

    script = [Say(CRISIS["en"], 1, 3)]
    evs = run_test(script, 40, interrupt_at=30 if how == "interrupt" else None)
    summary = next(e for e in evs if e["event"] == "summary")
    assert summary["reason"] == how
    assert "988" in summary["text"] and [n["number"] for n in summary["helplines"]] == ["988", "911"]


@pytest.mark.parametrize("code,message", [(130, "haven: interrupted"), (143, "haven: stopped (SIGTERM)")])
def test_the_numbers_come_after_the_last_line_of_an_interrupted_command(monkeypatch, code, message):
    # cli.main prints the kept numbers after everything else, its own one line included.
    from assistant import cli
    from assistant.helplines import show_last
    from conftest import haven_here

    def interrupted(args):
        show_last(["If you need someone:", "  the 988 Lifeline: 988"])
        error = KeyboardInterrupt()
        error.exit_code = code
        raise error

    monkeypatch.setitem(cli.COMMANDS, "listen", interrupted)
    result = haven_here("listen")
    assert result.returncode == code
    assert [l for l in result.stderr.splitlines() if l.strip()][-3:] == [message, "If you need someone:", "  the 988 Lifeline: 988"]


def test_the_journal_summary_names_the_numbers(tmp_path):
    from fakes import Say, run_test

    from assistant.events import Done, Listening, ReplyEvent, Summary
    from assistant.journal import Journal

    evs = run_test([Say(CRISIS["en"], 1, 3), Say("stop", 30, 31)], 60)
    j = Journal(tmp_path, "recording test.wav")
    j.record(Listening())
    for e in evs:
        if e["event"] == "reply":
            j.record(ReplyEvent(**{k: v for k, v in e.items() if k != "event"}))
        elif e["event"] == "summary":
            j.record(Summary(**{k: v for k, v in e.items() if k != "event"}))
    j.record(Done())
    j.close()
    text = next(tmp_path.glob("*.md")).read_text(encoding="utf-8")  # the folder also keeps .last
    summary = text[text.index("## Summary"):]
    assert "988" in summary and "911" in summary, summary


def test_the_end_of_a_recording_says_the_goodbye_with_the_number():
    from fakes import Say, run_test

    evs = run_test([Say(CRISIS["en"], 1, 3)], 60)
    said = [e for e in evs if e["event"] == "said"]
    summary = next(e for e in evs if e["event"] == "summary")
    assert said and said[-1]["text"] == summary["text"] and "988" in said[-1]["text"]
    # Without a safety reply the recording ends as before: nothing said.
    evs = run_test([Say("he never listens to me", 1, 3)], 30)
    assert not [e for e in evs if e["event"] == "said"]


def test_the_direct_check_is_asked_even_while_paused():
    from fakes import Say, run_test

    evs = run_test([Say("wait a moment", 1, 2), Say(UNSURE["en"], 10, 13)], 40)
    replies = [e for e in evs if e["event"] == "reply"]
    assert [(r["kind"], r["command"]) for r in replies] == [("command", "pause"), ("check", None)]
    assert replies[1]["reply"]  # said, not swallowed by the pause
