"""Command line: ``python -m telephony {serve,demo,call,emulator}``."""

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m telephony", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (settings from the environment)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "1")),
        help="server processes (one per core carries the most calls)",
    )

    demo = commands.add_parser("demo", help="one simulated call through the server, offline")
    demo.add_argument("--out", type=Path, default=Path("var/demo"), help="where files go")
    demo.add_argument(
        "--scenario",
        choices=("transfer", "transfer-unanswered", "keypad", "silence", "warm-transfer"),
        help="a contact-centre scenario instead of the default call",
    )

    call = commands.add_parser("call", help="place a simulated call against a running server")
    call.add_argument("url", help="the server's address, e.g. http://127.0.0.1:8000")
    call.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN", ""))
    call.add_argument("--account-sid", default=os.environ.get("TWILIO_ACCOUNT_SID"))
    call.add_argument("--public-url", default=os.environ.get("PUBLIC_URL"))
    call.add_argument("--api-token", default=os.environ.get("API_TOKEN"))
    call.add_argument("--heard-wav", type=Path, default=None)

    emulator = commands.add_parser("emulator", help="run the local Gemini Live API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=0, help="0 picks a free port")

    args = parser.parse_args(argv)
    if args.command == "serve":
        from telephony.cli import serve as serve_command

        return serve_command.run(args.host, args.port, args.workers)
    if args.command == "demo":
        if args.scenario:
            from telephony.cli import scenarios

            return scenarios.run(args.scenario, args.out)
        from telephony.cli import demo as demo_command

        return demo_command.run(args.out)
    if args.command == "call":
        from telephony.cli import call as call_command

        return call_command.run(
            args.url,
            auth_token=args.auth_token,
            account_sid=args.account_sid,
            public_url=args.public_url,
            api_token=args.api_token,
            heard_wav=args.heard_wav,
        )
    from twins.gemini_live.cli import run_emulator

    return run_emulator(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
