"""The in-memory fakes of the ports, for tests and tools."""
