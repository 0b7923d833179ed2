"""Stand-ins for external services, for tests and benchmarks that must not touch the network."""
