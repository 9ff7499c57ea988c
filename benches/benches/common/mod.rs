//! Helpers shared by the bench targets.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::Criterion;

/// Polls `fut` once with a no-op waker and returns its output. Every contender's
/// future is driven through this one function, so none pays for executor machinery
/// the others do not. Panics if the future is not ready: the benchmarks only ever
/// receive items that are already buffered.
#[inline(always)]
pub fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("benchmark future was not ready"),
    }
}

/// 20 samples instead of 100: with 2 s of measurement the slowest cases still fit.
/// `--warm-up-time` / `--measurement-time` on the command line override the rest.
pub fn config() -> Criterion {
    Criterion::default().sample_size(20)
}
