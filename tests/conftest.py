"""Shared fixtures: a real FerretDB per session, a fresh database per test, the real API server."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore

from tests.support.ferretdb import FerretDB
from tests.support.kube.fixtures import *  # noqa: F403 - one control plane and pod runner per session
from tests.support.processes import ApiServer

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TRAINYARD_ARTIFACTS", REPO / ".artifacts"))
_db_names = itertools.count()


@pytest.fixture(scope="session")
def ferretdb(tmp_path_factory) -> FerretDB:
    with FerretDB(tmp_path_factory.mktemp("ferretdb")) as server:
        yield server


@pytest.fixture
def own_ferretdb(tmp_path) -> FerretDB:
    """A FerretDB of the test's own, for tests that stop and restart the database."""
    with FerretDB(tmp_path / "ferretdb") as server:
        yield server


def _settings(server: FerretDB) -> MongoSettings:
    return MongoSettings(uri=server.uri, db_name=f"test_{os.getpid()}_{next(_db_names)}")


@pytest.fixture
def mongo_settings(ferretdb) -> MongoSettings:
    return _settings(ferretdb)


@pytest.fixture
def store(mongo_settings) -> RunStore:
    s = RunStore(mongo_settings)
    yield s
    s.close()


@pytest.fixture
def api_server(mongo_settings, tmp_path) -> ApiServer:
    server = ApiServer(mongo_settings.uri, mongo_settings.db_name, tmp_path / "api.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
