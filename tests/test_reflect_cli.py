"""`haven reflect`: text in, reply out, through the command line (cli.main, in-process)."""

from __future__ import annotations

from conftest import events, haven_here

FIELDS = {"text", "language", "kind", "theme", "command", "reply", "score"}


def test_reflect_one_text():
    result = haven_here("reflect", "he was on his phone all through dinner and didn't even look at me")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "[" not in result.stdout and "unseen" not in result.stdout  # plain words
    verbose = haven_here("reflect", "--verbose", "he was on his phone all through dinner and didn't even look at me")
    assert verbose.stdout.startswith("[reflection / unseen]")


def test_batch_json_one_object_a_line():
    lines = [
        "he was on his phone all through dinner and didn't even look at me",
        "what's the weather like tomorrow",
        "can you say that again",
        "ik voel me zo alleen, zelfs als hij naast me ligt",
        "i don't want to live anymore",
    ]
    result = haven_here("reflect", "--batch", "--json", "--language", "auto", input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = events(result.stdout)
    assert len(out) == len(lines)
    for obj, line in zip(out, lines):
        assert FIELDS <= set(obj) and obj["text"] == line
    assert [(o["kind"], o["theme"] or o["command"]) for o in out] == [
        ("reflection", "unseen"), ("fallback", None), ("command", "repeat"), ("reflection", "alone"), ("crisis", None),
    ]
    assert out[3]["language"] == "nl" and out[0]["language"] == "en"
    assert "988" in out[4]["reply"]
    assert out[1]["theme"] is None and out[1]["command"] is None


def test_batch_skips_blank_lines():
    result = haven_here("reflect", "--batch", "--json", input="\n\nhe never listens to me\n\n")
    assert result.returncode == 0 and len(events(result.stdout)) == 1
