"""The Kafka tools get their passwords through a java ``@argfile``, never on a command line
(world-readable in ``/proc/<pid>/cmdline`` and ``ps``): how the argfile is written, and that
the real launcher reads it so (the secure broker's whole set-up is checked in
tests/unit/broker/test_secure.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vigie.broker import local
from vigie.broker.local import argfile_text


@pytest.mark.skipif(
    shutil.which("java") is None or not sys.platform.startswith("linux"),
    reason="needs a JDK and /proc",
)
def test_java_reads_the_argfile_and_its_command_line_shows_only_the_file(
    tmp_path: Path,
) -> None:
    """The real launcher parses our quoting, and /proc/<pid>/cmdline holds no argument."""
    source = tmp_path / "Echo.java"
    source.write_text(
        "import java.nio.file.*;\n"
        "public class Echo { public static void main(String[] a) throws Exception {\n"
        "  byte[] cmd = Files.readAllBytes(Paths.get(\"/proc/self/cmdline\"));\n"
        "  System.out.println(new String(cmd).replace('\\0', ' '));\n"
        "  for (String s : a) System.out.println(\"<\" + s + \">\"); } }\n"
    )
    args = ["SCRAM-SHA-512=[name=admin,password=s3cr-t_X]", "--cluster-id=-Ab_", "a b #c",
            '\\q"u\'o', "@not-a-file", ""]
    argfile = tmp_path / "args"
    argfile.write_text(argfile_text([str(source), *args]))
    result = subprocess.run(
        ["java", "-Xmx64m", "-XX:-UsePerfData", f"@{argfile}"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    cmdline, *echoed = result.stdout.splitlines()
    assert "s3cr-t_X" not in cmdline and f"@{argfile}" in cmdline
    assert echoed == [f"<{a}>" for a in args]


def test_argfile_refuses_line_breaks() -> None:
    with pytest.raises(local.BrokerError):
        argfile_text(["a\nb"])
