"""Cost per event of each pure core, and the replay harness's throughput.

Run: `python benchmarks/cores.py [--repeats R]`. Each row times one core call on a warm,
realistic state (the engine's shipped configuration; the first minute of the BTCUSDT capture
for the venue's book when ../shared/data is present, else the synthetic market) and reports the
median and range of R repeats, never only the best. The measurements live in
`fillstream/bench/cores.py`, which `fillstream bench` reports too; this prints them as markdown.
"""

from __future__ import annotations

import argparse
import platform

from fillstream.bench.cores import CORES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, repeats {args.repeats}")
    print("| core call | µs (median) | range of repeats | case |")
    print("|---|---|---|---|")
    for bench in CORES:
        cost = bench(args.repeats)
        if cost is None:
            print(f"| {bench.__name__} | - | - | needs ../shared/data |", flush=True)
            continue
        low, high = min(cost.timings_us), max(cost.timings_us)
        print(
            f"| {cost.name} | {cost.median_us:.2f} | {low:.2f} to {high:.2f} | {cost.case} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
