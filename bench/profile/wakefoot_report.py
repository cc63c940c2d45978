"""Attributes what wakefoot counted per wake-up to the objects and functions it belongs to.

    python3 wakefoot_report.py PREFIX MAPS [TOP]

PREFIX-pages.txt and PREFIX-code.txt come from wakefoot; MAPS is /proc/PID/maps of the
traced process (under valgrind the guest's mappings are the real ones). Prints the code
and data lines per wake-up by mapped object, then the TOP functions by code lines.
"""
import bisect
import collections
import subprocess
import sys


def read_maps(path):
    maps = []
    for line in open(path):
        fields = line.split()
        start, end = (int(x, 16) for x in fields[0].split("-"))
        maps.append((start, end, fields[5] if len(fields) > 5 else "[anon]"))
    return maps


def object_of(maps, address):
    for start, end, name in maps:
        if start <= address < end:
            return name
    return "[stack or valgrind]"


def symbols(path):
    """(address, name) of the text symbols, from the symbol table or else, for a stripped
    binary, the dynamic one (names marked '~': the nearest exported symbol, approximate)."""
    for flags, mark in ((["-n", "--defined-only"], ""), (["-n", "-D", "--defined-only"], "~")):
        out = subprocess.run(["nm", *flags, path], capture_output=True, text=True).stdout
        table = sorted((int(f[0], 16), mark + f[2]) for f in (l.split() for l in out.splitlines())
                       if len(f) >= 3 and f[1] in "tTwW")
        if table:
            return table
    return []


def demangle(names):
    if not names:
        return {}
    try:
        out = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                             capture_output=True, text=True).stdout.splitlines()
    except OSError:
        return {}
    return dict(zip(names, out)) if len(out) == len(names) else {}


def main():
    prefix, maps_path = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    maps = read_maps(maps_path)
    by_object = collections.defaultdict(lambda: [0.0, 0.0])
    for line in open(prefix + "-pages.txt"):
        address, code, data = line.split()
        entry = by_object[object_of(maps, int(address, 16)).split("/")[-1]]
        entry[0] += float(code)
        entry[1] += float(data)
    print("  per wake-up, by object: " + "; ".join(
        f"{name} {code:.0f} code / {data:.0f} data lines"
        for name, (code, data) in sorted(by_object.items(), key=lambda kv: -sum(kv[1]))
        if code + data >= 1))
    # Functions: the first mapping of an object is its load base (PIE executables and .so files).
    bases, tables = {}, {}
    for start, _, name in maps:
        bases.setdefault(name, start)
    by_function = collections.Counter()
    for line in open(prefix + "-code.txt"):
        address, touches = line.split()
        address = int(address, 16)
        name = object_of(maps, address)
        if name not in tables:
            tables[name] = symbols(name) if name.startswith("/") else []
        table = tables[name]
        index = bisect.bisect_right(table, (address - bases[name], "\uffff")) - 1
        by_function[(name.split("/")[-1], table[index][1] if index >= 0 else "?")] += float(touches)
    pretty = demangle([f for (_, f), _ in by_function.most_common(top) if f.startswith("$s")])
    print(f"  code lines per wake-up, top {top} functions:")
    for (obj, function), lines in by_function.most_common(top):
        print(f"    {lines:5.1f}  {obj}: {pretty.get(function, function)[:100]}")


if __name__ == "__main__":
    main()
