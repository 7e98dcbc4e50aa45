"""Command line: ``python -m telephony {serve,demo,call,dial,emulator,db}``."""

import argparse
import os
import sys
from pathlib import Path

from telephony.cli import CONTACT_CENTRE_SCENARIOS


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
        choices=[
            "inbound",
            "outbound",
            "voicemail",
            *CONTACT_CENTRE_SCENARIOS,
        ],
        default="inbound",
        help="inbound: a caller; outbound: we call a person; voicemail: we reach a machine; "
        "transfer, transfer-unanswered, warm-transfer, keypad, silence: contact-centre scenarios",
    )

    call = commands.add_parser("call", help="place a simulated call against a running server")
    call.add_argument("url", help="the server's address, e.g. http://127.0.0.1:8000")
    call.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN", ""))
    call.add_argument("--account-sid", default=os.environ.get("TWILIO_ACCOUNT_SID"))
    call.add_argument("--public-url", default=os.environ.get("PUBLIC_URL"))
    call.add_argument("--api-token", default=os.environ.get("API_TOKEN"))
    call.add_argument("--heard-wav", type=Path, default=None)

    dial = commands.add_parser("dial", help="ask a running server to place an outbound call")
    dial.add_argument("to", help="the number to call, E.164 (+14155550123)")
    dial.add_argument("--server", default="http://127.0.0.1:8000", help="the server's address")
    dial.add_argument("--api-token", default=os.environ.get("API_TOKEN"))
    dial.add_argument(
        "--from",
        dest="from_number",
        default=(os.environ.get("OUTBOUND_FROM_NUMBERS") or "").split(",")[0] or None,
        help="one of our numbers (default: the first of OUTBOUND_FROM_NUMBERS)",
    )
    dial.add_argument("--agent", default=None, help="the agent (default: the server's)")
    dial.add_argument("--purpose", default="", help="why we call, for the agent")
    dial.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="a fact for the agent"
    )
    dial.add_argument("--no-wait", action="store_true", help="do not follow the call's status")

    emulator = commands.add_parser("emulator", help="run the local Gemini Live API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=0, help="0 picks a free port")

    db = commands.add_parser("db", help="the database's schema (DATABASE_URL)")
    db.add_argument(
        "action",
        choices=["upgrade", "current", "check", "revision"],
        help="upgrade: run the migrations; current: the revision (exit 1 if not the newest); "
        "check: compare the tables with the code; revision: write the next migration",
    )
    db.add_argument("--revision", default="head", help="upgrade to this revision")
    db.add_argument("-m", "--message", default=None, help="what a new revision changes")

    args = parser.parse_args(argv)
    if args.command == "serve":
        from telephony.cli import serve as serve_command

        return serve_command.run(args.host, args.port, args.workers)
    if args.command == "demo":
        if args.scenario in CONTACT_CENTRE_SCENARIOS:
            from telephony.cli import scenarios

            return scenarios.run(args.scenario, args.out)
        from telephony.cli import demo as demo_command

        return demo_command.run(args.out, args.scenario)
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
    if args.command == "db":
        from telephony.cli import db as db_command

        return db_command.run(args.action, revision=args.revision, message=args.message)
    if args.command == "dial":
        from telephony.cli import dial as dial_command

        return dial_command.run(
            args.server,
            api_token=args.api_token,
            to=args.to,
            from_number=args.from_number,
            agent=args.agent,
            purpose=args.purpose,
            variables=args.var,
            wait=not args.no_wait,
        )
    from twins.gemini_live.cli import run_emulator

    return run_emulator(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
