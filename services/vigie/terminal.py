"""Untrusted text made safe for a terminal: the one place Vigie's consoles get it from.

Why: partner events, site files, unit statuses and ids typed on a command line reach Vigie's
consoles (``vigie tail``, the live console of ``vigie run``, ``vigie publish`` and ``vigie
ack`` output, the JSON of ``vigie route explain`` and ``vigie decode``). Printed as rich markup,
a ``[/bold]`` crashes the rendering (``MarkupError``, again at each replay) and ``[red]ALERTE
[/red]`` passes for a label of Vigie's; printed raw, ESC sequences draw clickable OSC-8 links
or move the cursor, bidi overrides (U+202E) reorder what the reader sees, NUL and the other
C0/C1 controls drive the terminal, and a lone surrogate crashes the UTF-8 encoding of stdout.
Validation refuses most of this at the gateway, but the consoles cannot rely on it: reference
data, records written before the check, and command-line arguments never went through it.

The rule: such text is printed as a rich ``Text`` built from the value (never as a markup
string), every unsafe character shown as a visible escape: ``\\x00``, ``\\x1b``, ``\\u202e``
(in reverse video, so a real control is told apart from a partner typing a backslash). Tab
becomes one space (harmless, and keeps table columns aligned). Newline is escaped too (``\\n``):
a caller showing multi-line text splits it first and indents every line, so that no partner
line can pass for one of Vigie's. Fixed labels written by Vigie itself may keep markup.
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

#: C0 controls but tab (newline included), DEL, C1 controls, the bidi marks, embeddings,
#: overrides and isolates, the Unicode line and paragraph separators, lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r"}
#: How an escape stands out from the text around it.
ESCAPE_STYLE = Style(reverse=True)


def _escape(char: str) -> str:
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_untrusted(value: object) -> str:
    """``value`` as one line of plain text, every unsafe character as a visible escape.

    For plain-text outputs (``typer.echo``, stderr warnings); a rich console takes
    ``safe_text``.
    """
    text = "" if value is None else str(value)
    return _UNSAFE.sub(lambda m: _escape(m.group()), text.replace("\t", " "))


def safe_text(value: object, style: str | Style = "") -> Text:
    """A rich ``Text`` showing ``value`` literally, unsafe characters as visible escapes.

    ``None`` shows as nothing. ``style`` applies to the whole value (a label's colour chosen
    by Vigie); brackets in the value stay brackets, whatever they spell.
    """
    text = "" if value is None else str(value).replace("\t", " ")
    out = Text(style=style)
    start = 0
    for match in _UNSAFE.finditer(text):
        out.append(text[start:match.start()])
        out.append(_escape(match.group()), style=ESCAPE_STYLE)
        start = match.end()
    out.append(text[start:])
    return out


def safe_json(dumped: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with every unsafe character that
    ``json`` leaves raw written as a ``\\uXXXX`` escape: still valid JSON, same value once
    parsed, and nothing a terminal acts on.

    ``json`` escapes C0 controls inside strings itself, so a raw newline or tab left in the
    text is layout (``indent=``) and stays as it is.
    """
    return _UNSAFE.sub(
        lambda m: m.group() if m.group() == "\n" else f"\\u{ord(m.group()):04x}", dumped
    )
