#!/usr/bin/env python3
"""bench/suite's report: merges bench/run's results JSON (scenarios a, b, c) and
bench/idle/compare's JSON into ONE table (a column per target: direct, nginx,
HAProxy, Lifeline; ratios are each target's figure over HAProxy's, nginx's and
direct's), a met / not met line per issue-8 target, and one JSON file.

usage: suite_report.py --throughput T.json --idle I.json --out SUITE.json
                       [--elapsed S] [--quick 0|1] [--command TEXT]
Either input may be missing (that part was skipped or failed): its rows say so.
"""
import argparse
import json
import os

COLS = [("direct", "direct"), ("nginx", "nginx"), ("haproxy", "HAProxy"), ("lifeline", "Lifeline")]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ratio(a, b):
    return a / b if a is not None and b else None


def num(v, spec):
    return "–" if v is None else format(v, spec)


class Table:
    """Rows of a markdown table: a label and one cell per target column."""

    def __init__(self):
        self.rows = []

    def add(self, label, cells):
        self.rows.append((label, cells))

    def markdown(self):
        head = "| figure | " + " | ".join(name for _, name in COLS) + " |"
        sep = "|---|" + "---:|" * len(COLS)
        body = [f"| {label} | " + " | ".join(cells) + " |" for label, cells in self.rows]
        return "\n".join([head, sep] + body)


def throughput_rows(table, tp):
    """Scenarios a and b: msgs/s (MB/s for b), ratios to HAProxy, nginx, direct, CPU per message;
    scenario c: p50/p99 and what each proxy adds to direct's."""
    summ = (tp or {}).get("summary", {})
    for sc, title in (("a", "a: 1 KiB, 64 conns × 4 in flight"), ("b", "b: 64 KiB, 16 conns × 2 in flight")):
        t = summ.get(sc, {}).get("targets", {})
        if not t:
            table.add(f"{title}: msgs/s", ["not run"] * len(COLS))
            continue
        val = {k: t.get(k, {}).get("msgs_per_s") for k, _ in COLS}
        cells = []
        for k, _ in COLS:
            v = val[k]
            if v is None:
                cells.append(t.get(k, {}).get("status") or "–")
            elif sc == "b":
                cells.append(f"{v:,.0f} ({t[k].get('mb_per_s', 0):,.0f} MB/s)")
            else:
                cells.append(f"{v:,.0f}")
        table.add(f"**{title}**: msgs/s" + (" (nginx: 64 KiB buffers)" if sc == "b" else ""), cells)
        for other, name in (("haproxy", "HAProxy"), ("nginx", "nginx"), ("direct", "direct")):
            table.add(f"{sc}: × {name}", [num(ratio(val[k], val[other]), ".2f") for k, _ in COLS])
        table.add(f"{sc}: proxy CPU µs per echo", [num(t.get(k, {}).get("proxy_cpu_us_per_msg"), ".2f")
                                                  for k, _ in COLS])
    t = summ.get("c", {}).get("targets", {})
    if not t:
        table.add("c: 5,000 msgs/s, latency", ["not run"] * len(COLS))
        return
    d = t.get("direct", {})
    for q in ("p50", "p99"):
        cells = []
        for k, _ in COLS:
            v = t.get(k, {}).get(f"{q}_us")
            if v is None:
                cells.append(t.get(k, {}).get("status") or "–")
            elif k == "direct" or d.get(f"{q}_us") is None:
                cells.append(f"{v:,.0f}")
            else:
                cells.append(f"{v:,.0f} (+{v - d[f'{q}_us']:,.0f})")
        table.add(f"**c: 1 KiB at 5,000 msgs/s, 100 conns**: {q} µs (added)" if q == "p50"
                  else f"c: {q} µs (added)", cells)
    table.add("c: msgs/s achieved", [num(t.get(k, {}).get("msgs_per_s"), ",.0f") for k, _ in COLS])
    table.add("c: proxy CPU µs per echo", [num(t.get(k, {}).get("proxy_cpu_us_per_msg"), ".2f") for k, _ in COLS])


def idle_rows(table, idle):
    tg = (idle or {}).get("targets", {})
    n = (idle or {}).get("params", {}).get("sessions")
    label = f"**idle: {n:,} connections**, keep-alive 1 s" if n else "**idle**"

    def cell(k, key, spec):
        if k == "direct":
            return "–"
        r = tg.get(k)
        if r is None:
            return "not run"
        v = r.get(key)
        return num(v, spec) if v is not None else r.get("status", "–")
    def short(k):   # a proxy that held fewer connections than asked says how many
        c, r = cell(k, "kib_per_conn", ".2f"), tg.get(k, {})
        if r.get("kib_per_conn") is not None and r.get("connections", n) != n:
            c += f" ({r['connections']:,} conns)"
        return c
    table.add(f"{label}: RSS KiB per connection", [short(k) for k, _ in COLS])
    table.add("idle: proxy CPU % of a core", [cell(k, "cpu_pct", ".1f") for k, _ in COLS])
    table.add("idle: ping lateness p99 ms (upstream side)",
              ["–" if k == "direct" or not tg.get(k, {}).get("upstream_ping_lateness_ms")
               else num(tg[k]["upstream_ping_lateness_ms"].get("p99"), ".1f") for k, _ in COLS])
    if any(f"{k}-nopings" in tg for k, _ in COLS):
        table.add("idle, no keep-alive traffic (reference): RSS KiB per connection",
                  [num(tg.get(f"{k}-nopings", {}).get("kib_per_conn"), ".2f") for k, _ in COLS])


def verdicts(tp, idle):
    """One line per issue-8 target: (met: True/False/None, text, figures)."""
    summ = (tp or {}).get("summary", {})
    g = lambda sc, k, f: summ.get(sc, {}).get("targets", {}).get(k, {}).get(f)
    out = []

    def line(name, ll, ref, ref_name, lower_is_better=False, fmt=",.0f"):
        if ll is None or ref is None:
            out.append({"target": name, "met": None, "text": f"[ n/a ]   {name}: no figure (not run or failed)"})
            return
        met = ll <= ref if lower_is_better else ll >= ref
        text = (f"[{'met' if met else 'NOT met':^7}] {name}: Lifeline {format(ll, fmt)} vs "
                f"{ref_name} {format(ref, fmt)}" + (f" (×{ll / ref:.2f})" if ref else ""))
        out.append({"target": name, "met": met, "lifeline": ll, "reference": ref, "reference_name": ref_name,
                    "text": text})

    line("a: 1 KiB msgs/s ≥ 1.0× HAProxy", g("a", "lifeline", "msgs_per_s"), g("a", "haproxy", "msgs_per_s"), "HAProxy")
    anchors_b = [(g("b", k, "msgs_per_s"), n) for k, n in (("haproxy", "HAProxy"), ("nginx", "nginx 64k"))]
    anchors_b = [x for x in anchors_b if x[0] is not None]
    best_b = max(anchors_b) if anchors_b else (None, "the better anchor")
    line("b: 64 KiB msgs/s ≥ 1.0× the better of HAProxy and nginx (64 KiB buffers)",
         g("b", "lifeline", "msgs_per_s"), best_b[0], best_b[1])
    for q in ("p50", "p99"):
        anchors = [(g("c", k, f"{q}_us"), n) for k, n in (("haproxy", "HAProxy"), ("nginx", "nginx"))]
        anchors = [x for x in anchors if x[0] is not None]
        best = min(anchors) if anchors else (None, "the better anchor")
        line(f"c: {q} latency at 5,000 msgs/s ≤ the better anchor's (µs)", g("c", "lifeline", f"{q}_us"),
             best[0], best[1], lower_is_better=True)
    for sc in ("a", "b", "c"):
        line(f"{sc}: proxy CPU per relayed message ≤ HAProxy's (µs per echo)",
             g(sc, "lifeline", "proxy_cpu_us_per_msg"), g(sc, "haproxy", "proxy_cpu_us_per_msg"), "HAProxy",
             lower_is_better=True, fmt=".2f")
    it = (idle or {}).get("targets", {})
    line("idle: RSS per session (pings both sides) ≤ HAProxy's per connection (KiB)",
         it.get("lifeline", {}).get("kib_per_conn"), it.get("haproxy", {}).get("kib_per_conn"), "HAProxy",
         lower_is_better=True, fmt=".2f")
    silent = it.get("haproxy-nopings", {}).get("kib_per_conn")
    if silent is not None and out[-1]["met"] is not None:
        out[-1]["haproxy_nopings"] = silent
        out[-1]["text"] += f"; HAProxy with no pings: {silent:.2f}"
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--throughput")
    ap.add_argument("--idle")
    ap.add_argument("--out", required=True)
    ap.add_argument("--elapsed", type=int)
    ap.add_argument("--quick", default="0")
    ap.add_argument("--command", default="bench/suite")
    a = ap.parse_args()
    tp, idle = load(a.throughput) if a.throughput else None, load(a.idle) if a.idle else None

    table = Table()
    throughput_rows(table, tp)
    idle_rows(table, idle)
    md = table.markdown()
    vs = verdicts(tp, idle)
    summ = (tp or {}).get("summary", {})
    direct = []
    for sc in ("a", "b"):
        r = summ.get(sc, {}).get("lifeline_ratios", {}).get("direct", {}).get("msgs_per_s")
        if r is not None:
            direct.append(f"{sc} ×{r:.2f}")
    v = (tp or {}).get("versions", {})
    lines = ["", f"Lifeline vs nginx {v.get('nginx', '?')} and HAProxy {v.get('haproxy', '?')}, one worker each, "
             f"same upstream and load generator (Lifeline {v.get('lifeline_commit', '?')})"
             + (" — QUICK run: smoke test, not figures to keep" if a.quick == "1" else ""), "", md, "",
             "Issue 8 targets (Lifeline):"]
    lines += ["  " + x["text"] for x in vs]
    lines.append(f"  Lifeline/direct (how close to the harness's ceiling): {', '.join(direct) or 'n/a'}")
    lines.append("  50,000 sessions: not part of this run — bench/idle/run --scenarios s (see bench/idle/README.md)")
    bg = [f"{sc}/{k}" for sc, s in summ.items() for k, t in s.get("targets", {}).items()
          if (t.get("background_cores") or 0) > 0.1]
    noisy = [k for k, r in (idle or {}).get("targets", {}).items() if (r.get("other_cpu_pct") or 0) > 20]
    runs = sum(len(s.get("targets", {})) for s in summ.values()) + len((idle or {}).get("targets", {}))
    if bg or noisy:
        lines.append(f"  WARNING: other processes took > 0.1 core during {len(bg) + len(noisy)} of {runs} runs "
                     f"({', '.join(bg + ['idle/' + k for k in noisy])}): those figures are depressed and the ratios "
                     "noisy; rerun on a quiet machine.")
    if a.elapsed is not None:
        lines.append(f"  ({a.command}: {a.elapsed // 60} min {a.elapsed % 60} s)")
    print("\n".join(lines))

    doc = {"date_utc": (tp or idle or {}).get("date_utc"), "command": a.command, "quick": a.quick == "1",
           "elapsed_s": a.elapsed, "versions": v, "machine": (tp or {}).get("machine"),
           "table_markdown": md, "targets": vs,
           "lifeline_vs_direct": {sc: summ.get(sc, {}).get("lifeline_ratios", {}).get("direct") for sc in ("a", "b")},
           "throughput": tp, "idle": idle}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
