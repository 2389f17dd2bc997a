"""Case A, dask peer, in one child process: dask's threaded scheduler on the DAG.

The DAG (JSON written by bench/run.ts: names and dependency index lists) becomes a dask graph
dict {name: (noop, *upstream names)}; dask.threaded.get(graph, all names, num_workers=2) runs it.
Only the execution is timed. Run with Debian's /usr/bin/python3, which has python3-dask.

    /usr/bin/python3 bench/peers/dask-peer.py --dag /tmp/layered-10k.json [--warm 2]
"""

import argparse
import itertools
import json
import resource
import statistics
import sys
import time

import dask
import dask.threaded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dag", required=True)
    parser.add_argument("--warm", type=int, default=0)
    args = parser.parse_args()

    start_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(args.dag, encoding="utf-8") as f:
        dag = json.load(f)
    names = dag["names"]
    deps = dag["deps"]
    counter = [itertools.count()]

    def noop(*_upstream):
        next(counter[0])  # atomic under the GIL

    graph = {name: (noop, *[names[d] for d in deps[i]]) for i, name in enumerate(names)}

    def execute():
        counter[0] = itertools.count()
        t0 = time.perf_counter()
        results = dask.threaded.get(graph, names, num_workers=2)
        ms = (time.perf_counter() - t0) * 1000
        ran = next(counter[0])
        return ms, len(results) == len(names) and ran == len(names)

    wall_ms, verified = execute()
    max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    warm = []
    for _ in range(args.warm):
        ms, ok = execute()
        verified = verified and ok
        warm.append(ms)

    result = {
        "stages": len(names),
        "wallMs": wall_ms,
        "maxRssKb": max_rss_kb,
        "startRssKb": start_rss_kb,
        "verified": verified,
        "note": f"dask {dask.__version__}",
    }
    if warm:
        # The later half: once warmed up, as for the node cases.
        result["warmMs"] = statistics.median(warm[len(warm) // 2 :])
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
