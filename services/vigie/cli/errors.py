"""Kafka failures of a command: one French line and a non-zero exit, never a stack trace.

Why: the people who run ``vigie publish``, ``tail``, ``ack`` and ``ref load`` are landlords'
and units' operators; a refused topic (another partner's, another unit's) or a wrong password
is their everyday mistake, and the answer must say which, in their language.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.text import Text

from vigie.kafka.errors import FAILURES, client_causes, explain
from vigie.settings import Settings
from vigie.terminal import safe_text

#: Errors go to stderr, so that what a command prints on stdout stays its output.
errors = Console(stderr=True)

#: The exit status of a command stopped by a Kafka failure.
KAFKA_FAILURE = 3


@contextlib.contextmanager
def kafka_failures(settings: Settings) -> Iterator[None]:
    """Turn a Kafka failure in the block into one line on stderr and ``typer.Exit``."""
    with client_causes() as causes:
        try:
            yield
        except FAILURES as exc:
            message = explain(exc, settings, causes)
        else:
            return
    # Topic names and logins come from the command line or a file: shown, not interpreted.
    errors.print(Text.assemble(("Erreur : ", "bold red"), safe_text(message)), soft_wrap=True)
    raise typer.Exit(KAFKA_FAILURE)
