"""``trainyard-api``: run the history API with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from trainyard_api.main import create_app
from trainyard_api.settings import ApiSettings


def main() -> None:
    settings = ApiSettings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
