"""Partner-written text that a terminal would interpret, and how to look at what was printed.

Shared by the tests of ``vigie.terminal`` and of every console that prints partner text.
"""

from __future__ import annotations

import io
import re
from typing import Any

from rich.console import Console, RenderableType
from rich.style import Style

from tests.factories import partner_event, routed_event, site_record
from vigie.contracts.models import CommuneInfo, Enrichment, RoutedEvent

OSC8_LINK = "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"
#: Every trick of issue 12 in one value: markup that crashes, markup that fakes a label, a
#: clickable link, a right-to-left override, NUL, a C1 control (CSI) and an isolate.
HOSTILE = f"Feu [/bold] [red]ALERTE[/red] {OSC8_LINK} \u202edrow\u2066 fin\x00\x9b2J"
#: What must never reach the terminal, whatever the console.
FORBIDDEN = ("\x1b]8;", "\u202e", "\u2066", "\x00", "\x9b")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def hostile_routed_event(text: str = HOSTILE, **changes: Any) -> RoutedEvent:
    """The default routed event (``tests.factories.routed_event``, an alert), with ``text``
    wherever a partner, a site file or a unit id can put some."""
    return routed_event(
        event=partner_event(text, description=text),
        enrichment=Enrichment(site=site_record(residence_name=text),
                              commune=CommuneInfo(insee_code="60057", name=text),
                              qpv_name=text, zsp=True),
        **changes,
    )


def terminal() -> Console:
    """A colour terminal that writes to a string; wide, so no line wraps inside the text."""
    return Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=400)


def printed(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def plain(output: str) -> str:
    """What the reader sees: the output without its colour codes."""
    return _SGR.sub("", output)


def assert_shown_not_interpreted(output: str) -> None:
    """The markup is there as text, the link, the bidi characters and the controls are not."""
    assert "[/bold]" in output
    assert "[red]ALERTE[/red]" in output  # contiguous: no colour code inside
    for forbidden in FORBIDDEN:
        assert forbidden not in output, repr(forbidden)
    seen = plain(output)
    assert "\\x1b]8;;http://evil" in seen and "\\u202edrow" in seen and "\\x00" in seen


def styles_of(console: Console, renderable: RenderableType, needle: str) -> list[Style | None]:
    """The style of every piece of ``renderable`` that shows ``needle``."""
    return [seg.style for seg in console.render(renderable) if needle in seg.text]


def is_red(style: Style | None) -> bool:
    if style is None:
        return False
    colors = [c for c in (style.color, style.bgcolor) if c is not None]
    return any(c.name in ("red", "bright_red") or (
        (t := c.get_truecolor()).red > 150 and t.green < 100 and t.blue < 100) for c in colors)
