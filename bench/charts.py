"""Charts of a benchmark run, drawn as standalone SVG files from the raw results
(docs/performance.md embeds them). No dependencies: the SVG is written by hand.

    python3 bench/harness.py --charts RESULTS.json OUT_DIR   # from an earlier run
    (bench/run draws them after every run, beside the raw results)

Charts, one file each:
  s1-<subs>.svg      deliveries/s delivered per offered step, one line per server
                     (S1 at that many subscribers; the median of the repetitions;
                     a hollow marker is a step that was not sustained)
  latency-s1-1000.svg p50 / p99 / p99.9 ms at 100k deliveries/s, per server
  s4-memory.svg      bytes per idle connection, per server
"""
import math
import os
import statistics
from xml.sax.saxutils import escape

COLORS = {"switchboard": "#1f77b4", "socketio": "#d62728", "centrifugo": "#2ca02c",
          "nats": "#9467bd"}
W, H = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 160, 50, 60


def _num(v):
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def fmt(v):
    """A measured value, as the table (bench/harness.py) and the charts print it."""
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}"


def _svg(title, body):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
            f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">\n'
            f'<rect width="{W}" height="{H}" fill="white"/>\n'
            f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>\n'
            + "".join(body) + "</svg>\n")


def _legend(names):
    out = []
    for i, name in enumerate(names):
        y = TOP + 10 + i * 20
        x = W - RIGHT + 20
        out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="12" '
                   f'fill="{COLORS.get(name, "#555")}"/>')
        out.append(f'<text x="{x + 18}" y="{y + 1}">{escape(name)}</text>\n')
    return out


def _log_ticks(lo, hi):
    ticks, p = [], 10 ** math.floor(math.log10(lo))
    while p <= hi * 1.0001:
        for m in (1, 2, 5):
            if lo / 1.0001 <= p * m <= hi * 1.0001:
                ticks.append(p * m)
        p *= 10
    return ticks


def line_chart(title, xlabel, ylabel, series):
    """series: {name: [(x, y, solid)]}; both axes logarithmic."""
    pts = [(x, y) for s in series.values() for x, y, _ in s if x > 0 and y > 0]
    if not pts:
        return None
    xlo, xhi = min(p[0] for p in pts), max(p[0] for p in pts)
    ylo, yhi = min(p[1] for p in pts), max(p[1] for p in pts)
    ylo, yhi = min(ylo, xlo), max(yhi, xhi)  # the y = x line (all delivered) fits
    if xhi == xlo:
        xhi = xlo * 10
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(x):
        return LEFT + pw * (math.log10(x) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo))

    def sy(y):
        return TOP + ph - ph * (math.log10(y) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo))

    body = [f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>\n']
    for t in _log_ticks(xlo, xhi):
        body.append(f'<line x1="{sx(t):.1f}" y1="{TOP}" x2="{sx(t):.1f}" y2="{TOP + ph}" stroke="#eee"/>'
                    f'<text x="{sx(t):.1f}" y="{TOP + ph + 16}" text-anchor="middle">{_num(t)}</text>\n')
    for t in _log_ticks(ylo, yhi):
        body.append(f'<line x1="{LEFT}" y1="{sy(t):.1f}" x2="{LEFT + pw}" y2="{sy(t):.1f}" stroke="#eee"/>'
                    f'<text x="{LEFT - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{_num(t)}</text>\n')
    body.append(f'<line x1="{sx(xlo):.1f}" y1="{sy(xlo):.1f}" x2="{sx(xhi):.1f}" y2="{sy(xhi):.1f}" '
                f'stroke="#bbb" stroke-dasharray="4 4"/>\n')
    body.append(f'<text x="{LEFT + pw / 2}" y="{H - 18}" text-anchor="middle">{escape(xlabel)}</text>\n')
    body.append(f'<text x="18" y="{TOP + ph / 2}" text-anchor="middle" '
                f'transform="rotate(-90 18 {TOP + ph / 2})">{escape(ylabel)}</text>\n')
    for name, s in series.items():
        color = COLORS.get(name, "#555")
        s = [p for p in s if p[0] > 0 and p[1] > 0]
        if len(s) > 1:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in s)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>\n')
        for x, y, solid in s:
            fill = color if solid else "white"
            body.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{fill}" '
                        f'stroke="{color}" stroke-width="1.5"/>\n')
    body += _legend(list(series))
    return _svg(title, body)


def bar_chart(title, ylabel, groups, names):
    """groups: [(group label, {name: value or None})]; linear y axis from 0."""
    vals = [v for _, g in groups for v in g.values() if v is not None]
    if not vals:
        return None
    top = max(vals) * 1.1
    step = 10 ** math.floor(math.log10(top))
    step = next(s * step for s in (0.2, 0.5, 1, 2) if top / (s * step) <= 8)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sy(y):
        return TOP + ph - ph * y / top

    body = [f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>\n']
    t = 0.0
    while t <= top:
        body.append(f'<line x1="{LEFT}" y1="{sy(t):.1f}" x2="{LEFT + pw}" y2="{sy(t):.1f}" stroke="#eee"/>'
                    f'<text x="{LEFT - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{_num(round(t, 6))}</text>\n')
        t += step
    body.append(f'<text x="18" y="{TOP + ph / 2}" text-anchor="middle" '
                f'transform="rotate(-90 18 {TOP + ph / 2})">{escape(ylabel)}</text>\n')
    gw = pw / len(groups)
    bw = gw * 0.8 / len(names)
    for gi, (label, g) in enumerate(groups):
        x0 = LEFT + gi * gw + gw * 0.1
        body.append(f'<text x="{LEFT + gi * gw + gw / 2:.1f}" y="{TOP + ph + 16}" '
                    f'text-anchor="middle">{escape(label)}</text>\n')
        for ni, name in enumerate(names):
            v = g.get(name)
            if v is None:
                continue
            x = x0 + ni * bw
            body.append(f'<rect x="{x:.1f}" y="{sy(v):.1f}" width="{bw * 0.9:.1f}" '
                        f'height="{TOP + ph - sy(v):.1f}" fill="{COLORS.get(name, "#555")}"/>'
                        f'<text x="{x + bw * 0.45:.1f}" y="{sy(v) - 4:.1f}" text-anchor="middle" '
                        f'font-size="10">{fmt(v)}</text>\n')
    body += _legend(names)
    return _svg(title, body)


def _servers(results):
    order = ["switchboard", "socketio", "centrifugo", "nats"]
    seen = {r["server"] for r in results}
    return [s for s in order if s in seen] + sorted(seen - set(order))


def _median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def s1_size(tag):
    """(subscribers, variant) of an S1 tag: "S1-1000" is (1000, ""), "S1-1000-tls"
    is (1000, "tls")."""
    size, _, variant = tag[3:].partition("-")
    return int(size), variant


def draw(results, out_dir):
    """Writes the charts of these raw results into out_dir; returns the files written."""
    os.makedirs(out_dir, exist_ok=True)
    servers = _servers(results)
    charts = {}
    s1 = sorted({r["tag"] for r in results if r.get("tag", "").startswith("S1-")},
                key=s1_size)
    for tag in s1:
        subs, variant = s1_size(tag)
        series = {}
        for server in servers:
            runs = [r for r in results if r.get("tag") == tag and r["server"] == server]
            by_step = {}
            for r in runs:
                for st in r.get("steps", []):
                    by_step.setdefault(st["offered"], []).append(st)
            pts = []
            for offered in sorted(by_step):
                sts = by_step[offered]
                delivered = _median([st.get("delivered_per_s") for st in sts])
                solid = sum(bool(st.get("sustained")) for st in sts) * 2 > len(sts)
                if delivered:
                    pts.append((offered, delivered, solid))
            if pts:
                series[server] = pts
        charts[f"s1-{tag[3:]}.svg"] = line_chart(
            f"S1 broadcast, {subs} subscribers{' over TLS' if variant == 'tls' else ''} "
            "(median of the repetitions; hollow: not sustained)",
            "offered deliveries/s", "delivered deliveries/s", series)
    groups = []
    for q, key in (("p50", "p50_ms"), ("p99", "p99_ms"), ("p99.9", "p999_ms")):
        g = {}
        for server in servers:
            g[server] = _median([st.get(key) for r in results
                                 if r.get("tag") == "S1-1000" and r["server"] == server
                                 for st in r.get("steps", []) if abs(st["offered"] - 100e3) < 1])
        groups.append((q, g))
    charts["latency-s1-1000.svg"] = bar_chart(
        "S1, 1,000 subscribers, at 100k deliveries/s: latency (ms, median of the repetitions)",
        "ms", groups, servers)
    mem = {s: _median([r.get("bytes_per_connection") for r in results
                       if r.get("tag") == "S4" and r["server"] == s]) for s in servers}
    charts["s4-memory.svg"] = bar_chart("S4: bytes per idle connection (median)", "bytes",
                                        [("idle connection", mem)], servers)
    written = []
    for name, svg in charts.items():
        if svg is None:
            continue
        path = os.path.join(out_dir, name)
        with open(path, "w") as f:
            f.write(svg)
        written.append(path)
    return written
