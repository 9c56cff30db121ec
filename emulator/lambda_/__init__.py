"""Lambda: the runtime (versions, pools, processes) and its Invoke API. Imports nothing, so
the worker processes (`python -m emulator.lambda_.worker`) load nothing of the emulator."""
