"""The tooling users run against a target: deploy (`targets`), the commands behind `make up`,
`smoke`, `env`, `logs` (`commands`, also `python -m workspace`), and the DLQ redrive."""
