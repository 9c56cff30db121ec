"""Load tests (Locust scenarios) and the benchmark (`make bench`)."""
