"""End-to-end tooling shared by the e2e suite, `make up` and load/: targets, deploys, clients."""
