"""The HTTP app served by `dispatcher serve`."""

from __future__ import annotations

from fastapi import FastAPI

from dispatcher import __version__


def create_app() -> FastAPI:
    app = FastAPI(title="FMK outage dispatcher", version=__version__)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    return app
