# syntax=docker/dockerfile:1
# Vigie worker and CLI image: `docker run vigie worker`, `docker run vigie topics ensure`...
#
# Two stages so that the runtime image holds the installed virtualenv only: no pip cache,
# no build tree, no compiler. The Kafka broker is not in this image (see docker-compose.yml).

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Only what the package build reads (pyproject names README.md and the licence); .dockerignore
# keeps the rest of the checkout, the local broker state and the virtualenvs out.
COPY pyproject.toml README.md LICENSE ./
COPY services/ services/
RUN pip install --upgrade pip && pip install .


FROM python:3.11-slim

LABEL org.opencontainers.image.title="vigie" \
      org.opencontainers.image.description="Event bus between social landlords and the police and gendarmerie of Oise" \
      org.opencontainers.image.licenses="EUPL-1.2"

# VIGIE_SCHEMA_DIR: the Avro contracts live outside the Python package (schemas/avro is the
# source of truth). VIGIE_STATE_DIR / VIGIE_CACHE_DIR: the defaults are relative to the source
# checkout, which under site-packages would not be writable.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    VIGIE_SCHEMA_DIR=/opt/vigie/schemas/avro \
    VIGIE_STATE_DIR=/var/lib/vigie/state \
    VIGIE_CACHE_DIR=/var/lib/vigie/cache \
    VIGIE_METRICS_PORT=9464

# A fixed, unprivileged uid so that mounted volumes get predictable ownership.
RUN groupadd --system --gid 10001 vigie \
    && useradd --system --uid 10001 --gid vigie --home-dir /var/lib/vigie --no-create-home \
       --shell /usr/sbin/nologin vigie \
    && mkdir -p /var/lib/vigie/state /var/lib/vigie/cache \
    && chown -R vigie:vigie /var/lib/vigie

COPY --from=build /opt/venv /opt/venv
# Read-only for the service user: the contracts and the licence ship with every image.
COPY schemas/ /opt/vigie/schemas/
COPY LICENSE /opt/vigie/LICENSE

# The service user's home, holding VIGIE_STATE_DIR and VIGIE_CACHE_DIR. The worker keeps its
# event state in memory and restores it from its Kafka changelog: nothing of it is on disk.
WORKDIR /var/lib/vigie
USER vigie

EXPOSE 9464

# Shell form on purpose: the port comes from the environment at run time. urlopen raises on
# a refused connection or an HTTP error status, which makes python exit non-zero.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${VIGIE_METRICS_PORT:-9464}/healthz', timeout=4)" || exit 1

ENTRYPOINT ["vigie"]
CMD ["--help"]
