#!/usr/bin/env python3
"""Summarise the Criterion results of `cargo bench -p aimdb-wasm-benches`.

Reads target/criterion/**/new/{benchmark,estimates}.json (median point estimates),
prints per-item costs, ratios, and PASS/MISS against the goals. Standard library only.

Usage: python3 benches/report.py [CRITERION_DIR]
(default: $CARGO_TARGET_DIR/criterion, else target/criterion next to this crate's
workspace root).
"""

import json
import os
import sys
from pathlib import Path

# Goals (from the benchmark issue).
SPEEDUP_R1 = 3.0        # published / ours_next at R=1
SPEEDUP_RN = 4.0        # published / ours_next at R>=4
RAW_R1 = 3.0            # ours_next / raw_vecdeque at R=1
TICK_OVERHEAD = 0.30    # ours / bare - 1, executor

READERS = (1, 4, 16)
CAPACITIES = (64, 4096)


def criterion_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def load(root: Path) -> dict:
    """full_id -> median ns per element (or per iteration without a throughput)."""
    out = {}
    for bench in root.glob("**/new/benchmark.json"):
        est = bench.with_name("estimates.json")
        if not est.is_file():
            continue
        meta = json.loads(bench.read_text())
        median = json.loads(est.read_text())["median"]["point_estimate"]
        elements = (meta.get("throughput") or {}).get("Elements") or 1
        out[meta["full_id"]] = median / elements
    return out


def fmt_ns(v):
    return "     n/a" if v is None else f"{v:8.2f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_x(v):
    return "   n/a" if v is None else f"{v:5.2f}x"


def verdict(ok):
    return "n/a " if ok is None else ("PASS" if ok else "MISS")


def main() -> int:
    root = criterion_dir()
    data = load(root)
    if not data:
        print(f"no Criterion results under {root}", file=sys.stderr)
        return 1
    get = data.get
    goals = []  # (description, value string, ok)

    print(f"Criterion medians from {root}\n")
    print("SPMC ring, await path: ns per pushed item (push + delivery to each of R readers)")
    print("  case          ours_next ours_boxed published      raw | published/ours_next  ours_next/raw  ours_batch/raw")
    for cap in CAPACITIES:
        for r in READERS:
            g = f"spmc/await/R{r}/cap{cap}"
            nxt, boxed, pub, raw = (get(f"{g}/{k}") for k in ("ours_next", "ours_boxed", "published", "raw_vecdeque"))
            batch = get(f"spmc/batch/R{r}/cap{cap}/ours_batch")
            speed = ratio(pub, nxt)
            vs_raw = ratio(nxt, raw)
            print(
                f"  R{r:<2} cap{cap:<5} {fmt_ns(nxt)}   {fmt_ns(boxed)} {fmt_ns(pub)} {fmt_ns(raw)} |"
                f"              {fmt_x(speed)}         {fmt_x(vs_raw)}          {fmt_x(ratio(batch, raw))}"
            )
            need = SPEEDUP_R1 if r == 1 else SPEEDUP_RN
            goals.append((
                f"await >= {need:.0f}x published, R={r} cap={cap}",
                fmt_x(speed).strip(),
                None if speed is None else speed >= need,
            ))
            if r == 1:
                goals.append((
                    f"await within {RAW_R1:.0f}x raw VecDeque, R=1 cap={cap}",
                    fmt_x(vs_raw).strip(),
                    None if vs_raw is None else vs_raw <= RAW_R1,
                ))

    print("\nSPMC ring, no futures: ns per pushed item")
    print("  case          ours_batch ours_try_recv published_try_recv | published_try_recv/ours_batch")
    for cap in CAPACITIES:
        for r in READERS:
            g = f"spmc/batch/R{r}/cap{cap}"
            batch, tr, ptr = (get(f"{g}/{k}") for k in ("ours_batch", "ours_try_recv", "published_try_recv"))
            print(
                f"  R{r:<2} cap{cap:<5} {fmt_ns(batch)}      {fmt_ns(tr)}           {fmt_ns(ptr)} |"
                f"                  {fmt_x(ratio(ptr, batch))}"
            )

    print("\nSingleLatest fan-out: ns per pushed value (push + R receives)")
    print("  case  ours_try_recv ours_next published_try_recv published_recv | published_recv/ours_next")
    for r in READERS:
        g = f"latest/fanout/R{r}"
        otr, onx, ptr, prc = (get(f"{g}/{k}") for k in ("ours_try_recv", "ours_next", "published_try_recv", "published_recv"))
        print(
            f"  R{r:<2}       {fmt_ns(otr)}  {fmt_ns(onx)}           {fmt_ns(ptr)}       {fmt_ns(prc)} |"
            f"                  {fmt_x(ratio(prc, onx))}"
        )

    print("\nExecutor: ns per element (spawn_complete: per task; wake_poll: per wake + poll)")
    print("  bench            ours     bare | overhead ours/bare - 1")
    for name in ("spawn_complete", "wake_poll"):
        ours, bare = get(f"executor/{name}/ours"), get(f"executor/{name}/bare")
        r = ratio(ours, bare)
        over = None if r is None else r - 1.0
        over_s = "n/a" if over is None else f"{over * 100:+.1f}%"
        print(f"  {name:<14} {fmt_ns(ours)} {fmt_ns(bare)} | {over_s:>8}")
        goals.append((
            f"tick bookkeeping <= {TICK_OVERHEAD * 100:.0f}% over bare try_tick ({name})",
            over_s,
            None if over is None else over <= TICK_OVERHEAD,
        ))

    print("\nGoals")
    for desc, value, ok in goals:
        print(f"  {verdict(ok)}  {desc:<58} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
