#!/usr/bin/python3
"""Run every shipped simulator scenario and tabulate the figures.

Called by tools/sim-table.sh, which says where the binary and the
sources are.  Prints Markdown; with --update, also rewrites the part of
docs/sim.md between the sim-table markers.  Standard library only.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import resource
import subprocess
import sys

SEEDS = range(1, 101)        # every scenario: mean and worst of these
BEGIN, END = "<!-- sim-table begin -->", "<!-- sim-table end -->"
SBEGIN, SEND = "<!-- sim-speed begin -->", "<!-- sim-speed end -->"


def run(ntimed, path, seed):
    out = subprocess.run([ntimed, "sim", "--json", "--seed", str(seed),
                          path], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit("%s: %s" % (path, out.stderr.strip()))
    return json.loads(out.stdout)


def us(v):
    return "%.1f" % (v * 1e6)


def sec(v):
    return "%.1f" % v


def row(name, runs):
    """One table row: the mean over the seeds and, in brackets, the worst."""
    def f(key, fmt, worst=max):
        vals = [r[key] for r in runs if r[key] is not None]
        never = len(runs) - len(vals)
        if not vals:
            return "never"
        text = "%s (%s)" % (fmt(sum(vals) / len(vals)), fmt(worst(vals)))
        return text + (", never: %d" % never if never else "")
    below = sum(r["bound_coverage"] < 0.999 for r in runs)
    d = runs[0]
    return ("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s "
            "| %.1f | %d | %d |") % (
        name, f("sync_1ms", sec), f("sync_100us", sec), f("rms", us),
        f("p99", us), f("p999", us), f("max", us),
        f("mean", us, lambda v: max(v, key=abs)),
        f("freq_rms_ppm", lambda v: "%.3f" % v),
        f("bound_coverage", lambda v: "%.2f %%" % (v * 100), min), below,
        f("bound_ratio", lambda v: "%.1f" % v),
        d["packets_per_hour"], d["steps"], d["falsetickers"])


def table(ntimed, src):
    lines = [
        "| scenario | within 1 ms after (s) | within 100 µs after (s) | "
        "RMS (µs) | p99 (µs) | p99.9 (µs) | max (µs) | mean (µs) | "
        "RMS freq (ppm) | inside bound | seeds under 99.9 % | bound / RMS "
        "| requests/h | steps | falsetickers |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    jobs = []
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as ex:
        for path in sorted(glob.glob(os.path.join(src, "conf/sim/*.yaml"))):
            name = os.path.basename(path)[:-5]
            jobs.append((name, [ex.submit(run, ntimed, path, s)
                                for s in SEEDS]))
        for name, futures in jobs:
            lines.append(row(name, [x.result() for x in futures]))
    return "\n".join(lines)


def cpu(ntimed, path, *args):
    """CPU seconds of one run (user + system, best of three)."""
    best = None
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([ntimed, "sim", *args, path], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = (after.ru_utime - before.ru_utime +
             after.ru_stime - before.ru_stime)
        best = t if best is None else min(best, t)
    return best


def speed(ntimed, src):
    lan = os.path.join(src, "conf/sim/lan.yaml")
    wan = os.path.join(src, "conf/sim/wan.yaml")
    rows = [("lan, 10000 s", cpu(ntimed, lan), 0.050),
            ("wan, 30 days", cpu(ntimed, wan, "--duration", "30d"), 2.0)]
    lines = ["| run | CPU time (s) | target (s) |", "|---|---|---|"]
    for name, t, target in rows:
        lines.append("| %s | %.3f | %s%.3f |" % (
            name, t, "" if t <= target else "MISSED ", target))
    return "\n".join(lines)


def splice(text, begin, end, body):
    a, b = text.index(begin) + len(begin), text.index(end)
    return text[:a] + "\n" + body + "\n" + text[b:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntimed")
    ap.add_argument("srcdir")
    ap.add_argument("--update", action="store_true")
    a = ap.parse_args()
    figures, bench = table(a.ntimed, a.srcdir), speed(a.ntimed, a.srcdir)
    print(figures + "\n\n" + bench)
    if a.update:
        doc = os.path.join(a.srcdir, "docs/sim.md")
        with open(doc) as f:
            text = f.read()
        text = splice(text, BEGIN, END, figures)
        text = splice(text, SBEGIN, SEND, bench)
        with open(doc + ".tmp", "w") as f:
            f.write(text)
        os.replace(doc + ".tmp", doc)


if __name__ == "__main__":
    main()
