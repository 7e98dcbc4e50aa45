"""Command line: ``python -m telephony {serve,demo,call,emulator}``."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m telephony", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    emulator = commands.add_parser("emulator", help="run the local Gemini Live API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=0, help="0 picks a free port")

    args = parser.parse_args(argv)
    if args.command == "emulator":
        from telephony.sim.gemini_live.cli import run_emulator

        return run_emulator(args.host, args.port)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
