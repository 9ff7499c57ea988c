//! Buffer benchmarks: aimdb-wasm's buffers against the published `aimdb-wasm-adapter`
//! 0.2.0 (through aimdb-core's `Buffer` / `BufferReader` traits) and a raw `VecDeque`.
//!
//! Every iteration pushes `N` items (`u64`) and has each of `R` readers receive all of
//! them; throughput is counted in pushed items, so "ns per item" is the cost of one
//! push plus its `R` deliveries. Items are pushed in chunks of at most the ring
//! capacity and every reader catches up after each chunk, so no reader ever lags and
//! every receive finds its item already buffered: the per-item futures complete on
//! their first poll (with a no-op waker, identically for all contenders).
//!
//! Groups (Criterion ids `group/function`):
//! - `spmc/await/R{r}/cap{c}`: one future per item: `ours_next` (our unboxed
//!   `reader.next()`), `ours_boxed` (aimdb-core's boxed `BufferReader::recv()` on our
//!   reader), `published` (the adapter's `recv()`, boxed), `raw_vecdeque` (one
//!   `VecDeque` per reader, `push_back` to each then `pop_front` from each: the lower
//!   bound, no async, no sharing).
//! - `spmc/batch/R{r}/cap{c}`: no futures: `ours_batch` (`drain_into` once per chunk per
//!   reader), `ours_try_recv` and `published_try_recv` (per item).
//! - `latest/fanout/R{r}`: `SingleLatest`, push one value then every reader receives
//!   it: `ours_try_recv`, `ours_next`, `published_try_recv`, `published_recv`.

#[cfg(not(target_arch = "wasm32"))]
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::collections::VecDeque;

    use aimdb_core::buffer::{Buffer, BufferCfg, BufferReader};
    use aimdb_wasm::buffer::{WasmBuffer, WasmBufferReader};
    use aimdb_wasm_adapter::{WasmBuffer as PubBuffer, WasmBufferReader as PubReader};
    use criterion::measurement::WallTime;
    use criterion::{criterion_group, BenchmarkGroup, Criterion, Throughput};

    use crate::common::{config, ready};

    /// Items pushed per iteration.
    const N: u64 = 1024;
    const READERS: [usize; 3] = [1, 4, 16];
    const CAPACITIES: [usize; 2] = [64, 4096];

    /// Runs `run` once to check it delivers `expected`, then benchmarks it.
    fn bench(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, expected: u64, mut run: impl FnMut() -> u64) {
        assert_eq!(run(), expected, "{name}: wrong checksum");
        g.bench_function(name, |b| b.iter(&mut run));
    }

    /// One iteration of an SPMC case: per chunk, `push` every item, then `take(reader,
    /// first, end)` on each reader, which must receive items `first..end` and return
    /// their sum. The sum over all readers is the checksum.
    fn spmc_driver<R>(
        chunk: u64,
        mut readers: Vec<R>,
        mut push: impl FnMut(&mut [R], u64),
        mut take: impl FnMut(&mut R, u64, u64) -> u64,
    ) -> impl FnMut() -> u64 {
        move || {
            let mut acc = 0u64;
            let mut first = 0;
            while first < N {
                let end = (first + chunk).min(N);
                for v in first..end {
                    push(&mut readers, v);
                }
                for r in readers.iter_mut() {
                    acc = acc.wrapping_add(take(r, first, end));
                }
                first = end;
            }
            acc
        }
    }

    fn ours_ring(cap: usize, r: usize) -> (WasmBuffer<u64>, Vec<WasmBufferReader<u64>>) {
        let buf = WasmBuffer::try_new(&BufferCfg::SpmcRing { capacity: cap }).expect("valid capacity");
        let readers = (0..r).map(|_| buf.subscribe()).collect();
        (buf, readers)
    }

    fn published_ring(cap: usize, r: usize) -> (PubBuffer<u64>, Vec<PubReader<u64>>) {
        let buf = <PubBuffer<u64> as Buffer<u64>>::new(&BufferCfg::SpmcRing { capacity: cap });
        let readers = (0..r).map(|_| Buffer::subscribe(&buf)).collect();
        (buf, readers)
    }

    fn sum_each(first: u64, end: u64, mut recv: impl FnMut() -> u64) -> u64 {
        (first..end).fold(0u64, |acc, _| acc.wrapping_add(recv()))
    }

    fn spmc(c: &mut Criterion) {
        for cap in CAPACITIES {
            for r in READERS {
                let chunk = (cap as u64).min(N);
                let expected = (N * (N - 1) / 2).wrapping_mul(r as u64);

                let mut g = c.benchmark_group(format!("spmc/await/R{r}/cap{cap}"));
                g.throughput(Throughput::Elements(N));

                let (buf, readers) = ours_ring(cap, r);
                bench(
                    &mut g,
                    "ours_next",
                    expected,
                    spmc_driver(chunk, readers, move |_, v| buf.push(v), |rd, a, b| {
                        sum_each(a, b, || ready(rd.next()).expect("ours_next"))
                    }),
                );

                let (buf, readers) = ours_ring(cap, r);
                bench(
                    &mut g,
                    "ours_boxed",
                    expected,
                    spmc_driver(chunk, readers, move |_, v| buf.push(v), |rd, a, b| {
                        sum_each(a, b, || ready(BufferReader::recv(&mut *rd)).expect("ours_boxed"))
                    }),
                );

                let (buf, readers) = published_ring(cap, r);
                bench(
                    &mut g,
                    "published",
                    expected,
                    spmc_driver(chunk, readers, move |_, v| Buffer::push(&buf, v), |rd, a, b| {
                        sum_each(a, b, || ready(BufferReader::recv(&mut *rd)).expect("published"))
                    }),
                );

                let deques: Vec<VecDeque<u64>> = (0..r).map(|_| VecDeque::with_capacity(cap)).collect();
                bench(
                    &mut g,
                    "raw_vecdeque",
                    expected,
                    spmc_driver(
                        chunk,
                        deques,
                        move |ds, v| {
                            for d in ds.iter_mut() {
                                if d.len() == cap {
                                    d.pop_front();
                                }
                                d.push_back(v);
                            }
                        },
                        |d, a, b| sum_each(a, b, || d.pop_front().expect("raw_vecdeque")),
                    ),
                );
                g.finish();

                let mut g = c.benchmark_group(format!("spmc/batch/R{r}/cap{cap}"));
                g.throughput(Throughput::Elements(N));

                let (buf, readers) = ours_ring(cap, r);
                let mut out: Vec<u64> = Vec::with_capacity(chunk as usize);
                bench(
                    &mut g,
                    "ours_batch",
                    expected,
                    spmc_driver(chunk, readers, move |_, v| buf.push(v), move |rd, a, b| {
                        out.clear();
                        let d = rd.drain_into(&mut out);
                        assert_eq!((d.items as u64, d.lagged), (b - a, 0), "ours_batch");
                        out.iter().fold(0u64, |acc, &v| acc.wrapping_add(v))
                    }),
                );

                let (buf, readers) = ours_ring(cap, r);
                bench(
                    &mut g,
                    "ours_try_recv",
                    expected,
                    spmc_driver(chunk, readers, move |_, v| buf.push(v), |rd, a, b| {
                        sum_each(a, b, || rd.try_recv().expect("ours_try_recv"))
                    }),
                );

                let (buf, readers) = published_ring(cap, r);
                bench(
                    &mut g,
                    "published_try_recv",
                    expected,
                    spmc_driver(chunk, readers, move |_, v| Buffer::push(&buf, v), |rd, a, b| {
                        sum_each(a, b, || BufferReader::try_recv(&mut *rd).expect("published_try_recv"))
                    }),
                );
                g.finish();
            }
        }
    }

    /// One iteration of a SingleLatest case: `N` times, push a value, then every
    /// reader receives it.
    fn latest_driver<R>(
        mut readers: Vec<R>,
        mut push: impl FnMut(u64),
        mut take: impl FnMut(&mut R) -> u64,
    ) -> impl FnMut() -> u64 {
        move || {
            let mut acc = 0u64;
            for v in 0..N {
                push(v);
                for r in readers.iter_mut() {
                    acc = acc.wrapping_add(take(r));
                }
            }
            acc
        }
    }

    fn latest(c: &mut Criterion) {
        for r in READERS {
            let expected = (N * (N - 1) / 2).wrapping_mul(r as u64);
            let mut g = c.benchmark_group(format!("latest/fanout/R{r}"));
            g.throughput(Throughput::Elements(N));

            let ours = || {
                let buf = WasmBuffer::<u64>::try_new(&BufferCfg::SingleLatest).expect("valid cfg");
                let readers: Vec<_> = (0..r).map(|_| buf.subscribe()).collect();
                (buf, readers)
            };
            let published = || {
                let buf = <PubBuffer<u64> as Buffer<u64>>::new(&BufferCfg::SingleLatest);
                let readers: Vec<_> = (0..r).map(|_| Buffer::subscribe(&buf)).collect();
                (buf, readers)
            };

            let (buf, readers) = ours();
            bench(
                &mut g,
                "ours_try_recv",
                expected,
                latest_driver(readers, move |v| buf.push(v), |rd| rd.try_recv().expect("ours_try_recv")),
            );
            let (buf, readers) = ours();
            bench(
                &mut g,
                "ours_next",
                expected,
                latest_driver(readers, move |v| buf.push(v), |rd| ready(rd.next()).expect("ours_next")),
            );
            let (buf, readers) = published();
            bench(
                &mut g,
                "published_try_recv",
                expected,
                latest_driver(
                    readers,
                    move |v| Buffer::push(&buf, v),
                    |rd| BufferReader::try_recv(&mut *rd).expect("published_try_recv"),
                ),
            );
            let (buf, readers) = published();
            bench(
                &mut g,
                "published_recv",
                expected,
                latest_driver(
                    readers,
                    move |v| Buffer::push(&buf, v),
                    |rd| ready(BufferReader::recv(&mut *rd)).expect("published_recv"),
                ),
            );
            g.finish();
        }
    }

    criterion_group! {
        name = benches;
        config = config();
        targets = spmc, latest
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(imp::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
