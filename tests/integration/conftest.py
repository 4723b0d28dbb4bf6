"""One real Kafka 4 broker for the whole integration session, on spare loopback ports.

It uses its own state folder (fresh each session) and the shared jar cache, so the first
run on a machine fetches Kafka from Maven Central and later runs do not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.kafka_tools import WorkerProcess, free_port
from tests.integration.secure_tools import secure_broker_session
from vigie.broker.local import LocalBroker
from vigie.broker.secure import SecureBroker
from vigie.settings import Settings


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    port, controller = free_port(), free_port()
    settings = Settings(
        broker_port=port,
        controller_port=controller,
        bootstrap_servers=f"127.0.0.1:{port}",
        state_dir=tmp_path_factory.mktemp("kafka-state"),
        partitions=4,
    )
    local = LocalBroker(settings)
    local.start()
    yield local
    local.stop()


@pytest.fixture
def kafka_settings(broker: LocalBroker, tmp_path: Path) -> Settings:
    """Settings for one test: the session broker, a fresh app id (consumer group, tables)."""
    return broker.settings.model_copy(
        update={"app_id": f"vigie-test-{uuid.uuid4().hex[:8]}", "state_dir": tmp_path}
    )


@pytest.fixture
def partners() -> list[str]:
    """Partner ids unique to one test, so tests sharing the broker never see each other."""
    suffix = uuid.uuid4().hex[:6]
    return [f"opac-oise-{suffix}", f"oise-habitat-{suffix}"]


@pytest.fixture
def start_worker(kafka_settings: Settings, partners: list[str], tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:  # type: ignore[no-untyped-def]
        worker = WorkerProcess(
            settings=kafka_settings.model_copy(update={"partners": partners}),
            log_path=tmp_path / f"worker-{len(started)}.log",
            **kwargs,
        )
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """The secure broker (SASL_SSL, ACLs), started by the first test that needs it."""
    yield from secure_broker_session(tmp_path_factory)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL (Debian's server) for the session, on a spare port, schema migrated;
    yields its URL. Its folder is under /tmp so that the ``postgres`` user can reach it when
    the tests run as root (PostgreSQL never runs as root)."""
    import shutil
    import tempfile

    from vigie.db.local import LocalPostgres
    from vigie.db.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="vigie-pg-"))
    folder.chmod(0o755)
    local = LocalPostgres(Settings(state_dir=folder / "state", db_dir=folder / "pg",
                                   db_port=free_port()))
    local.start()
    try:
        upgrade(local.url())
        yield local.url()
    finally:
        local.stop()
        shutil.rmtree(folder, ignore_errors=True)
