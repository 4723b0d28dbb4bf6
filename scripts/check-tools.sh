#!/usr/bin/env bash
# Stop early, with what to install, when a tool Vigie needs is missing.
set -u
python=${1:-python3}
missing=()
if ! command -v "$python" >/dev/null 2>&1; then
  missing+=("Python >= 3.11 (Debian: apt-get install python3 python3-venv)")
elif ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  missing+=("Python >= 3.11 (found $("$python" --version 2>&1); set PYTHON=/path/to/python3.11)")
elif ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=("the venv module (Debian: apt-get install python3-venv)")
fi
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  missing+=("Java >= 17 for the local Kafka broker (Debian: apt-get install openjdk-17-jre-headless)")
else
  java_bin=${JAVA_HOME:+$JAVA_HOME/bin/}java
  major=$("$java_bin" -version 2>&1 | head -1 | sed -E 's/.*version "([0-9]+).*/\1/')
  if [ "${major:-0}" -lt 17 ] 2>/dev/null; then
    missing+=("Java >= 17 (found $major; Debian: apt-get install openjdk-17-jre-headless)")
  fi
fi
command -v mvn >/dev/null 2>&1 || missing+=("Maven, to fetch Kafka from Maven Central (Debian: apt-get install maven)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "Vigie needs tools that are not installed:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 1
fi
