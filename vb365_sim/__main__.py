"""``python -m vb365_sim``: serve the simulated VB365 REST API until interrupted.

Prints one line ``vb365_sim listening on <base URL>`` once the socket is bound, so scripts can wait for it.
"""

from __future__ import annotations

import argparse
import sys
import time

from vb365_sim.app import SimulatorApp
from vb365_sim.faults import FaultRule
from vb365_sim.server import base_url, build_server
from vb365_sim.state import SimConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vb365_sim",
                                description="Veeam Backup for Microsoft 365 REST API simulator (v1-v8).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=4443,
                   help="port to bind, 0 for a free one (default 4443, as the real server)")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate generated at start")
    p.add_argument("--seed", type=int, default=1, help="seed of the deterministic data (default 1)")
    p.add_argument("--sessions", type=int, default=200, help="size of the pre-existing session history (default 200)")
    p.add_argument("--latency-ms", type=int, default=0, help="delay added to every API request")
    p.add_argument("--token-ttl", type=int, default=3600, help="access-token lifetime in seconds (default 3600)")
    p.add_argument("--admin-user", default="admin", help="administrator user name (default admin)")
    p.add_argument("--admin-password", default="admin", help="administrator password (default admin)")
    p.add_argument("--event-interval", type=float, default=5.0, help="seconds between item events of live sessions")
    p.add_argument("--content", choices=("small", "medium", "large"), default="small",
                   help="size of the tenants' backed-up contents (default small; large: ~2,000 mailboxes, "
                        "a 200,000-item folder, a 50,000-file OneDrive)")
    p.add_argument("--browse-item-latency-us", type=int, default=0,
                   help="microseconds a browse answer costs per item it returns or scans (default 0)")
    r = p.add_argument_group("restores", "restore and download knobs (also GET/POST /_sim/restore-knobs at run time)")
    r.add_argument("--export-bytes-per-second", type=int, default=0,
                   help="download throughput cap in bytes per second (default 0: unlimited)")
    r.add_argument("--export-prepare-seconds-per-gib", type=float, default=0.0,
                   help="real seconds before the first byte of a download, per GiB of it (default 0)")
    r.add_argument("--restore-item-real-seconds", type=float, default=0.0,
                   help="v6/v7: real seconds a restore POST is held per item (default 0)")
    r.add_argument("--restore-item-sim-seconds", type=float, default=0.1,
                   help="v8: seconds of the simulator clock each restored item takes (default 0.1)")
    r.add_argument("--no-outlook", action="store_true", help="refuse PST exports as a server without Outlook does")
    g = p.add_argument_group("faults", "one fault rule built from these flags (same meaning as POST /_sim/faults)")
    g.add_argument("--fault-status", type=int, help="answer this HTTP status with the version's error body")
    g.add_argument("--fault-rate", type=float, default=1.0, help="probability that the fault applies (default 1)")
    g.add_argument("--fault-path", help="regular expression on the request path the fault applies to")
    g.add_argument("--fault-malformed", action="store_true", help="answer 200 with invalid JSON")
    g.add_argument("--fault-drop", action="store_true", help="process the request, then close without answering")
    g.add_argument("--fault-down", action="store_true", help="close the connection without processing")
    g.add_argument("--fault-cut-body", action="store_true", help="answer, then cut the body half way (downloads)")
    return p


def fault_from_args(args: argparse.Namespace) -> FaultRule | None:
    """The fault rule the ``--fault-*`` flags describe, or None when no effect flag is given."""
    if args.fault_status is None and not (args.fault_malformed or args.fault_drop or args.fault_down
                                          or args.fault_cut_body):
        return None
    data: dict[str, object] = {"rate": args.fault_rate, "malformed": args.fault_malformed,
                               "drop": args.fault_drop, "down": args.fault_down, "cut_body": args.fault_cut_body}
    if args.fault_status is not None:
        data["status"] = args.fault_status
    if args.fault_path:
        data["path"] = args.fault_path
    return FaultRule.from_json(data)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rule = fault_from_args(args)
    except ValueError as exc:
        print(f"vb365_sim: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    config = SimConfig(
        seed=args.seed,
        sessions=args.sessions,
        latency_ms=args.latency_ms,
        token_ttl=args.token_ttl,
        admin_user=args.admin_user,
        admin_password=args.admin_password,
        event_interval_s=args.event_interval,
        content=args.content,
        browse_item_latency_us=max(0, args.browse_item_latency_us),
        export_bytes_per_second=max(0, args.export_bytes_per_second),
        export_prepare_seconds_per_gib=max(0.0, args.export_prepare_seconds_per_gib),
        restore_item_real_seconds=max(0.0, args.restore_item_real_seconds),
        restore_item_sim_seconds=max(0.0, args.restore_item_sim_seconds),
        outlook_installed=not args.no_outlook,
    )
    app = SimulatorApp(config, faults=[rule] if rule else None)
    server = build_server(app, host=args.host, port=args.port, tls=args.tls)
    print(
        f"vb365_sim listening on {base_url(server, tls=args.tls)} "
        f"(seed {args.seed}, {args.sessions} sessions, {args.content} content, "
        f"ready in {time.perf_counter() - started:.2f}s)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
