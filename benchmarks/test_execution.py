"""Time a test execution of the example campaign over generated sample data.

Usage::

    python benchmarks/test_execution.py --profiles 1000000 [--repeat 3]

Generates the sample data once per size and seed (cached under
``benchmarks/.cache``), then runs ``examples/spring-sale.json`` in test mode several
times and prints the generation time, each execution's time, the process's peak
memory and the workspace's size on disk.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import ajo_workbench as ajo

ROOT = Path(__file__).parent
EXAMPLE = ROOT.parent / "examples" / "spring-sale.json"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    folder = ROOT / ".cache" / f"sample-{args.profiles}-{args.seed}"
    fresh = not (folder / "workspace.db").exists()
    started = time.perf_counter()
    workspace = ajo.Workspace(folder)
    if fresh:
        workspace.generate_sample_data(profiles=args.profiles, seed=args.seed)
        print(f"sample data generated in {time.perf_counter() - started:.1f} s")
    data_size = folder_size(folder / "tables")

    campaign = workspace.load_campaign(EXAMPLE)
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        run = campaign.start().wait()
        times.append(time.perf_counter() - started)
        assert run.state == "finished", run.error
    counts = {t.id: run.count(t.id) for t in run.definition.transitions}

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"profiles: {args.profiles:,}; activities: {len(run.definition.activities)}")
    print(f"counts: {counts}")
    print(
        f"test execution: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {len(times)} runs)"
    )
    print(f"peak memory of the process: {peak:,.0f} MiB")
    print(
        f"tables on disk: {data_size / 2**20:,.1f} MiB; "
        f"whole workspace: {folder_size(folder) / 2**20:,.1f} MiB"
    )


if __name__ == "__main__":
    main()
