"""The ``tracemark`` command line (console script ``tracemark = api.cli:main``).

One module per command group (log, serve, codes, db, events, platform, scan, streams,
supply), over the common options (options.py), the one exit-code map (exits.py), the working
context (context.py) and output (output.py); api/cli/app.py puts them together. Heavy
libraries (SQLAlchemy, the scanner, PyAV, numpy, Pillow, FastAPI, uvicorn) are imported by the
commands that use them, so ``tracemark --help`` starts quickly. The CLI never imports the HTTP
adapter (api/http/) except ``tracemark serve``, which runs it.
"""

from __future__ import annotations

from api.cli.app import app, main
from api.cli.exits import EXIT_CODES

__all__ = ["EXIT_CODES", "app", "main"]
