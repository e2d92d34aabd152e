"""The contract of a stage's command line, which every stage shares.

Stage CLIs are jsonargparse over typed functions; they log to stdout (the
pipeline streams it), and input a stage cannot use ends the command with
status 2 and ``<prog>: error: <what and where>`` on stderr.  The
orchestration runs the stages by this contract only, so a stage's image
needs this library, not the orchestration package.
"""

import logging
import signal
import sys
import threading
from collections.abc import Callable

from aframe_contracts.errors import DataError


def underscored(args: list[str]) -> list[str]:
    """--input-file X -> --input_file X: options may be spelled either way
    (the parameters are Python names)."""
    result = []
    for arg in args:
        if arg.startswith("--"):
            name, sep, value = arg.partition("=")
            arg = "--" + name[2:].replace("-", "_") + sep + value
        result.append(arg)
    return result


def stop_on_signals() -> None:
    """Make SIGINT and SIGTERM end the process as exceptions do, whatever
    it inherited: SIGINT raises KeyboardInterrupt (Python's own handler),
    SIGTERM ends it with status 143.  Context managers and ``finally``
    blocks run (temporary files are removed, servers it started are
    stopped).

    A process started with SIGINT ignored (``nohup``, ``&`` in a script)
    would ignore it: Python installs its handler only where SIGINT is not
    ignored.  exec resets handled signals, not ignored ones, to their
    default, so what this process starts afterwards ends on them too.
    """

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    # only the main thread may set handlers (a CLI called from a thread,
    # as in a test, keeps the process's)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, stop)


def _classes(errors) -> tuple:
    return errors if isinstance(errors, tuple) else (errors,)


def run_cli(
    prog: str,
    commands: list[Callable] | dict[str, Callable] | Callable,
    errors: type[Exception] | tuple[type[Exception], ...],
    args: list[str] | None = None,
) -> int:
    """Run ``commands`` as ``prog``; return the exit status.

    Args:
        prog: the command's name, e.g. aframe-data.
        commands: the typed functions (a dict or list gives subcommands).
        errors: the exceptions that mean bad input, besides DataError
            (and the ContractError of a file that is not what it should
            be), which always does.
        args: the arguments; None reads sys.argv.
    """
    from jsonargparse import CLI

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stdout,
    )
    if args is None:
        args = sys.argv[1:]
    stop_on_signals()
    try:
        CLI(commands, args=underscored(args), as_positional=False, prog=prog)
    except (DataError, *_classes(errors)) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except SystemExit as stop:
        # jsonargparse exits on --help and --print_config (0) and on
        # arguments it cannot parse (2)
        return 0 if stop.code is None else int(stop.code)
    return 0
