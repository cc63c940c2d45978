#!/usr/bin/env python3
"""Summarise bench/run's per-run JSON lines: a table per scenario, Lifeline's
ratios to nginx, HAProxy and direct, and one results JSON file.
With TLS_UPSTREAM=1 (bench/run --tls-upstream) the proxies' upstream is wss://;
direct stays plain ws:// and is labelled as a reference only.

usage: report.py RUNS.jsonl RESULTS.json   (environment: see bench/run)
"""
import json
import os
import statistics
import sys

SCENARIOS = {
    "a": "1 KiB text, 64 connections x 4 in flight, closed loop",
    "b": "64 KiB binary, 16 connections x 2 in flight, closed loop (nginx: proxy_buffer_size 64k)",
    "c": "1 KiB text, 100 connections, open loop at 5,000 msgs/s (added latency)",
}
TARGETS = ["direct", "nginx", "haproxy", "lifeline"]
TLS = os.environ.get("TLS_UPSTREAM") == "1"
if TLS:
    SCENARIOS = {k: v + ", wss:// upstream" for k, v in SCENARIOS.items()}


def load_runs(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs


def derive(r):
    """Per-run figures used by the table."""
    load = r.get("load") or {}
    d = {"status": r.get("status"), "note": r.get("note", "")}
    if not load or "msgs_per_s" not in load:
        if d["status"] == "ok":
            d["status"] = "error"
        return d
    rtt = load.get("rtt_us", {})
    received = load.get("received", 0) or 0
    wall = load.get("wall_s", 0) or 0
    d.update(
        msgs_per_s=load["msgs_per_s"],
        mb_per_s=load["mb_per_s"],
        p50_us=rtt.get("p50"),
        p90_us=rtt.get("p90"),
        p99_us=rtt.get("p99"),
        p999_us=rtt.get("p999"),
        max_us=rtt.get("max"),
        errors=load.get("errors", 0),
        error_detail=load.get("error_detail", {}),
        received=received,
        wall_s=wall,
        loadgen_cpu_s=load.get("loadgen_cpu_s"),
        echo_cpu_s=r.get("echo_cpu_s"),
        background_cpu_s=r.get("background_cpu_s"),
    )
    if "upstream_tls" in r:
        d["upstream_tls"] = r["upstream_tls"]
    if r.get("target") != "direct" and received:
        d["proxy_cpu_s"] = r.get("proxy_cpu_s")
        d["proxy_cpu_us_per_msg"] = r["proxy_cpu_s"] * 1e6 / received
        d["proxy_cpu_pct"] = 100.0 * r["proxy_cpu_s"] / wall if wall else None
    if received:
        d["echo_cpu_us_per_msg"] = (r.get("echo_cpu_s") or 0) * 1e6 / received
        if load.get("loadgen_cpu_s") is not None:
            d["loadgen_cpu_us_per_msg"] = load["loadgen_cpu_s"] * 1e6 / received
    if wall:
        d["background_cores"] = (r.get("background_cpu_s") or 0) / wall
    return d


def pick(runs):
    """The median run by msgs/s (open loop: by p99) among the successful ones.
    (With --repeat 2 that is the lower one: the figures are never flattered.)"""
    ok = [r for r in runs if r["derived"].get("msgs_per_s") is not None]
    if not ok:
        return runs[0] if runs else None
    key = (lambda r: -r["derived"]["p99_us"]) if ok[0]["scenario"] == "c" else (lambda r: r["derived"]["msgs_per_s"])
    ok.sort(key=key)
    return ok[(len(ok) - 1) // 2]


def fmt(v, spec="{:.0f}", dash="-"):
    return dash if v is None else spec.format(v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def main():
    runs_path, out_path = sys.argv[1], sys.argv[2]
    runs = load_runs(runs_path)
    for r in runs:
        r["derived"] = derive(r)

    summary = {}
    lines = []
    warn_bg = False
    for sc in SCENARIOS:
        sc_runs = [r for r in runs if r["scenario"] == sc]
        if not sc_runs:
            continue
        summary[sc] = {"description": SCENARIOS[sc], "targets": {}}
        lines.append("")
        lines.append(f"Scenario {sc}: {SCENARIOS[sc]}")
        hdr = f"  {'target':<9} {'msgs/s':>9} {'MB/s':>8} {'p50 µs':>8} {'p99 µs':>8} {'p99.9 µs':>9} {'CPU µs/msg':>10} {'CPU %':>6} {'bg cores':>8} {'errors':>6}"
        lines.append(hdr)
        for tg in TARGETS:
            tr = [r for r in sc_runs if r["target"] == tg and r.get("status") != "busy"]
            if not tr:
                continue
            best = pick(tr)
            d = best["derived"]
            reps = [x["derived"].get("msgs_per_s") for x in tr if x["derived"].get("msgs_per_s") is not None]
            summary[sc]["targets"][tg] = dict(d, runs=len(tr), msgs_per_s_all_runs=reps,
                                              instance=best.get("instance", tg))
            label = "direct*" if TLS and tg == "direct" else tg
            if d.get("msgs_per_s") is None:
                lines.append(f"  {label:<9} {d['status']}: {d.get('note', '')}")
                continue
            bg = d.get("background_cores") or 0
            if bg > 0.1:
                warn_bg = True
            lines.append(
                f"  {label:<9} {d['msgs_per_s']:>9.0f} {d['mb_per_s']:>8.1f} {fmt(d['p50_us'], '{:.0f}'):>8} "
                f"{fmt(d['p99_us'], '{:.0f}'):>8} {fmt(d['p999_us'], '{:.0f}'):>9} "
                f"{fmt(d.get('proxy_cpu_us_per_msg'), '{:.2f}'):>10} {fmt(d.get('proxy_cpu_pct'), '{:.0f}'):>6} "
                f"{bg:>8.2f} {d['errors']:>6}"
                + (f"   (median of {len(reps)}: {min(reps):.0f}-{max(reps):.0f})" if len(reps) > 1 else "")
            )
        t = summary[sc]["targets"]
        ll = t.get("lifeline", {})
        rat = {}
        for other in ("nginx", "haproxy", "direct"):
            o = t.get(other, {})
            rat[other] = {
                "msgs_per_s": ratio(ll.get("msgs_per_s"), o.get("msgs_per_s")),
                "p50_us": ratio(ll.get("p50_us"), o.get("p50_us")),
                "p99_us": ratio(ll.get("p99_us"), o.get("p99_us")),
                "cpu_us_per_msg": ratio(ll.get("proxy_cpu_us_per_msg"), o.get("proxy_cpu_us_per_msg")),
            }
        summary[sc]["lifeline_ratios"] = rat
        if "lifeline" in t and ll.get("msgs_per_s") is not None:
            parts = []
            for other, name in (("nginx", "nginx"), ("haproxy", "HAProxy"),
                                ("direct", "direct (plain ws://, reference)" if TLS else "direct")):
                x = rat[other]
                if x["msgs_per_s"] is None:
                    continue
                s = f"Lifeline/{name}: msgs/s x{x['msgs_per_s']:.2f}, p50 x{fmt(x['p50_us'], '{:.2f}')}, p99 x{fmt(x['p99_us'], '{:.2f}')}"
                if x["cpu_us_per_msg"] is not None:
                    s += f", CPU/msg x{x['cpu_us_per_msg']:.2f}"
                parts.append(s)
            for p in parts:
                lines.append("  " + p)
        elif "lifeline" in t:
            lines.append(f"  Lifeline ratios: pending ({t['lifeline'].get('status')}: {t['lifeline'].get('note', '')})")
        if TLS:
            for tg in ("nginx", "haproxy", "lifeline"):
                hs = t.get(tg, {}).get("upstream_tls")
                if hs is not None:
                    desc = ", ".join(f"{n} x {k}" for k, n in sorted(hs.items())) or "none seen"
                    lines.append(f"  upstream TLS handshakes, {tg}: {desc}")
        if sc == "c":
            dr = t.get("direct", {})
            for tg in ("nginx", "haproxy", "lifeline"):
                x = t.get(tg, {})
                if x.get("p50_us") is not None and dr.get("p50_us") is not None:
                    lines.append(f"  added by {tg}: p50 +{x['p50_us'] - dr['p50_us']:.0f} µs, p99 +{x['p99_us'] - dr['p99_us']:.0f} µs")

    lines.append("")
    lines.append("CPU µs/msg: proxy process CPU (utime+stime, /proc/PID/stat) per echoed message (one relay up + one down),")
    lines.append("over the whole load run incl. warm-up. CPU %: of one core over that run. bg cores: other user-space")
    lines.append("processes on the machine during the run (not ours); 2 cores are shared by load generator, proxy and echo.")
    if TLS:
        lines.append("TLS mode: nginx, HAProxy and Lifeline relay to a wss:// echo upstream (they do the TLS client work);")
        lines.append("the load generator speaks plain ws:// to them. direct* is the load generator against the plain ws:// echo:")
        lines.append("no TLS anywhere, shown for reference only (the harness's ceiling), not a like-for-like row.")
    if warn_bg:
        lines.append("WARNING: background CPU above 0.1 core during some runs: those figures are depressed; rerun when idle.")
    print("\n".join(lines))

    doc = {
        "date_utc": os.environ.get("STAMP"),
        "machine": {"kernel": os.environ.get("KERNEL"), "cpus": os.environ.get("CPUS"),
                    "cpu_model": os.environ.get("CPU_MODEL")},
        "versions": {"nginx": os.environ.get("NGINX_VERSION"), "haproxy": os.environ.get("HAPROXY_VERSION"),
                     "lifeline_commit": os.environ.get("LIFELINE_COMMIT"),
                     "lifeline_bin": os.environ.get("LIFELINE_BIN") or None},
        "params": {"duration_s": float(os.environ.get("DURATION", "0")), "warmup_s": float(os.environ.get("WARMUP", "0")),
                   "repeat": int(os.environ.get("REPEAT", "1")),
                   "nice": int(os.environ.get("NICE", "0"))},
        **({"upstream": {"scheme": "wss", "openssl": os.environ.get("OPENSSL_VERSION"),
                         "certificate": os.environ.get("TLS_CERT_INFO"),
                         "direct": "plain ws:// to the echo server (reference only, no TLS)"}} if TLS else {}),
        "summary": summary,
        "runs": [{k: v for k, v in r.items() if k != "derived"} for r in runs],
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
