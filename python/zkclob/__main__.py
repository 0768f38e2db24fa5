"""Command line: ``python -m zkclob run | devices | version | demo``."""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import zkclob as zc


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def print_devices(out=sys.stdout) -> None:
    rows = [("id", "device", "status", "name", "units", "memory", "versions / reason")]
    for d in zc.devices():
        if d.available:
            versions = f"{d.runtime_version}; driver {d.driver_version}"
            rows.append((str(d.id), d.spec, d.health["state"], d.name[:40], str(d.compute_units),
                         _fmt_bytes(d.global_mem_bytes), versions[:70]))
        else:
            rows.append((str(d.id), d.backend, "unavailable", "-", "-", "-", d.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1], file=out)


def cmd_devices(args) -> int:
    if args.json:
        print(json.dumps([d.__dict__ for d in zc.devices()], indent=2, default=list))
    else:
        print_devices()
    return 0


def cmd_version(args) -> int:
    print(json.dumps(zc.version_info(), indent=2))
    return 0


def cmd_run(args) -> int:
    from . import pipeline
    files = (args.orders_file, args.signatures_file, args.pubkeys_file)
    if any(files) and not all(files):
        print("error: --orders-file, --signatures-file and --pubkeys-file go together", file=sys.stderr)
        return 2
    cfg = pipeline.StreamConfig(orders=args.orders, seed=args.seed, symbols=args.symbols, traders=args.traders,
                                capacity=args.capacity, auction_orders=args.auction if args.auction else 0)
    stream = {}
    if all(files):
        orders, sigs, keys = pipeline.load_stream(*files)
        stream = {"orders": orders, "signatures": sigs, "pubkeys": keys}
        cfg = pipeline.StreamConfig(**{**cfg.__dict__, "orders": orders.size,
                                       "auction_orders": min(cfg.auction_orders, orders.size // 2)})
    progress = pipeline.Progress(enabled=False if args.json else None)
    try:
        report = pipeline.run(cfg, batch=args.batch, journal=args.journal, device=args.device, low_s=args.low_s,
                              progress=progress, **stream)
    except pipeline.PipelineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2) if args.json else pipeline.format_report(report))
    return 0


def cmd_demo(args) -> int:
    info = zc.version_info()
    print(f"zkclob {info['version']} ({info['backends']}; {info['compiler']})\n")
    print_devices()
    n = args.n
    print(f"\nPhilox4x64-10, {n:,} raw words, key=2024, counter=0, on every available device:")
    ref = np.random.Philox(key=2024).random_raw(n)
    for d in zc.devices():
        if not d.available:
            continue
        zc.random.philox(4, device=d.id)  # first use compiles the device's kernels
        t0 = time.perf_counter()
        words = zc.random.philox(n, key=2024, device=d.id)
        dt = time.perf_counter() - t0
        same = np.array_equal(words, ref)
        print(f"  {d.spec:<9} {n / dt / 1e6:9.1f} M words/s  first {words[0]:#018x}  "
              f"{'== numpy.random.Philox' if same else '!= numpy (MISMATCH)'}")
        if not same:
            return 1
    z = zc.random.normal(n, key=2024)
    print(f"\nstandard normals (Box-Muller): mean {z.mean():+.5f}, std {z.std():.5f}, "
          f"zero-copy base {type(z.base).__name__} at {z.base.address:#x}")
    if args.orders:
        print(f"\nthe pipeline (python -m zkclob run) at demo size:\n", flush=True)
        return cmd_run(argparse.Namespace(orders=args.orders, seed=0, symbols=64, traders=1000, capacity=1024,
                                          auction=0, batch=65536, journal=None, device="auto", low_s=False,
                                          json=False, orders_file=None, signatures_file=None,
                                          pubkeys_file=None))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m zkclob", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="the whole job: signed stream, verification, matching, market data, risk, "
                                   "state root and journal replay")
    r.add_argument("--orders", type=int, default=1_000_000, help="orders to generate")
    r.add_argument("--symbols", type=int, default=256)
    r.add_argument("--traders", type=int, default=10_000)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--capacity", type=int, default=1024, help="resting orders per symbol")
    r.add_argument("--auction", type=int, nargs="?", const=10_000, default=0, metavar="ORDERS",
                   help="opening and closing call auctions of ORDERS orders each (default 10000)")
    r.add_argument("--batch", type=int, default=65536, help="orders per verification and matching batch")
    r.add_argument("--journal", help="journal path (default: a temporary file)")
    r.add_argument("--device", default="auto", help="cpu, opencl, opencl:1 or auto")
    r.add_argument("--low-s", action="store_true", help="reject high-s signatures")
    r.add_argument("--orders-file", help=".npy of ORDER_DTYPE orders (with the next two)")
    r.add_argument("--signatures-file", help=".npy of uint8 (n, 64) signatures r || s")
    r.add_argument("--pubkeys-file", help=".npy of uint8 (traders, 64) public keys x || y")
    r.add_argument("--json", action="store_true", help="machine-readable report")
    r.set_defaults(fn=cmd_run)
    d = sub.add_parser("devices", help="print the device table (available and unavailable, with reasons)")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(fn=cmd_devices)
    v = sub.add_parser("version", help="library version and build information")
    v.set_defaults(fn=cmd_version)
    m = sub.add_parser("demo", help="device table, a short RNG demo and the pipeline at demo size")
    m.add_argument("-n", type=int, default=4_000_000, help="words per device")
    m.add_argument("--orders", type=int, default=0, help="orders of the pipeline run after the RNG demo (0: skip it)")
    m.set_defaults(fn=cmd_demo)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except zc.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
