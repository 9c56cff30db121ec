"""Why the Lambda runtime did not run an invocation (a function's own errors are results, not
exceptions: InvokeResult.ok is False)."""


class FunctionNotFound(LookupError):
    """No such function, or one whose runtime does not run here: Lambda's ResourceNotFoundException."""


class RuntimeClosed(RuntimeError):
    """The emulator is stopping: no new invocations."""


class Throttled(RuntimeError):
    """Every worker slot stayed busy for the whole wait: Lambda's TooManyRequestsException."""


class Retired(RuntimeError):
    """The version was updated or deleted before this invocation got a worker (the runtime runs it
    on the new version)."""
