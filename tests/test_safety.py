"""Safety: every crisis and unsafe situation is caught, no idiom raises the alarm.

The test sets (tests/data/safety_LANG.tsv) were written from THEMES.md before the
patterns were tuned; dev_LANG.tsv, written by someone else, is checked too when it
is there. A malformed safety.toml must stop Haven with the file and the line.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from assistant.errors import PromptsError
from assistant.library import COMMANDS, KINDS, THEMES
from assistant.safety import MAX_REPLY_WORDS, SafetyDetector, SafetyHit
from conftest import edit_file as _edit

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
PROMPTS = ROOT / "prompts"
ALARMS = ("crisis", "unsafe")
DEV_FALSE_ALARM_LIMIT = 0.02


def load_tsv(path: Path) -> list[tuple[str, str, str]]:
    """kind, label, text for every line but comments; fails on a malformed line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        assert len(parts) == 3, f"{path.name}:{number}: expected kind<TAB>label<TAB>text"
        rows.append((parts[0], parts[1], parts[2]))
    return rows


def sets(prefix: str) -> list[tuple[str, Path]]:
    return [(lang, DATA / f"{prefix}_{lang}.tsv") for lang in ("en", "nl") if (DATA / f"{prefix}_{lang}.tsv").exists()]


@pytest.fixture(scope="module")
def detector() -> SafetyDetector:
    return SafetyDetector()


def digit_numbers(text: str) -> set[str]:
    """Phone numbers as digit strings: '9 8 8' -> '988', '0800-0113' -> '08000113'."""
    return {re.sub(r"\D", "", run) for run in re.findall(r"\d(?:[ \-]?\d)*", text)}


# --- the test sets themselves ------------------------------------------------


def test_safety_sets_are_well_formed_and_big_enough():
    counts = {"crisis": 0, "unsafe": 0, "negative": 0}
    per_language = {}
    for lang, path in sets("safety"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("#"), f"{path.name}: the first line must be a # comment"
        rows = load_tsv(path)
        per_language[lang] = len(rows)
        for kind, label, text in rows:
            assert kind in KINDS, f"{path.name}: unknown kind {kind!r}"
            if kind == "reflection":
                assert label in THEMES, f"{path.name}: unknown theme {label!r} in {text!r}"
            elif kind == "command":
                assert label in COMMANDS, f"{path.name}: unknown command {label!r} in {text!r}"
            else:
                assert label == "-", f"{path.name}: label must be '-' for {kind}: {text!r}"
            assert text == text.strip() and text, f"{path.name}: empty or padded text"
            counts[kind if kind in ALARMS else "negative"] += 1
    assert set(per_language) == {"en", "nl"}
    assert counts["crisis"] >= 40 and counts["unsafe"] >= 25 and counts["negative"] >= 60, counts
    share_en = per_language["en"] / sum(per_language.values())
    assert 0.5 <= share_en <= 0.7, f"English share {share_en:.0%}; aim for about 60 %"


# --- recall and false alarms -------------------------------------------------


def _misses(detector, rows):
    wrong = []
    for kind, _label, text in rows:
        if kind in ALARMS:
            hit = detector.check(text)
            if hit is None or hit.kind != kind:
                wrong.append((kind, hit.kind if hit else None, text))
    return wrong


def _false_alarms(detector, rows):
    alarms = []
    for kind, _label, text in rows:
        if kind not in ALARMS:
            hit = detector.check(text)
            if hit is not None:
                alarms.append((kind, hit.kind, hit.match, text))
    return alarms


@pytest.mark.parametrize("lang,path", sets("safety"), ids=lambda v: v if isinstance(v, str) else v.name)
def test_safety_set_full_recall(detector, lang, path):
    rows = load_tsv(path)
    assert _misses(detector, rows) == []


@pytest.mark.parametrize("lang,path", sets("safety"), ids=lambda v: v if isinstance(v, str) else v.name)
def test_safety_set_no_false_alarm_on_hard_negatives(detector, lang, path):
    rows = load_tsv(path)
    assert _false_alarms(detector, rows) == []


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_dev_set_full_recall_and_few_false_alarms(detector, lang):
    path = DATA / f"dev_{lang}.tsv"
    if not path.exists():
        pytest.skip(f"{path.name} is not there yet")
    rows = load_tsv(path)
    assert _misses(detector, rows) == []
    negatives = [r for r in rows if r[0] not in ALARMS]
    alarms = _false_alarms(detector, negatives)
    assert len(alarms) <= DEV_FALSE_ALARM_LIMIT * len(negatives), alarms


# --- named cases from the brief: idioms, speech-recognition damage, decisions ---


@pytest.mark.parametrize("text", [
    "i could kill him", "I'm dying to know what he thinks", "this is killing me", "i was dying of embarrassment",
    "ik ga dood van schaamte", "ik word er gek van", "ik ben doodmoe", "ik schrok me dood",
    "I don't see the point of this relationship anymore", "i'm scared he'll leave", "we fight all the time",
    "i'm afraid to tell him how i feel", "ik ben bang dat ze me verlaat",
    "he never hits back in arguments he just goes quiet", "ik zie het niet meer zitten met hem",
    "I can't go on like this", "we can't go on like this", "she pushes me away",
    "he has never hit me", "he would never hurt me", "hij heeft me nog nooit geslagen",
    "what's the point anymore", "i don't see a future with him", "ik zie geen uitweg meer voor ons",
    "she'd be better off without me", "i'm not suicidal or anything, just so tired of fighting",
    "waarom zegt hij nooit dat hij me mooi vindt", "hij zegt dat hij me dom vindt",
    "ik ben dood moe", "wat ik wil is dood gewoon een knuffel", "i'm scared to death he'll leave me",
    "i'd rather die than let her read my essay", "i'm not sad or suicidal, just angry at him",
    "ik denk niet aan zelfmoord hoor, ik ben gewoon boos", "ik zie geen toekomst meer voor mij en hem samen",
    "het maakt me kapot dat ze nooit belt", "ik kom je zo halen van de trein", "I cut my own fringe and he laughed",
    "om zes uur ben ik er niet meer, dan is mijn dienst klaar", "dan ben ik er gewoon niet meer bij met mijn hoofd",
    "de braamstruik heeft mijn arm opengehaald", "mijn vriendin heeft een contactverbod tegen haar ex",
    "I won't be around tomorrow evening, book club", "ik weet hoe en wanneer ik het hem ga zeggen",
    # What people wear round their necks.
    "i wrapped my scarf around my neck and went out", "ik draag een koord om mijn nek met zijn ring eraan",
    "I'm pulling my hair out over his mess again", "ik ga nog liever dood dan dat ik hem als eerste bel",
    "ik heb me rot geschrokken toen de deur dichtsloeg",
    "I wish he had finished it, the essay is due tomorrow", "I wish they had kept going with the renovation",
    "ik wou dat hij was doorgegaan met zijn studie",
    "the glass cut my arm when I slipped in the kitchen", "she cut me off before I could finish",
    "ik heb in mijn arm gesneden met het broodmes, per ongeluk", "ze stak haar hand op en liep weg",
])
def test_no_alarm(detector, text):
    assert detector.check(text) is None


@pytest.mark.parametrize("text", [
    "I don't want to live anymore", "i dont want to live anymore", "i wanna die", "i want to kill my self",
    "i want to killmyself", "I just want to sleep and not wake up", "everyone would be better off without me",
    "i don't want to be here anymore", "what's the point of living", "I can't go on anymore",
    "ik zie het niet meer zitten", "ik wil er niet meer zijn", "ik wil dood", "ik wil niet meer leven",
    "ik denk aan zelfmoord", "ik denk aan zelf moord", "ik wil er een eind aan maken",
    "ik wil er een einde aan maken", "ik wil slapen en niet meer wakker worden", "I'm feeling suicdal",
    # A wish to die is never an idiom's "dood gewoon" or "dood van verdriet".
    "ik wil dood gewoon", "ik wil dood van verdriet",
    # Harm to one's own body, said without the word "myself".
    "when he leaves I hit my own head against the wall", "ik sla dan met mijn vuist op mijn eigen benen",
    "de drang om te krassen is terug", "ik heb gisteren een sigaret op mijn arm uitgedrukt",
    "ik hield een mesje tegen mijn pols", "die littekens op mijn benen, die doe ik zelf",
    # Spoken Dutch, a time or a plan without a danger word.
    "ik kras soms op me arm", "over een week ben ik er niet meer", "dood zijn lijkt me rustig",
    "waarom ben ik eigenlijk nog op deze wereld", "ik weet al precies hoe en wanneer",
    "er hangt al een touw in de schuur, gisteren vastgemaakt", "ik heb een hele strip slaappillen geslikt",
    "I might swallow the lot in the bathroom cabinet tonight", "after the weekend I won't be around",
    "honestly I don't think I want to be stopped",
    # A ligature round one's own neck is a crisis, not the unsafe reply to being strangled.
    "last night I put a rope around my neck", "i keep tightening the belt round my neck to see how it feels",
    "ik heb gisteren een riem om mijn nek gedaan", "ik deed het snoer om m'n keel en trok",
    # Pulling out one's own hair to bald patches is self-harm; pills hidden from him are a plan.
    "i keep pulling my hair out in clumps when he goes quiet", "he has no idea I hid my pills in the shed",
    # "I might as well be dead", also in a Dutch subordinate clause; biting oneself till it bleeds.
    "ik kan net zo goed dood zijn, niemand mist me", "ik denk de laatste tijd dat ik beter dood kan zijn",
    "ik ben beter af dood", "ik heb mezelf in mijn hand gebeten tot het bloedde",
    # A crisis rule wins when the rules also hear danger from him.
    "hij duwt me elke avond tegen de muur en ik kan net zo goed dood zijn",
    "he had his hands round my throat and I wish he hadn't let go", "part of me wishes I had died that night",
    "hij kneep me bijna dood en ik wou dat hij had doorgeknepen",
    # Dutch puts the verb last: "dat ik in mijn arm snijd".
    "hij weet niet dat ik 's nachts in mijn arm snijd", "ik heb gisteren weer in mijn benen gekrast",
])
def test_crisis(detector, text):
    hit = detector.check(text)
    assert hit is not None and hit.kind == "crisis", (text, hit)


@pytest.mark.parametrize("text", [
    "he hit me", "he choked me", "she pushed me down the stairs", "he threatened to kill me",
    "he takes my phone and my money", "he won't let me see my friends", "he locked me in",
    "i'm afraid of what he will do", "hij heeft me geslagen", "ik ben bang voor hem",
    "hij sluit me op", "ik mag van hem niet werken",
    "he never hit me before last night", "he doesn't hit me anymore since i stopped arguing",
    "hij heeft me nooit geslagen tot vorige week", "he'll kill me if i leave",
    "she says she'll kill herself if i leave her",
    "hij zegt dat hij me gaat vinden", "ze dreigde dat ze me wel weet te vinden",
    "honestly i'm scared to death of what he'll do tonight",
    "the last time he got this drunk I ended up in hospital", "als hij drinkt is hij agressief tegen mij",
    "sinds de zomer is hij gewelddadig", "hij hield een kussen op mijn gezicht",
    "hij heeft de baby door elkaar geschud", "mijn vader slaat ons met een riem",
    "mijn oom zit aan me als niemand kijkt", "hij appt: ik maak je kapot", "anders kom ik je halen, zei hij",
    "ik heb een straatverbod tegen hem", "hij eist al mijn wachtwoorden",
    "the abuse has been getting worse since spring", "when i say no he does it anyway",
    "het slaan wordt steeds erger", "hij had me gedwongen en ik durfde niks te zeggen",
    "he put his belt around my neck", "ik voelde zijn riem om mijn nek", "ik weet nog dat hij een riem om mijn nek deed",
    # His hand on the knife or on my medication: danger from him, not a plan of mine.
    "my husband held a knife to my throat last night", "he hides my insulin when I don't do what he says",
    "hij verstopt mijn medicijnen als straf", "ze heeft mijn pillen weggegooid om me te pesten",
    # Cut by him, or by what he threw: not a cut of my own.
    "he threw a bottle at me and it cut my arm", "she burned my hand with her cigarette",
    "hij sneed met een mes in mijn arm", "hij stak me met een schaar",
    "hij appte: ik weet waar je zus woont", "de kinderen verstoppen zich als hun vader thuiskomt",
])
def test_unsafe(detector, text):
    hit = detector.check(text)
    assert hit is not None and hit.kind == "unsafe", (text, hit)


def test_crisis_wins_over_unsafe(detector):
    hit = detector.check("he hit me again and honestly i just want to die")
    assert hit.kind == "crisis"


def test_patterns_of_every_loaded_language_are_checked(detector):
    # A Dutch speaker transcribed in English mode, and the other way round.
    assert detector.check("ik wil niet meer leven").language == "nl"
    assert detector.check("i want to die").language == "en"
    english_only = SafetyDetector(languages=("en",))
    assert english_only.check("ik wil niet meer leven") is None


def test_hit_fields(detector):
    hit = detector.check("I keep thinking about taking all my pills")
    assert isinstance(hit, SafetyHit)
    assert hit.kind == "crisis" and 0 < hit.score <= 1
    assert hit.match and hit.match in detector.prepared("I keep thinking about taking all my pills", "en")
    clear, indirect = detector.check("i want to kill myself"), detector.check("i just want to disappear")
    assert clear.score > indirect.score
    assert detector.check("") is None and detector.check("   ") is None


def test_check_is_fast(detector):
    texts = [t for _lang, path in sets("safety") + sets("dev") for _k, _l, t in load_tsv(path)]
    for text in texts[:20]:
        detector.check(text)
    times = []
    for text in texts:
        start = time.perf_counter()
        detector.check(text)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.001, f"median {statistics.median(times) * 1e6:.0f} µs"


# --- replies -----------------------------------------------------------------


NUMBERS = {
    ("en", "crisis"): {"988"},
    ("en", "unsafe"): {"18007997233"},
    ("nl", "crisis"): {"08000113"},
    ("nl", "unsafe"): {"08002000"},
}
EMERGENCY = {"en": {"911"}, "nl": {"112"}}
NOT_IN = {"en": {"113", "08000113", "08002000"}, "nl": {"988", "911", "18007997233"}}


@pytest.fixture(scope="module")
def filled():
    """The replies are templates; filled for the language's home region (US, NL) here.
    Other regions: tests/test_helplines.py."""
    from assistant.aftercare import Aftercare

    care = Aftercare(region=None, env={})
    return lambda text, lang: care.fill(text, lang)


@pytest.mark.parametrize("lang,kind", list(NUMBERS))
def test_replies_give_the_right_numbers(detector, filled, lang, kind):
    replies = detector.replies(kind, lang)
    assert len(replies) >= 2
    for template in replies:
        reply = filled(template, lang)
        found = digit_numbers(reply)
        assert NUMBERS[lang, kind] <= found, (reply, found)
        assert EMERGENCY[lang] & found, reply
        assert not NOT_IN[lang] & found, f"a number of the other language in {reply!r}"
        assert len(reply.split()) <= MAX_REPLY_WORDS


def test_replies_name_the_service_as_it_is_written(detector, filled):
    # The written form a person would look up, beside the digits to dial.
    assert all("988" in filled(r, "en") for r in detector.replies("crisis", "en"))
    assert all("113 Zelfmoordpreventie" in filled(r, "nl") and "0800-0113" in filled(r, "nl")
               for r in detector.replies("crisis", "nl"))
    assert all("0800-2000" in filled(r, "nl") and "Veilig Thuis" in filled(r, "nl") for r in detector.replies("unsafe", "nl"))
    assert all("National Domestic Violence Hotline" in filled(r, "en") for r in detector.replies("unsafe", "en"))


@pytest.mark.parametrize("lang,number", [("en", "988"), ("nl", "08000113")])
def test_checkin_lines_repeat_the_number(detector, filled, lang, number):
    lines = detector.checkin(lang)
    assert 2 <= len(lines) <= 3
    for line in lines:
        assert number in digit_numbers(filled(line, lang)), line
        assert "?" in line  # a check-in asks


def test_unknown_kind_or_language(detector):
    with pytest.raises(ValueError):
        detector.replies("reflection", "en")
    with pytest.raises(ValueError):
        detector.checkin("de")


# --- malformed safety.toml: file and line in the message --------------------


# prompts_copy: the fixture in conftest.py
def _first_pattern(path: Path, table: str) -> str:
    text = path.read_text(encoding="utf-8")
    after = text[text.index(f"\n[{table}]\n"):]
    return re.search(r"^\s*'(.+)',\s*$", after, re.M).group(1)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_invalid_regex_names_file_and_line(prompts_copy, lang):
    path = prompts_copy / lang / "safety.toml"
    pattern = _first_pattern(path, "unsafe")
    line = _edit(path, f"'{pattern}'", "'\\b(?:he hit me'")
    with pytest.raises(PromptsError) as err:
        SafetyDetector(prompts_dir=prompts_copy)
    message = str(err.value)
    assert f"{lang}/safety.toml:{line}:" in message, message
    assert "regular expression" in message


def test_missing_replies_names_file_and_table(prompts_copy):
    path = prompts_copy / "en" / "safety.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("\n[unsafe]\n") + 1
    replies_at = text.index("replies = [", start)
    end = text.index("]\n", replies_at) + 2
    path.write_text(text[:replies_at] + text[end:], encoding="utf-8")
    header_line = text[:start].count("\n") + 1
    with pytest.raises(PromptsError) as err:
        SafetyDetector(prompts_dir=prompts_copy)
    message = str(err.value)
    assert f"en/safety.toml:{header_line}:" in message and "replies" in message, message


def test_too_few_replies(prompts_copy):
    path = prompts_copy / "nl" / "safety.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("replies = [", text.index("\n[checkin]\n"))
    end = text.index("]\n", start) + 2
    path.write_text(text[:start] + 'replies = ["Hoe gaat het nu? Bel {crisis_number}."]\n' + text[end:], encoding="utf-8")
    with pytest.raises(PromptsError, match=r"nl/safety\.toml:\d+: \[checkin\] 'replies' has 1 entries"):
        SafetyDetector(prompts_dir=prompts_copy)


def test_toml_syntax_error_names_file_and_line(prompts_copy):
    path = prompts_copy / "nl" / "safety.toml"
    line = _edit(path, "\n[crisis]\n", "\n[crisis]\nthis line is not toml\n") + 2
    with pytest.raises(PromptsError) as err:
        SafetyDetector(prompts_dir=prompts_copy)
    message = str(err.value)
    assert f"nl/safety.toml:{line}:" in message and "TOML syntax error" in message, message


def test_reply_without_the_number_names_the_line(prompts_copy):
    path = prompts_copy / "en" / "safety.toml"
    line = _edit(path, "Call {crisis_name} on {crisis_number}, any time.", "Call someone you trust.")
    with pytest.raises(PromptsError) as err:
        SafetyDetector(prompts_dir=prompts_copy)
    message = str(err.value)
    assert f"en/safety.toml:{line}:" in message and "{crisis_number}" in message, message


def test_reply_with_digits_instead_of_a_placeholder_names_the_line(prompts_copy):
    # The numbers come from helplines.toml for the person's region, never from the reply.
    path = prompts_copy / "nl" / "safety.toml"
    line = _edit(path, "Is het acuut, bel {emergency_number}.", "Is het acuut, bel {emergency_number} of 911.")
    with pytest.raises(PromptsError, match=rf"nl/safety\.toml:{line}: \[crisis\] a reply must give numbers only as placeholders"):
        SafetyDetector(prompts_dir=prompts_copy)


def test_unknown_macro_and_empty_match(prompts_copy):
    path = prompts_copy / "en" / "safety.toml"
    pattern = _first_pattern(path, "crisis")
    line = _edit(path, f"'{pattern}'", "'\\b{nosuchmacro} die\\b'")
    with pytest.raises(PromptsError, match=rf"en/safety\.toml:{line}: .*unknown macro {{nosuchmacro}}"):
        SafetyDetector(prompts_dir=prompts_copy)
    _edit(path, "'\\b{nosuchmacro} die\\b'", "'(?:die)?'")
    with pytest.raises(PromptsError, match=rf"en/safety\.toml:{line}: .*matches an empty text"):
        SafetyDetector(prompts_dir=prompts_copy)


def test_haven_prompts_environment_variable(prompts_copy, monkeypatch):
    path = prompts_copy / "en" / "safety.toml"
    _edit(path, "\n[unsafe]\n", "\n[unsafe]\nscore = 1\n")
    monkeypatch.setenv("HAVEN_PROMPTS", str(prompts_copy))
    with pytest.raises(PromptsError, match=r"en/safety\.toml:\d+: \[unsafe\] has an unknown key 'score'"):
        SafetyDetector()


def test_missing_file(prompts_copy):
    (prompts_copy / "nl" / "safety.toml").unlink()
    with pytest.raises(PromptsError, match=r"nl/safety\.toml: file is missing"):
        SafetyDetector(prompts_dir=prompts_copy)
