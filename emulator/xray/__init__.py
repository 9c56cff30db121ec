"""X-Ray, as AWS records it: a daemon's UDP port for the functions' SDKs (daemon.py), the traces
kept and assembled (traces.py), filter expressions (filters.py), the service graph (graph.py),
sampling (sampling.py) and the X-Ray API that answers from what was recorded (api.py)."""
