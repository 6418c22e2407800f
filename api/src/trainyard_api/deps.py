"""FastAPI dependencies: the store and settings created in ``main.lifespan``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from trainyard_runstore.async_store import AsyncRunStore

from trainyard_api.settings import ApiSettings


def get_store(request: Request) -> AsyncRunStore:
    store: AsyncRunStore = request.app.state.store
    return store


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


StoreDep = Annotated[AsyncRunStore, Depends(get_store)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
