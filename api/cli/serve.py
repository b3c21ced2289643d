"""``tracemark serve``: the HTTP service on uvicorn.

The one command that reaches into the HTTP adapter: it builds the app once to fail fast on
bad settings (``api.http.app.from_env``, ``check_ready``) and hands uvicorn the same factory.
Everything it imports is imported when it runs (tests/architecture/test_adapters.py allows
exactly this module to import ``api.http.app``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import context
from api.cli.exits import handled
from api.cli.options import DbOpt, HomeOpt, KeyOpt
from api.cli.output import err
from api.cli.root import app

__all__ = ["serve"]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
) -> None:
    """Run the HTTP service (scan-verify API, resolver, pages, transparency log) on uvicorn.

    Settings come from TRACEMARK_* variables (docs/operations.md); the options here set
    TRACEMARK_HOME, TRACEMARK_DATABASE_URL and TRACEMARK_KEY_FILE for the workers. Without
    TRACEMARK_PUBLIC_URL, the URLs in pages and codes name this server's port on localhost
    (http://localhost:PORT, or http://HOST:PORT for another listening address). With more
    than one worker, the workers share their metrics through a fresh directory
    (PROMETHEUS_MULTIPROC_DIR, made here and removed at the end unless given).
    """
    import shutil  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415 - only the server needs it

    from api.logs import log_config  # noqa: PLC0415
    from api.metrics import MULTIPROC_ENV, fresh_directory  # noqa: PLC0415
    from api.settings import (  # noqa: PLC0415
        Settings,
        is_loopback_url,
        local_url,
        public_url_from_env,
    )

    ctx = context(home, database_url, key_file)
    os.environ["TRACEMARK_HOME"] = str(home)
    os.environ["TRACEMARK_DATABASE_URL"] = ctx.database_url
    os.environ["TRACEMARK_KEY_FILE"] = str(ctx.key_file)
    with handled():
        public = public_url_from_env()
    if public is None:
        public = local_url(host, port)
        os.environ["TRACEMARK_PUBLIC_URL"] = public
    shared, made = None, False
    if workers > 1 or os.environ.get(MULTIPROC_ENV):
        shared, made = fresh_directory(os.environ, make=True)  # before any metric exists
    with handled():
        from api.http.app import check_ready, from_env  # noqa: PLC0415

        check_ready(from_env())  # fail fast, with a one-line error, on bad settings
        logging_config = log_config(Settings.from_env())
        err.print(
            f"tracemark: serving on http://{host}:{port} ({workers} worker(s)); "
            f"codes and pages name {public}",
            markup=False,
            soft_wrap=True,
        )
        if is_loopback_url(public) and os.environ.get("TRACEMARK_ENV") == "production":
            err.print(
                f"tracemark: warning: the public URL {public} is this machine (loopback): "
                "set TRACEMARK_PUBLIC_URL to the address phones open",
                markup=False,
                soft_wrap=True,
            )
    if shared is not None:  # the workers are new processes: they read it when they start
        os.environ[MULTIPROC_ENV] = str(shared)
    try:
        uvicorn.run(
            "api.http.app:from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=logging_config,
            access_log=False,  # the app's own (api/logs.py) has request ids and no query values
            # The app reads X-Forwarded-For itself, from TRACEMARK_TRUSTED_PROXIES only
            # (api/proxies.py); uvicorn's own handling trusts any local client.
            proxy_headers=False,
        )
    finally:
        if made and shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
