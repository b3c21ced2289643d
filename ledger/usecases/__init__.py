"""Use cases: what adapters (HTTP, CLI) call, over the ports."""
