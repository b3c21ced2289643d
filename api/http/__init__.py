"""The HTTP adapter: the FastAPI app, its state, routes and pages."""
