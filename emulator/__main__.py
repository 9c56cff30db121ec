"""`python -m emulator`: run the embedded emulator in the foreground until SIGINT/SIGTERM."""

import argparse
import logging
import logging.handlers
import os
import signal
import sys
import threading
import time
from pathlib import Path

from emulator import settings
from emulator.core import cpus
from emulator.xray.sampling import MODES as SAMPLING_MODES


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Embedded AWS emulator for the orders pipeline: moto's control plane plus a Lambda runtime, "
        "SQS event source mappings and HTTP APIs, with no Docker.",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("EMULATOR_HOST", "127.0.0.1"),
        help="bind address (default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=settings.port_from_environment(),
        help=f"port (default {settings.DEFAULT_PORT}, 0 = any free)",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_DEFAULT_REGION", settings.DEFAULT_REGION),
        help="default region",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=settings.WORK_DIR,
        help="where deployed function code is unpacked",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=settings.DEFAULT_CONCURRENCY,
        help=f"workers per function without reserved concurrency (default {settings.DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--mailbox",
        type=Path,
        default=settings.MAILBOX,
        help=f"where SNS email subscriptions receive their messages (default {settings.MAILBOX})",
    )
    parser.add_argument(
        "--iam",
        choices=settings.IAM_MODES,
        default=os.environ.get("EMULATOR_IAM", "enforce"),
        help="functions' calls against their roles' policies: enforce (default), audit (log what would be "
        "denied), off",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help=f"keep the state here across restarts (`make local-up`: {settings.SAVED_STATE}); default: none, start clean",
    )
    parser.add_argument(
        "--xray-sample",
        choices=SAMPLING_MODES,
        default=os.environ.get("EMULATOR_XRAY_SAMPLE", "all"),
        help="X-Ray sampling of traced functions: all (default: every request, as a developer wants), "
        "default (AWS's rule: the first request each second, then 5 %%), off (no X-Ray)",
    )
    parser.add_argument(
        "--cpus",
        choices=cpus.CHOICES,
        default=os.environ.get("EMULATOR_CPUS", cpus.ONE),
        help="one (default: the emulator's threads share one CPU, which spares them handing the "
        "interpreter lock between CPUs; the functions' workers use every CPU), all",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-file", type=Path, help="log here, rotated (default: standard output)")
    parser.add_argument(
        "--log-max-bytes", type=int, default=10 * 1024 * 1024, help="rotate the log file at this size"
    )
    return parser.parse_args(argv)


def configure_logging(args: argparse.Namespace) -> None:
    handler: logging.Handler = (
        logging.handlers.RotatingFileHandler(args.log_file, maxBytes=args.log_max_bytes, backupCount=3)
        if args.log_file
        else logging.StreamHandler(sys.stdout)
    )
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s", handlers=[handler]
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cpu = cpus.pin(args.cpus)  # before any thread starts: they all inherit it
    configure_logging(args)
    from emulator.server import Emulator  # after logging is configured: the server logs as it loads

    emulator = Emulator(
        host=args.host,
        port=args.port,
        work_dir=args.work_dir,
        region=args.region,
        concurrency=args.concurrency,
        mailbox=args.mailbox,
        iam=args.iam,
        state_dir=args.state_dir,
        xray_sample=args.xray_sample,
    )
    try:
        emulator.start()
    except OSError as error:
        print(f"emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    if cpu is not None:
        logging.getLogger("emulator").info("the emulator's threads run on CPU %d (--cpus)", cpu)
    print(f"emulator: ready on {emulator.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    started = time.monotonic()
    emulator.stop()
    logging.getLogger("emulator").info("stopped in %.2fs", time.monotonic() - started)
    logging.shutdown()
    sys.stdout.flush()
    # Everything is stopped and flushed: skip the interpreter's teardown, which walks the whole
    # heap (seconds with a large one) for nothing.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
