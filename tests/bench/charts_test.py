#!/usr/bin/env python3
"""bench/charts.py: the charts docs/performance.md embeds are what the committed
raw results draw (regenerate them with the command below when either changes),
and every chart is well-formed SVG with a line or bar per server it measured.

    python3 bench/harness.py --charts bench/results/2026-11-28-full.json docs/charts/2026-11-28
    python3 bench/harness.py --charts bench/results/2026-12-03-issue13-peers.json docs/charts/2026-12-03
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

root = sys.argv[1]
# (raw results, the folder of their committed charts, the charts they must draw)
RUNS = [
    ("2026-11-28-full.json", "2026-11-28",
     ["latency-s1-1000.svg", "s1-1000.svg", "s1-5000.svg", "s1-9000.svg", "s4-memory.svg"]),
    ("2026-12-03-issue13-peers.json", "2026-12-03",
     ["latency-s1-1000.svg", "s1-1000.svg", "s1-5000.svg", "s1-9000.svg"]),
]
ns = "{http://www.w3.org/2000/svg}"
failures = []
checked = 0
for raw_name, folder, expected in RUNS:
    raw = os.path.join(root, "bench", "results", raw_name)
    committed = os.path.join(root, "docs", "charts", folder)
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(root, "bench", "harness.py"), "--charts", raw,
                        out], check=True, stdout=subprocess.DEVNULL)
        drawn = sorted(os.listdir(out))
        if drawn != expected:
            failures.append(f"{raw_name}: charts drawn: {drawn}, expected {expected}")
        if sorted(os.listdir(committed)) != drawn:
            failures.append(f"docs/charts/{folder} holds {sorted(os.listdir(committed))}, "
                            f"the raw results draw {drawn}")
        servers = {r["server"] for r in json.load(open(raw))["results"]}
        for name in drawn:
            svg = ET.parse(os.path.join(out, name)).getroot()
            marks = (svg.findall(f"{ns}polyline") if name.startswith("s1-")
                     else svg.findall(f"{ns}rect"))
            # s1: a line per server; bars: a background, a frame, a legend swatch per server, then bars
            want = len(servers) if name.startswith("s1-") else 2 + 2 * len(servers)
            if len(marks) < want:
                failures.append(f"{folder}/{name}: {len(marks)} marks, expected at least {want}")
            text = open(os.path.join(out, name)).read()
            mine = os.path.join(committed, name)
            if not os.path.exists(mine) or open(mine).read() != text:
                failures.append(f"docs/charts/{folder}/{name} is not what the raw results draw: "
                                "regenerate it (see this file's docstring)")
            checked += 1
if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"{checked} charts drawn and matching docs/charts/{{{','.join(r[1] for r in RUNS)}}}")
