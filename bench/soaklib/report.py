"""The soak's result (bench/soak): everything measured, the goals, and the printed table."""

from __future__ import annotations

from collections import Counter

from . import analysis


def delta(end: dict, start: dict, name: str) -> float:
    return end["metrics"].get(name, 0.0) - start["metrics"].get(name, 0.0)


def label_delta(end: dict, start: dict, name: str, label: str) -> dict[str, int]:
    e = analysis.labelled(end["metrics"], name, label)
    s = analysis.labelled(start["metrics"], name, label)
    return {k: int(v - s.get(k, 0.0)) for k, v in sorted(e.items()) if v - s.get(k, 0.0)}


def rnd(x, digits=1):
    return None if x is None else round(x, digits)


def build(soak, client: dict, end: dict) -> dict:
    a = soak.a
    first = soak.samples[0]
    base = soak.baseline or first
    windows = [(f["start"], f["end"] + a.grace) for f in soak.faults]
    rel = lambda unix: round(unix - soak.t0_unix, 2)  # noqa: E731

    sessions = client["sessions"]
    totals = {k: sum(s[k] for s in sessions) for k in ("messages", "gaps", "missing", "dups", "unexpected",
                                                      "disconnects")}
    bad = [s for s in sessions if s["gaps"] or s["dups"] or s["disconnects"] or s["unexpected"]]
    events = [dict(e, rel=rel(e["t"])) for e in client["events"]]
    by_kind = Counter(e["kind"] for e in events)
    stream_events = [e for e in events if e["kind"] in ("gap", "dup", "disconnect", "unexpected")]
    stalls = [e for e in events if e["kind"] == "stall"]
    stalls_outside = [e for e in stalls if not analysis.in_windows(e["rel"], windows)]
    for f, (w0, w1) in zip(soak.faults, windows):
        inside = [e for e in stream_events if w0 <= e["rel"] <= w1]
        f["app_events"] = dict(Counter(e["kind"] for e in inside))
        f["stalls"] = sum(1 for e in stalls if w0 <= e["rel"] <= w1)

    # Reconnects: Lifeline's metrics, and the ticker's per-session view.
    samples = [s for s in soak.samples if s["t"] <= end["t"]]
    metric_reconnects = analysis.unexplained_reconnects(samples, windows, a.sessions)
    log = (soak.rundir / "ticker.log").read_text().splitlines()
    uncertain = analysis.uncertain_writes(log)
    ambiguous = [e for e in events if e["kind"] == "dup" and (e["session"], e["got"]) in uncertain]
    subs = analysis.ticker_connections(log)["subscriptions"]
    sub_kinds = Counter(s["kind"] for s in subs)
    unexplained_subs = [dict(s, rel=rel(s["t"])) for s in subs
                        if s["kind"] == "reconnect" and not analysis.in_windows(rel(s["t"]), windows)]
    per_session_unexplained = Counter(s["session"] for s in unexplained_subs)

    rotations = label_delta(end, first, "lifeline_upstream_rotations_total", "reason")
    rtt = {side: analysis.histogram_percentiles(
        analysis.histogram_buckets(first["metrics"], "lifeline_pong_rtt_seconds", side),
        analysis.histogram_buckets(end["metrics"], "lifeline_pong_rtt_seconds", side))
        for side in ("downstream", "upstream")}
    for side in rtt.values():
        for k, v in list(side.items()):
            if k.startswith("p") and v is not None:
                side[k] = round(v * 1000, 2)  # ms
    client_rtt = client["ping_rtts"]
    latency = [ms for _, ms in client["latency_ms"]]
    latency_quiet = [ms for t, ms in client["latency_ms"] if not analysis.in_windows(rel(t), windows)]
    rss_base = base["metrics"].get("process_resident_memory_bytes", 0.0)
    rss_end = end["metrics"].get("process_resident_memory_bytes", 0.0)
    rss_peak = max(s["metrics"].get("process_resident_memory_bytes", 0.0) for s in samples)
    growth = (rss_end - rss_base) / rss_base * 100 if rss_base else None
    wall = end["t"] - first["t"]
    ours = sum((end[k] or 0) - (first[k] or 0) for k in ("lifeline_cpu", "client_cpu", "ticker_cpu"))

    goals = {
        "gaps": (totals["gaps"], 0),
        "duplicates": (totals["dups"] - len(ambiguous), 0),
        "app_disconnects": (totals["disconnects"], 0),
        "unexpected_messages": (totals["unexpected"], 0),
        "unexplained_reconnects_metrics": (metric_reconnects["unexplained"], 0),
        "unexplained_reconnects_ticker": (len(unexplained_subs), 0),
        "sessions_stalled_at_end": (len(client["stalled_at_end"]), 0),
        "rss_growth_percent": (rnd(growth, 2), a.max_rss_growth),
    }
    goal_results = {k: {"value": v, "goal": f"{'<' if k == 'rss_growth_percent' else '='} {g:g}",
                        "ok": v is not None and (v < g if k == "rss_growth_percent" else v == g)}
                    for k, (v, g) in goals.items()}
    return {
        "date_utc": __import__("time").strftime("%Y-%m-%dT%H:%M:%SZ", __import__("time").gmtime(soak.t0_unix)),
        "settings": {"sessions": a.sessions, "duration_s": a.duration, "rate": a.rate, "rotation_s": a.rotation,
                     "jitter_s": a.jitter, "fault_interval_s": a.fault_interval, "faults": a.faults,
                     "freeze_s": soak.freeze_seconds, "restart_delay_s": a.restart_delay, "grace_s": a.grace,
                     "seed": a.seed, "rss_baseline_s": base["t"], "lifeline_config": soak.config()},
        "faults": soak.faults,
        "app": {**totals, "harness_ambiguous_dups": len(ambiguous), "uncertain_writes": len(uncertain),
                "harness_ambiguous_sample": ambiguous[:20], "sessions_with_problems": len(bad),
                "problem_sessions": [s["i"] for s in bad][:50],
                "events": dict(by_kind), "first_events": stream_events[:40],
                "stalls_over_3s": len(stalls), "stalls_outside_fault_windows": len(stalls_outside),
                "stalls_outside_sample": stalls_outside[:20],
                "max_interval_s": max((s["max_interval"] for s in sessions), default=0),
                "stalled_at_end": client["stalled_at_end"][:50], "connect_failures": client["connect_failures"],
                "sessions": len(sessions)},
        "reconnects": {"metrics": metric_reconnects, "ticker_subscriptions": dict(sub_kinds),
                       "ticker_unexplained": len(unexplained_subs),
                       "ticker_unexplained_sessions": len(per_session_unexplained),
                       "ticker_unexplained_sample": unexplained_subs[:20]},
        "lifeline": {
            "rotations": rotations,
            "connect_failures": label_delta(end, first, "lifeline_upstream_connect_failures_total", "reason"),
            "pong_timeouts": label_delta(end, first, "lifeline_pong_timeouts_total", "side"),
            "dead_connections": label_delta(end, first, "lifeline_dead_connections_total", "side"),
            "deduplicated": int(delta(end, first, "lifeline_deduplicated_messages_total")),
            "replayed": int(delta(end, first, "lifeline_replayed_messages_total")),
            "messages_down": int(analysis.labelled(end["metrics"], "lifeline_messages_total", "direction").get("down", 0)),
            "sessions_end": int(end["metrics"].get("lifeline_sessions", 0)),
            "upstream_connections_end": int(end["metrics"].get("lifeline_upstream_connections", 0)),
            "rss_mib_baseline": rnd(rss_base / 2**20, 2), "rss_mib_end": rnd(rss_end / 2**20, 2),
            "rss_mib_peak": rnd(rss_peak / 2**20, 2), "rss_growth_percent": rnd(growth, 2),
            "open_fds_baseline": int(base["metrics"].get("process_open_fds", 0)),
            "open_fds_end": int(end["metrics"].get("process_open_fds", 0)),
            "cpu_seconds": rnd((end["lifeline_cpu"] or 0) - (first["lifeline_cpu"] or 0)),
        },
        "rtt_ms": {
            "lifeline_histogram": rtt,
            "client_pings": {"count": len(client_rtt),
                             **{f"p{q * 100:g}": rnd((analysis.percentile(client_rtt, q) or 0) * 1000, 2)
                                for q in (0.5, 0.9, 0.99, 0.999)},
                             "max": rnd(max(client_rtt, default=0) * 1000, 2)},
        },
        "latency_ms": {"samples": len(latency), "p50": analysis.percentile(latency, 0.5),
                       "p99": analysis.percentile(latency, 0.99), "max": max(latency, default=None),
                       "outside_fault_windows": {"samples": len(latency_quiet),
                                                 "p50": analysis.percentile(latency_quiet, 0.5),
                                                 "p99": analysis.percentile(latency_quiet, 0.99),
                                                 "max": max(latency_quiet, default=None)}},
        "cpu_seconds": {"lifeline": rnd((end["lifeline_cpu"] or 0) - (first["lifeline_cpu"] or 0)),
                        "ticker": rnd(end["ticker_cpu"] - first["ticker_cpu"]),
                        "client": rnd((end["client_cpu"] or 0) - (first["client_cpu"] or 0)),
                        "wall": rnd(wall)},
        "machine": {"load_start": rnd(first["load"], 2), "load_end": rnd(end["load"], 2),
                    "load_max": rnd(max(s["load"] for s in samples), 2),
                    "other_processes_cores": rnd((end["machine_busy"] - first["machine_busy"] - ours) / wall, 2)
                    if wall > 0 else None},
        "goals": goal_results,
        "passed": all(g["ok"] for g in goal_results.values()),
    }


def print_table(r: dict) -> None:
    st, app, ll, rc, cpu = r["settings"], r["app"], r["lifeline"], r["reconnects"], r["cpu_seconds"]
    wall = cpu["wall"] or 1
    print(f"\n== soak: {st['sessions']} sessions, {st['duration_s']:g} s, ticker {st['rate']:g} msgs/s, rotation "
          f"{st['rotation_s']:g} s (jitter {st['jitter_s']:g}), seed {st['seed']}")
    print(f"  faults ({len(r['faults'])}):")
    for f in r["faults"]:
        ev = ", ".join(f"{k} {v}" for k, v in f["app_events"].items()) or "no app events"
        print(f"    {f['start']:7.1f}-{f['end']:7.1f} s  {f['kind']:8} {f['detail']:32} {ev}; stalls>3s {f['stalls']}")
    print(f"  app: messages {app['messages']}, gaps {app['gaps']} (missing {app['missing']}), dups {app['dups']}, "
          f"disconnects {app['disconnects']}, unexpected {app['unexpected']}; sessions with any: "
          f"{app['sessions_with_problems']} of {app['sessions']}")
    print(f"  harness: {app['uncertain_writes']} writes a fault interrupted (ticker log `uncertain`), "
          f"{app['harness_ambiguous_dups']} of the dups are exactly those messages (not counted against the goal)")
    print(f"  app: stalls > 3 s {app['stalls_over_3s']} (outside fault windows {app['stalls_outside_fault_windows']}), "
          f"max interval {app['max_interval_s']:.2f} s, stalled at end {len(app['stalled_at_end'])}")
    m = rc["metrics"]
    print(f"  reconnects (metrics): {m['in_windows']} in fault windows, {m['outside_fault_windows']} outside, "
          f"excess {m['excess_in_windows']} -> unexplained {m['unexplained']}")
    print(f"  upstream subscriptions (ticker log): {rc['ticker_subscriptions']}; unexplained reconnects "
          f"{rc['ticker_unexplained']} ({rc['ticker_unexplained_sessions']} sessions)")
    print(f"  rotations by reason {ll['rotations']}; "
          f"dedup {ll['deduplicated']}, replayed {ll['replayed']}")
    print(f"  connect failures {ll['connect_failures']}, pong timeouts {ll['pong_timeouts']}, dead {ll['dead_connections']}")
    for side, h in r["rtt_ms"]["lifeline_histogram"].items():
        print(f"  pong RTT {side:10} (histogram, ms): n {h['count']}, p50 {h['p50']}, p90 {h['p90']}, "
              f"p99 {h['p99']}, p99.9 {h['p99.9']}")
    c = r["rtt_ms"]["client_pings"]
    print(f"  app ping RTT (ms): n {c['count']}, p50 {c['p50']}, p99 {c['p99']}, p99.9 {c['p99.9']}, max {c['max']}")
    lat = r["latency_ms"]
    q = lat["outside_fault_windows"]
    print(f"  latency produced->app (ms): p50 {lat['p50']}, p99 {lat['p99']}, max {lat['max']}; outside fault "
          f"windows p50 {q['p50']}, p99 {q['p99']}, max {q['max']}")
    print(f"  Lifeline RSS {ll['rss_mib_baseline']} MiB at {st['rss_baseline_s']:g} s -> {ll['rss_mib_end']} MiB "
          f"at the end ({ll['rss_growth_percent']:+} %), peak {ll['rss_mib_peak']}; fds {ll['open_fds_baseline']} -> "
          f"{ll['open_fds_end']}")
    print(f"  CPU s: lifeline {cpu['lifeline']} ({cpu['lifeline'] / wall * 100:.1f} %), ticker {cpu['ticker']} "
          f"({cpu['ticker'] / wall * 100:.1f} %), client {cpu['client']} ({cpu['client'] / wall * 100:.1f} %); "
          f"load {r['machine']['load_start']} -> {r['machine']['load_end']} (max {r['machine']['load_max']}), "
          f"other processes {r['machine']['other_processes_cores']} cores")
    print("  goals:")
    for k, g in r["goals"].items():
        print(f"    {'ok  ' if g['ok'] else 'MISS'} {k:32} {g['value']} (goal {g['goal']})")
    print(f"  {'PASSED' if r['passed'] else 'FAILED'}")
