"""The soak's arithmetic (bench/soak): Prometheus text, histogram percentiles, fault
windows, the ticker log's view of each session's upstream connections, and the goals."""

from __future__ import annotations

import re

RECONNECT_REASONS = ("pong_timeout", "upstream_close", "upstream_error", "server_notice")
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value} (labels exactly as written)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = SAMPLE_RE.match(line)
        if not m:
            continue
        try:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        except ValueError:
            pass
    return out


def labelled(metrics: dict[str, float], name: str, label: str) -> dict[str, float]:
    """{label value: sample} for one label of one metric family."""
    prefix = name + "{"
    pattern = re.compile(label + r'="([^"]*)"')
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if key.startswith(prefix):
            m = pattern.search(key)
            if m:
                out[m.group(1)] = out.get(m.group(1), 0.0) + value
    return out


def histogram_buckets(metrics: dict[str, float], name: str, side: str) -> list[tuple[float, float]]:
    """[(upper bound, cumulative count)] of one side's histogram, bound-ordered (+Inf last)."""
    out = []
    for key, value in metrics.items():
        if key.startswith(name + "_bucket{") and f'side="{side}"' in key:
            le = re.search(r'le="([^"]*)"', key).group(1)
            out.append((float("inf") if le == "+Inf" else float(le), value))
    return sorted(out)


def histogram_percentiles(before: list, after: list, qs=(0.5, 0.9, 0.99, 0.999)) -> dict:
    """Percentiles of the observations between two snapshots of a cumulative histogram,
    interpolated linearly inside a bucket (Prometheus' histogram_quantile)."""
    start = dict(before)
    deltas = [(le, count - start.get(le, 0.0)) for le, count in after]
    total = deltas[-1][1] if deltas else 0.0
    out = {"count": int(total)}
    for q in qs:
        if total <= 0:
            out[f"p{q * 100:g}"] = None
            continue
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        value = None
        for le, cum in deltas:
            if cum >= rank:
                if le == float("inf"):
                    value = lower_bound  # beyond the last finite bound: report that bound
                else:
                    span = cum - lower_count
                    value = lower_bound + (le - lower_bound) * ((rank - lower_count) / span if span else 1.0)
                break
            lower_bound, lower_count = le, cum
        out[f"p{q * 100:g}"] = value
    return out


def percentile(values: list[float], q: float):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def in_windows(t: float, windows: list[tuple[float, float]]) -> bool:
    return any(a <= t <= b for a, b in windows)


def window_clusters(windows: list[tuple[float, float]]) -> list[tuple[float, float, int]]:
    """Overlapping fault windows merged: (start, end, number of faults)."""
    out: list[list] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
            out[-1][2] += 1
        else:
            out.append([a, b, 1])
    return [tuple(x) for x in out]


def unexplained_reconnects(samples: list[dict], windows: list[tuple[float, float]], sessions: int) -> dict:
    """Reconnects (Lifeline's completed replacements for any reason but `lifetime`) not
    explained by a fault. Each metrics sample interval (t0, t1] is attributed to the
    (latest) fault window it overlaps, if any (bench/soak samples just before each fault): increments in intervals overlapping no window are
    unexplained; within a cluster of overlapping windows, up to `sessions` per fault are
    explained (each fault takes every session's upstream down once), the excess is not."""
    clusters = window_clusters(windows)
    outside = 0.0
    per_cluster = [0.0] * len(clusters)
    for prev, cur in zip(samples, samples[1:]):
        delta = sum(cur["rotations"].get(r, 0.0) - prev["rotations"].get(r, 0.0) for r in RECONNECT_REASONS)
        if delta <= 0:
            continue
        # A reconnect completes after its fault started: the latest cluster the interval overlaps.
        hit = next((k for k in reversed(range(len(clusters)))
                    if prev["t"] < clusters[k][1] and cur["t"] > clusters[k][0]), None)
        if hit is None:
            outside += delta
        else:
            per_cluster[hit] += delta
    excess = sum(max(0.0, n - sessions * c[2]) for n, c in zip(per_cluster, clusters))
    return {"outside_fault_windows": int(outside), "in_windows": int(sum(per_cluster)),
            "excess_in_windows": int(excess), "unexplained": int(outside + excess)}


def uncertain_writes(log_lines: list[str]) -> set[tuple[int, int]]:
    """(session, seq) pairs the ticker logged as `uncertain` (see soaklib/ticker.py)."""
    out = set()
    for line in log_lines:
        parts = line.split()
        if parts and parts[0] == "uncertain":
            out.add((int(parts[3]), int(parts[4])))
    return out


def ticker_connections(log_lines: list[str]) -> dict:
    """The ticker's log -> for each session, its subscribed upstream connections in order,
    each classified: `first` (the session's first), `rotation` (another connection of the
    session was subscribed and open: make before break) or `reconnect` (none was)."""
    open_subs: dict[int, set] = {}  # session -> ids of its subscribed, open connections
    subs: list[dict] = []
    seen: set[int] = set()
    epoch = 0
    for line in log_lines:
        parts = line.split()
        if not parts:
            continue
        kind, t = parts[0], float(parts[1])
        if kind == "start":
            epoch += 1
            open_subs.clear()  # a (re)started ticker: the previous process's connections are gone
        elif kind == "sub":
            cid, session, first = int(parts[2]), int(parts[3]), int(parts[4])
            others = open_subs.setdefault(session, set())
            how = "first" if session not in seen else ("rotation" if others else "reconnect")
            seen.add(session)
            others.add((epoch, cid))
            subs.append({"t": t, "session": session, "kind": how, "first_seq": first})
        elif kind == "close":
            cid, session = int(parts[2]), int(parts[3])
            open_subs.get(session, set()).discard((epoch, cid))
    return {"subscriptions": subs}
