#!/usr/bin/python3
"""How tight could the claimed error bound be?  Runs a scenario over some
seeds with --csv and measures, on the true error pooled over them:

  * the error's 99.9th percentile over its RMS: what a constant bound
    holding 99.9 % of the time needs;
  * our likely bound: how often it held, its mean over the RMS error, and
    the same once scaled to hold exactly 99.9 % (its shape, not its size):
    pooled over the seeds, and so that every seed holds 99.9 % or more
    (a scale fitted to these very seeds: optimistic);
  * an oracle that knows the true error's RMS over a stretch of W s
    around each tick (future included): the multiple of it that holds
    99.9 %, and its mean over the RMS error.

The issue's aim is 99.9 % at 3 times the RMS error; see docs/sim.md.

  tools/sim_bound.py NTIMED SCENARIO [SEEDS] [-- SIM-OPTIONS...]
  e.g. tools/sim_bound.py build/ntimed conf/sim/lan.yaml 20
       tools/sim_bound.py build/ntimed conf/sim/lan.yaml 1 -- -D 10d
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

WINDOWS = (64, 640, 2048)   # s: a poll, ten, a window's span


def run(ntimed, scenario, seed, extra, path):
    """One run's (error, bound) per tick after the settling time."""
    out = subprocess.run([ntimed, "sim", "--json", "--seed", str(seed),
                          "--csv", path] + extra + [scenario],
                         capture_output=True, text=True, check=False)
    if out.stdout == "":
        sys.exit(out.stderr.strip() or "sim_bound: ntimed sim failed")
    settle = json.loads(out.stdout)["settle"]
    err, bound = [], []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        head = next(rows)
        t, e, b = head.index("time"), head.index("error"), head.index("bound")
        for row in rows:
            if float(row[t]) >= settle:
                err.append(float(row[e]))
                bound.append(float(row[b]))
    return err, bound


def local_rms(err, width):
    """The RMS of err over width ticks centred on each tick."""
    c = [0.0]
    for x in err:
        c.append(c[-1] + x * x)
    h, n = width // 2, len(err)
    out = []
    for i in range(n):
        lo, hi = max(i - h, 0), min(i + h + 1, n)
        out.append(math.sqrt((c[hi] - c[lo]) / (hi - lo)))
    return out


def quantile(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, int(p * len(s)))]


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        k = args.index("--")
        args, extra = args[:k], args[k + 1:]
    if len(args) not in (2, 3):
        sys.exit(__doc__.strip())
    ntimed, scenario = args[0], args[1]
    seeds = int(args[2]) if len(args) == 3 else 10
    absv, bound, sq, per_seed = [], [], 0.0, 0.0
    oracle = {w: [] for w in WINDOWS}
    with tempfile.TemporaryDirectory() as d:
        for seed in range(1, seeds + 1):
            err, b = run(ntimed, scenario, seed, extra,
                         os.path.join(d, "run.csv"))
            for w in WINDOWS:
                oracle[w] += local_rms(err, w)
            absv += [abs(x) for x in err]
            bound += b
            if err:
                per_seed = max(per_seed, quantile(
                    [abs(x) / y for x, y in zip(err, b)], 0.999))
            sq += sum(x * x for x in err)
    n = len(absv)
    if n == 0:
        sys.exit("sim_bound: no ticks after the settling time")
    rms = math.sqrt(sq / n)
    mean_b = sum(bound) / n
    held = sum(1 for a, b in zip(absv, bound) if a <= b) / n
    scale = quantile([a / b for a, b in zip(absv, bound)], 0.999)
    print(f"{os.path.basename(scenario)}, seeds 1-{seeds}, {n} ticks: "
          f"RMS error {rms * 1e6:.2f} us")
    print(f"  constant bound for 99.9 %: "
          f"{quantile(absv, 0.999) / rms:.2f} x RMS")
    print(f"  our likely bound: held {held * 100:.3f} %, "
          f"{mean_b / rms:.2f} x RMS; scaled by {scale:.3f} to hold "
          f"99.9 %: {scale * mean_b / rms:.2f} x RMS")
    print(f"  ours scaled by {per_seed:.3f}, the least for every seed to "
          f"hold 99.9 %: {per_seed * mean_b / rms:.2f} x RMS")
    for w in WINDOWS:
        sig = oracle[w]
        k = quantile([a / s if s > 0 else 0.0 for a, s in zip(absv, sig)],
                     0.999)
        print(f"  oracle, true RMS over {w} s: {k:.2f} x it, "
              f"{k * sum(sig) / n / rms:.2f} x RMS")


if __name__ == "__main__":
    main()
