"""``python -m api.cli``: the same commands as the ``tracemark`` script."""

from api.cli import main

main()
