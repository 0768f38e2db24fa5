"""Command line: ``python -m zkclob devices | version | demo``."""

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
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m zkclob", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("devices", help="print the device table (available and unavailable, with reasons)")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(fn=cmd_devices)
    v = sub.add_parser("version", help="library version and build information")
    v.set_defaults(fn=cmd_version)
    m = sub.add_parser("demo", help="device table and a short RNG demo")
    m.add_argument("-n", type=int, default=4_000_000, help="words per device")
    m.set_defaults(fn=cmd_demo)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except zc.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
