//! `JoinFanInRuntime` for [`WasmAdapter`]: a bounded multi-producer, single-consumer
//! queue (capacity [`JOIN_QUEUE_CAPACITY`]) between a join's input forwarders and its
//! trigger loop.
//!
//! `send` waits while the queue is full (backpressure on the forwarders) and fails with
//! `QueueClosed` once the receiver is gone; `recv` fails with `QueueClosed` once every
//! sender is dropped and the queue is empty, which ends the join's event loop.

use crate::runtime::WasmAdapter;
use crate::sync::Lock;
use aimdb_executor::{ExecutorError, ExecutorResult, JoinFanInRuntime, JoinQueue, JoinReceiver, JoinSender};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use event_listener::{Event, EventListener};

/// Items a join queue holds before `send` waits.
pub const JOIN_QUEUE_CAPACITY: usize = 64;

struct Chan<T> {
    state: Lock<ChanState<T>>,
    not_empty: Event,
    not_full: Event,
}

struct ChanState<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver: bool,
}

/// A fresh join queue; [`JoinQueue::split`] it.
pub struct WasmJoinQueue<T> {
    chan: Arc<Chan<T>>,
}

/// The sending half; clone it per input.
pub struct WasmJoinSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half.
pub struct WasmJoinReceiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WasmJoinQueue<T> {
    fn new() -> Self {
        Self {
            chan: Arc::new(Chan {
                state: Lock::new(ChanState { items: VecDeque::new(), senders: 1, receiver: true }),
                not_empty: Event::new(),
                not_full: Event::new(),
            }),
        }
    }
}

impl<T: Send + 'static> JoinQueue<T> for WasmJoinQueue<T> {
    type Sender = WasmJoinSender<T>;
    type Receiver = WasmJoinReceiver<T>;

    fn split(self) -> (WasmJoinSender<T>, WasmJoinReceiver<T>) {
        (WasmJoinSender { chan: self.chan.clone() }, WasmJoinReceiver { chan: self.chan })
    }
}

impl<T> Clone for WasmJoinSender<T> {
    fn clone(&self) -> Self {
        self.chan.state.lock().senders += 1;
        Self { chan: self.chan.clone() }
    }
}

impl<T> Drop for WasmJoinSender<T> {
    fn drop(&mut self) {
        let last = {
            let mut s = self.chan.state.lock();
            s.senders -= 1;
            s.senders == 0
        };
        if last {
            self.chan.not_empty.notify(usize::MAX);
        }
    }
}

impl<T> Drop for WasmJoinReceiver<T> {
    fn drop(&mut self) {
        let dropped: VecDeque<T> = {
            let mut s = self.chan.state.lock();
            s.receiver = false;
            core::mem::take(&mut s.items)
        };
        drop(dropped);
        self.chan.not_full.notify(usize::MAX);
    }
}

impl<T: Send + 'static> JoinSender<T> for WasmJoinSender<T> {
    async fn send(&self, item: T) -> ExecutorResult<()> {
        let mut item = Some(item);
        loop {
            let listener: EventListener = {
                let mut s = self.chan.state.lock();
                if !s.receiver {
                    return Err(ExecutorError::QueueClosed);
                }
                if s.items.len() < JOIN_QUEUE_CAPACITY {
                    if let Some(v) = item.take() {
                        s.items.push_back(v);
                    }
                    drop(s);
                    self.chan.not_empty.notify(1);
                    return Ok(());
                }
                self.chan.not_full.listen()
            };
            listener.await;
        }
    }
}

impl<T: Send + 'static> JoinReceiver<T> for WasmJoinReceiver<T> {
    async fn recv(&mut self) -> ExecutorResult<T> {
        loop {
            let listener: EventListener = {
                let mut s = self.chan.state.lock();
                if let Some(v) = s.items.pop_front() {
                    drop(s);
                    self.chan.not_full.notify(1);
                    return Ok(v);
                }
                if s.senders == 0 {
                    return Err(ExecutorError::QueueClosed);
                }
                self.chan.not_empty.listen()
            };
            listener.await;
        }
    }
}

impl JoinFanInRuntime for WasmAdapter {
    type JoinQueue<T: Send + 'static> = WasmJoinQueue<T>;

    fn create_join_queue<T: Send + 'static>(&self) -> ExecutorResult<WasmJoinQueue<T>> {
        Ok(WasmJoinQueue::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};

    #[test]
    fn send_waits_when_full_and_recv_closes_after_last_sender() {
        let (tx, mut rx) = WasmJoinQueue::<u32>::new().split();
        for i in 0..JOIN_QUEUE_CAPACITY as u32 {
            block_on(tx.send(i)).unwrap();
        }
        let mut blocked = Box::pin(tx.send(999));
        assert!(block_on(poll_once(blocked.as_mut())).is_none(), "full queue must wait");
        assert_eq!(block_on(rx.recv()).unwrap(), 0);
        assert!(block_on(poll_once(blocked.as_mut())).is_some());
        drop(blocked);
        let tx2 = tx.clone();
        drop(tx);
        for i in 1..JOIN_QUEUE_CAPACITY as u32 {
            assert_eq!(block_on(rx.recv()).unwrap(), i);
        }
        assert_eq!(block_on(rx.recv()).unwrap(), 999);
        drop(tx2);
        assert!(matches!(block_on(rx.recv()), Err(ExecutorError::QueueClosed)));
    }

    #[test]
    fn send_fails_once_the_receiver_is_gone() {
        let (tx, rx) = WasmJoinQueue::<u32>::new().split();
        drop(rx);
        assert!(matches!(block_on(tx.send(1)), Err(ExecutorError::QueueClosed)));
    }
}
