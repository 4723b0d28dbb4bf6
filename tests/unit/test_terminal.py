"""``vigie.terminal``: untrusted text is shown, never interpreted, by rich or by a terminal."""

from __future__ import annotations

import json

import pytest
from rich.text import Text

from tests.hostile_text import (
    FORBIDDEN,
    HOSTILE,
    assert_shown_not_interpreted,
    is_red,
    printed,
    styles_of,
    terminal,
)
from vigie.terminal import ESCAPE_STYLE, escape_untrusted, safe_json, safe_text


def test_safe_text_prints_markup_as_text_and_escapes_controls() -> None:
    console = terminal()
    text = safe_text(HOSTILE)
    assert isinstance(text, Text)
    console.print(text)
    assert_shown_not_interpreted(printed(console))
    assert not any(is_red(s) for s in styles_of(console, text, "ALERTE"))


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\x00", "\\x00"), ("\x07", "\\x07"), ("\x1b", "\\x1b"), ("\r", "\\r"), ("\n", "\\n"),
        ("\x7f", "\\x7f"), ("\x85", "\\x85"), ("\x9b", "\\x9b"), ("\u061c", "\\u061c"),
        ("\u200e", "\\u200e"), ("\u200f", "\\u200f"), ("\u2028", "\\u2028"),
        ("\u202a", "\\u202a"), ("\u202e", "\\u202e"), ("\u2066", "\\u2066"),
        ("\u2069", "\\u2069"), ("\ud800", "\\ud800"),
    ],
)
def test_every_unsafe_character_becomes_a_visible_escape(char: str, shown: str) -> None:
    assert escape_untrusted(f"a{char}b") == f"a{shown}b"
    text = safe_text(f"a{char}b")
    assert text.plain == f"a{shown}b"
    assert [(s.start, s.end, s.style) for s in text.spans] == [(1, 1 + len(shown), ESCAPE_STYLE)]


def test_tab_is_a_space_and_ordinary_text_is_untouched() -> None:
    sample = "Rue de l'Église, bât. B — « hall » [2] 60000 Beauvais € 😀"
    assert safe_text(sample).plain == sample and not safe_text(sample).spans
    assert escape_untrusted("a\tb") == "a b" == safe_text("a\tb").plain
    assert safe_text(None).plain == "" == escape_untrusted(None)


def test_style_is_vigies_choice_and_covers_the_value_only() -> None:
    console = terminal()
    label = Text.assemble(safe_text("[red]ALERTE[/red]", style="yellow"), " fin")
    console.print(label)
    assert "[red]ALERTE[/red]" in printed(console)
    assert [str(s) for s in styles_of(console, label, "ALERTE")] == ["yellow"]


def test_safe_json_is_the_same_json_and_nothing_a_terminal_acts_on() -> None:
    value = {"input": {"commune": HOSTILE + "\t\ud800 Méru"}, "n": [1, "\u200f"]}
    for indent in (None, 2):
        dumped = safe_json(json.dumps(value, ensure_ascii=False, indent=indent))
        assert json.loads(dumped) == value
        assert not any(c in dumped for c in (*FORBIDDEN, "\ud800", "\u200f", "\x1b"))
        assert "[red]ALERTE[/red]" in dumped and "Méru" in dumped  # readable text stays
