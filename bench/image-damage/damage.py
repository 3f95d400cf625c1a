#!/usr/bin/env python3
"""Damage an image and see what `imp --image` makes of it.

    python3 damage.py IMP IMAGE [--flips N] [--truncations N] [--seed S]
                      [--timeout SECONDS] [--work DIR]

IMAGE's toplevel, given the argument `sum`, reads all of its data and
prints a checksum (bench/image-damage/build.scm). The undamaged image is
run first for the right answer. Then:

- N single bit flips, each at a position and bit drawn uniformly over the
  whole file: one copy of the image is made, and each flip is written into
  it, run, and written back;
- N truncations, each to a length drawn uniformly in [0, size): the copy
  is cut shorter and shorter (the lengths in decreasing order), so no run
  costs a copy of the image.

Each run is classified:

  error           exit status not 0, nothing on standard output, no panic
  right           exit status 0 and the right answer
  wrong           exit status 0 and another answer
  output+error    exit status not 0 after something was written to stdout
  panic           a Rust panic message on standard error (or status 101)
  signal          ended by a signal
  hang            still running after the timeout (then killed)

and the counts are printed with the first few runs of every class but
`error` and `right`, and a tally of the error messages' kinds.
"""

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import time


def run(imp, image, timeout):
    """(class, status, stdout, stderr) of one `imp --image IMAGE sum`."""
    p = subprocess.Popen([imp, "--image", image, "sum"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return "hang", None, out, err
    status = p.returncode
    if status < 0:
        return "signal", status, out, err
    if b"panicked" in err or status == 101:
        return "panic", status, out, err
    return None, status, out, err


def classify(imp, image, right, timeout):
    cls, status, out, err = run(imp, image, timeout)
    if cls is None:
        if status == 0:
            cls = "right" if out == right else "wrong"
        else:
            cls = "error" if out == b"" else "output+error"
    return cls, status, out, err


def kind(err):
    """A short name for what an error message says."""
    e = err.decode("utf-8", "replace")
    for key, name in [
        ("does not match its checksum", "a chunk's checksum"),
        ("header's checksum", "the header's checksum"),
        ("tables' checksum", "the tables' checksum"),
        ("trailer", "the trailer"),
        ("truncated image", "truncated"),
        ("not an imp image", "not an image"),
        ("incomplete image", "incomplete"),
        ("format version", "format version"),
        ("another object layout", "fingerprint"),
        ("native procedure", "primitives"),
        ("tables", "tables"),
        ("damaged image", "damaged (other)"),
    ]:
        if key in e:
            return name
    return "other: " + e.strip().splitlines()[0][:80] if e.strip() else "no message"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("imp")
    ap.add_argument("image")
    ap.add_argument("--flips", type=int, default=1000)
    ap.add_argument("--truncations", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--work", default=None)
    a = ap.parse_args()

    work = a.work or os.path.dirname(os.path.abspath(a.image))
    copy = os.path.join(work, "damaged.img")
    size = os.path.getsize(a.image)
    rnd = random.Random(a.seed)

    cls, status, right, err = run(a.imp, a.image, a.timeout)
    if cls is not None or status != 0 or not right:
        sys.exit(f"the undamaged image does not run: {cls} {status} {err[-300:]!r}")
    print(f"image: {os.path.basename(a.image)}, {size} bytes; right answer {right.decode().strip()}")

    results = {}
    t0 = time.time()
    shutil.copyfile(a.image, copy)
    counts = collections.Counter()
    kinds = collections.Counter()
    examples = collections.defaultdict(list)
    with open(copy, "r+b") as f:
        for i in range(a.flips):
            at, bit = rnd.randrange(size), rnd.randrange(8)
            f.seek(at)
            old = f.read(1)[0]
            f.seek(at)
            f.write(bytes([old ^ (1 << bit)]))
            f.flush()
            c, st, out, err = classify(a.imp, copy, right, a.timeout)
            f.seek(at)
            f.write(bytes([old]))
            f.flush()
            counts[c] += 1
            if c == "error":
                kinds[kind(err)] += 1
            if c not in ("error", "right") and len(examples[c]) < 5:
                examples[c].append((f"flip byte {at} bit {bit}", st, out[-200:], err[-400:]))
    results["flips"] = (counts, kinds, examples, time.time() - t0)

    t0 = time.time()
    counts = collections.Counter()
    kinds = collections.Counter()
    examples = collections.defaultdict(list)
    lengths = sorted((rnd.randrange(size) for _ in range(a.truncations)), reverse=True)
    for n in lengths:
        os.truncate(copy, n)
        c, st, out, err = classify(a.imp, copy, right, a.timeout)
        counts[c] += 1
        if c == "error":
            kinds[kind(err)] += 1
        if c not in ("error", "right") and len(examples[c]) < 5:
            examples[c].append((f"truncated to {n} bytes", st, out[-200:], err[-400:]))
    os.remove(copy)
    results["truncations"] = (counts, kinds, examples, time.time() - t0)

    classes = ["error", "right", "wrong", "output+error", "panic", "signal", "hang"]
    for what, (counts, kinds, examples, secs) in results.items():
        total = sum(counts.values())
        print(f"\n{total} {what} ({secs:.0f} s):")
        for c in classes:
            print(f"  {c:13} {counts.get(c, 0)}")
        print("  errors by cause: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
        for c, ex in examples.items():
            for e in ex:
                print(f"  {c}: {e[0]}: status {e[1]}, stdout {e[2]!r}, stderr {e[3]!r}")


if __name__ == "__main__":
    main()
