//! SPMC buffer micro-benches on wasm32 (run by `benches/browser/wasm32.mjs` in Node).
//!
//! One iteration pushes [`N`] items (`u64`) and has each of `readers` readers receive all
//! of them, in chunks of at most the ring capacity, each reader catching up after each
//! chunk: no reader lags, every receive finds its item buffered, and every per-item
//! future completes on its first poll (a no-op waker, the same for all contenders). So
//! "ns per item" is one push plus its `readers` deliveries, as in the native benches'
//! `spmc/await` and `spmc/batch` groups.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aimdb_core::buffer::{Buffer, BufferCfg, BufferReader};
use aimdb_wasm::buffer::{WasmBuffer, WasmBufferReader};
use aimdb_wasm_adapter::{WasmBuffer as PubBuffer, WasmBufferReader as PubReader};
use wasm_bindgen::prelude::*;

/// Items pushed per iteration.
pub const N: u64 = 1024;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

/// Polls `fut` once with a no-op waker; the items are always buffered, so it is ready.
fn ready<F: Future>(fut: F) -> Result<F::Output, JsError> {
    match pin!(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err(JsError::new("a receive was not ready")),
    }
}

/// One iteration: per chunk, `push` every item, then `take(reader, first, end)` on each
/// reader, which returns the sum of the items `first..end` it received.
fn iteration<R>(
    chunk: u64,
    readers: &mut [R],
    push: &mut impl FnMut(&mut [R], u64),
    take: &mut impl FnMut(&mut R, u64, u64) -> Result<u64, JsError>,
) -> Result<u64, JsError> {
    let mut acc = 0u64;
    let mut first = 0;
    while first < N {
        let end = (first + chunk).min(N);
        for v in first..end {
            push(readers, v);
        }
        for r in readers.iter_mut() {
            acc = acc.wrapping_add(take(r, first, end)?);
        }
        first = end;
    }
    Ok(acc)
}

/// Checks one iteration's checksum, then times `iters` iterations: ns per pushed item.
fn measure<R>(
    iters: u32,
    chunk: u64,
    mut readers: Vec<R>,
    mut push: impl FnMut(&mut [R], u64),
    mut take: impl FnMut(&mut R, u64, u64) -> Result<u64, JsError>,
) -> Result<f64, JsError> {
    let expected = (N * (N - 1) / 2).wrapping_mul(readers.len() as u64);
    let got = iteration(chunk, &mut readers, &mut push, &mut take)?;
    if got != expected {
        return Err(JsError::new(&format!("wrong checksum: {got}, expected {expected}")));
    }
    let t0 = now();
    let mut sink = 0u64;
    for _ in 0..iters {
        sink = sink.wrapping_add(iteration(chunk, &mut readers, &mut push, &mut take)?);
    }
    let ms = now() - t0;
    if sink != expected.wrapping_mul(iters as u64) {
        return Err(JsError::new("wrong checksum while timing"));
    }
    Ok(ms * 1e6 / (f64::from(iters) * N as f64))
}

fn sum_each(first: u64, end: u64, mut recv: impl FnMut() -> Result<u64, JsError>) -> Result<u64, JsError> {
    (first..end).try_fold(0u64, |acc, _| Ok(acc.wrapping_add(recv()?)))
}

fn ours(cap: usize, r: usize) -> Result<(WasmBuffer<u64>, Vec<WasmBufferReader<u64>>), JsError> {
    let buf = WasmBuffer::try_new(&BufferCfg::SpmcRing { capacity: cap }).map_err(|e| JsError::new(&format!("{e:?}")))?;
    let readers = (0..r).map(|_| buf.subscribe()).collect();
    Ok((buf, readers))
}

fn published(cap: usize, r: usize) -> (PubBuffer<u64>, Vec<PubReader<u64>>) {
    let buf = <PubBuffer<u64> as Buffer<u64>>::new(&BufferCfg::SpmcRing { capacity: cap });
    let readers = (0..r).map(|_| Buffer::subscribe(&buf)).collect();
    (buf, readers)
}

fn err(what: &str, e: impl std::fmt::Debug) -> JsError {
    JsError::new(&format!("{what}: {e:?}"))
}

/// ns per pushed item for `contender` with `readers` readers on a ring of `cap`:
/// `ours_next` (our `reader.next()` per item), `ours_batch` (`drain_into` per chunk),
/// `published` (the adapter's boxed `recv()` per item), `published_try_recv`,
/// `raw_vecdeque` (one `VecDeque` per reader: the lower bound).
#[wasm_bindgen]
pub fn spmc(contender: &str, readers: usize, cap: usize, iters: u32) -> Result<f64, JsError> {
    if readers == 0 || cap == 0 || iters == 0 {
        return Err(JsError::new("readers, cap and iters must be > 0"));
    }
    let chunk = (cap as u64).min(N);
    match contender {
        "ours_next" => {
            let (buf, rs) = ours(cap, readers)?;
            measure(iters, chunk, rs, move |_, v| buf.push(v), |rd, a, b| {
                sum_each(a, b, || ready(rd.next())?.map_err(|e| err("ours_next", e)))
            })
        }
        "ours_batch" => {
            let (buf, rs) = ours(cap, readers)?;
            let mut out: Vec<u64> = Vec::with_capacity(chunk as usize);
            measure(iters, chunk, rs, move |_, v| buf.push(v), move |rd, a, b| {
                out.clear();
                let d = rd.drain_into(&mut out);
                if (d.items as u64, d.lagged) != (b - a, 0) {
                    return Err(JsError::new("ours_batch: short drain"));
                }
                Ok(out.iter().fold(0u64, |acc, &v| acc.wrapping_add(v)))
            })
        }
        "published" => {
            let (buf, rs) = published(cap, readers);
            measure(iters, chunk, rs, move |_, v| Buffer::push(&buf, v), |rd, a, b| {
                sum_each(a, b, || ready(BufferReader::recv(&mut *rd))?.map_err(|e| err("published", e)))
            })
        }
        "published_try_recv" => {
            let (buf, rs) = published(cap, readers);
            measure(iters, chunk, rs, move |_, v| Buffer::push(&buf, v), |rd, a, b| {
                sum_each(a, b, || BufferReader::try_recv(&mut *rd).map_err(|e| err("published_try_recv", e)))
            })
        }
        "raw_vecdeque" => {
            let ds: Vec<VecDeque<u64>> = (0..readers).map(|_| VecDeque::with_capacity(cap)).collect();
            measure(
                iters,
                chunk,
                ds,
                move |ds, v| {
                    for d in ds.iter_mut() {
                        if d.len() == cap {
                            d.pop_front();
                        }
                        d.push_back(v);
                    }
                },
                |d, a, b| sum_each(a, b, || d.pop_front().ok_or_else(|| JsError::new("raw_vecdeque: empty"))),
            )
        }
        other => Err(JsError::new(&format!("unknown contender `{other}`"))),
    }
}
