//! The ticked executor under `manual` with the virtual clock: deterministic, native.
#![cfg(not(target_arch = "wasm32"))]

use aimdb_wasm_executors::{Clock, SpawnError, TickConfig, TickEnd, TickedExecutor};
use futures_lite::future::yield_now;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

fn manual(budget_ms: f64, max_polls: u32) -> TickedExecutor {
    TickedExecutor::new(TickConfig::manual(budget_ms, max_polls)).unwrap()
}

/// Three tasks that each yield `rounds` times, logging (task, round) at every poll.
fn interleaved_order(rounds: usize) -> Vec<(usize, usize)> {
    let ex = manual(4.0, 1000);
    let log = Rc::new(RefCell::new(Vec::new()));
    for t in 0..3 {
        let log = log.clone();
        ex.spawn(async move {
            for r in 0..rounds {
                log.borrow_mut().push((t, r));
                yield_now().await;
            }
        });
    }
    assert_eq!(ex.run_until_idle(100), 1, "one tick drains everything");
    let out = log.borrow().clone();
    out
}

#[test]
fn fifo_order_is_identical_across_runs() {
    let first = interleaved_order(4);
    let expected: Vec<_> = (0..4).flat_map(|r| (0..3).map(move |t| (t, r))).collect();
    assert_eq!(first, expected, "round-robin in spawn order");
    for _ in 0..20 {
        assert_eq!(interleaved_order(4), first);
    }
}

#[test]
fn budget_is_respected_and_overrun_is_at_most_one_poll() {
    let ex = manual(4.0, 10_000);
    let v = ex.clock().as_virtual().unwrap().clone();
    // A task whose every poll costs 0.1 ms of virtual time.
    let polls = Rc::new(RefCell::new(0u32));
    {
        let (v, polls) = (v.clone(), polls.clone());
        ex.spawn(async move {
            loop {
                *polls.borrow_mut() += 1;
                v.advance(Duration::from_micros(100));
                yield_now().await;
            }
        });
    }
    for _ in 0..5 {
        assert!(ex.needs_tick());
        let t = ex.tick();
        assert_eq!(t.ended, TickEnd::Budget);
        assert!(t.elapsed_ms >= 4.0 - 1e-9, "{t:?}");
        assert!(t.elapsed_ms <= 4.0 + 0.1 + 1e-9, "over budget by more than one poll: {t:?}");
        assert!(!t.overran(), "{t:?}");
        assert!((39..=41).contains(&t.polls), "{t:?}");
        // The clock is not read on every poll.
        assert!(t.clock_reads <= t.polls / 2, "{t:?}");
    }
    let s = ex.stats();
    assert_eq!(s.budget_hits, 5);
    assert_eq!(s.overruns, 0);
    assert_eq!(u64::from(*polls.borrow()), s.polls);
    ex.shutdown();
}

#[test]
fn slow_polls_stop_the_tick_after_the_first_measurement() {
    let ex = manual(4.0, 10_000);
    let v = ex.clock().as_virtual().unwrap().clone();
    ex.spawn(async move {
        loop {
            v.advance(Duration::from_millis(1));
            yield_now().await;
        }
    });
    let t = ex.tick();
    assert_eq!((t.ended, t.polls), (TickEnd::Budget, 4), "{t:?}");
    assert_eq!(t.elapsed_ms, 4.0);
    ex.shutdown();
}

#[test]
fn cheap_polls_read_the_clock_every_32() {
    let ex = manual(4.0, 4000);
    for _ in 0..3200 {
        ex.spawn(async {});
    }
    let t = ex.tick();
    assert_eq!((t.ended, t.polls), (TickEnd::Drained, 3200));
    // start + end + after poll 1 + every 32 polls.
    assert!(t.clock_reads <= 3 + 3200 / 32, "{t:?}");
}

#[test]
fn max_polls_per_tick_is_respected() {
    let ex = manual(100.0, 10);
    let done = Rc::new(RefCell::new(0));
    for _ in 0..25 {
        let done = done.clone();
        ex.spawn(async move { *done.borrow_mut() += 1 });
    }
    let ticks: Vec<_> = std::iter::from_fn(|| ex.needs_tick().then(|| ex.tick())).collect();
    let polls: Vec<_> = ticks.iter().map(|t| t.polls).collect();
    assert_eq!(polls, [10, 10, 5]);
    assert_eq!(ticks[0].ended, TickEnd::MaxPolls);
    assert_eq!(ticks[2].ended, TickEnd::Drained);
    assert_eq!(*done.borrow(), 25);
    assert_eq!(ex.stats().max_polls_hits, 2);
    assert_eq!(ex.stats().live_tasks, 0);
}

#[test]
fn a_quiet_executor_requests_no_host_callback() {
    let ex = manual(4.0, 100);
    assert!(!ex.needs_tick());
    assert_eq!(ex.stats().host_requests, 0);
    // Time passing with nothing scheduled asks for nothing.
    let v = ex.clock().as_virtual().unwrap().clone();
    v.advance(Duration::from_secs(10));
    assert!(!ex.needs_tick());
    assert_eq!(ex.stats().host_requests, 0);
    assert_eq!(ex.stats().ticks, 0);
}

#[test]
fn many_wakes_request_one_callback() {
    let ex = manual(4.0, 100);
    for _ in 0..50 {
        ex.spawn(async {});
    }
    assert!(ex.needs_tick());
    assert_eq!(ex.stats().host_requests, 1, "50 spawns, one request");
    ex.tick();
    assert!(!ex.needs_tick());
    assert_eq!(ex.stats().host_requests, 1);
    assert_eq!(ex.stats().ticks, 1);
}

#[test]
fn sleep_wakes_on_virtual_time_and_cancels_on_drop() {
    let ex = manual(4.0, 100);
    let clock = ex.clock().clone();
    let v = clock.as_virtual().unwrap().clone();
    let woke_at = Rc::new(RefCell::new(None));
    {
        let (clock, woke_at) = (clock.clone(), woke_at.clone());
        ex.spawn(async move {
            clock.sleep(Duration::from_millis(100)).await;
            *woke_at.borrow_mut() = Some(clock.now_ms());
        });
    }
    ex.run_until_idle(10);
    assert_eq!(v.pending_timers(), 1);
    v.advance(Duration::from_millis(99));
    assert!(!ex.needs_tick());
    v.advance(Duration::from_millis(1));
    assert!(ex.needs_tick(), "the timer woke the task, which asks for a tick");
    ex.run_until_idle(10);
    assert_eq!(*woke_at.borrow(), Some(100.0));

    // A sleep inside a task that is shut down is cancelled with it.
    let c2 = clock.clone();
    ex.spawn(async move { c2.sleep(Duration::from_secs(5)).await });
    ex.run_until_idle(10);
    assert_eq!(v.pending_timers(), 1);
    ex.shutdown();
    assert_eq!(v.pending_timers(), 0);
}

#[test]
fn shutdown_drops_tasks_and_refuses_spawns() {
    struct Flag(Rc<RefCell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let ex = manual(4.0, 100);
    let dropped = Rc::new(RefCell::new(false));
    let flag = Flag(dropped.clone());
    ex.spawn(async move {
        let _flag = flag;
        std::future::pending::<()>().await
    });
    ex.run_until_idle(5);
    assert_eq!(ex.stats().live_tasks, 1);
    let handle = ex.handle();
    ex.shutdown();
    assert!(*dropped.borrow());
    assert_eq!(ex.stats().live_tasks, 0);
    assert_eq!(handle.spawn(async {}), Err(SpawnError::Gone));
    assert_eq!(ex.tick().polls, 0);
}

#[test]
fn handle_refuses_other_threads_and_dropped_executors() {
    let ex = manual(4.0, 100);
    let handle = ex.handle();
    let h2 = handle.clone();
    let r = std::thread::spawn(move || h2.spawn(async {})).join().unwrap();
    assert_eq!(r, Err(SpawnError::WrongThread));
    assert_eq!(handle.spawn(async {}), Ok(()));
    drop(ex);
    assert_eq!(handle.spawn(async {}), Err(SpawnError::Gone));
}

#[test]
fn a_wake_from_another_thread_is_seen_by_the_manual_host() {
    let ex = manual(4.0, 100);
    let slot: Rc<RefCell<Option<std::task::Waker>>> = Rc::default();
    let done = Rc::new(RefCell::new(false));
    {
        let (slot, done) = (slot.clone(), done.clone());
        let mut first = true;
        ex.spawn(std::future::poll_fn(move |cx| {
            if first {
                first = false;
                *slot.borrow_mut() = Some(cx.waker().clone());
                std::task::Poll::Pending
            } else {
                *done.borrow_mut() = true;
                std::task::Poll::Ready(())
            }
        }));
    }
    ex.run_until_idle(5);
    let w = slot.borrow_mut().take().unwrap();
    std::thread::spawn(move || w.wake()).join().unwrap();
    assert!(ex.needs_tick());
    ex.run_until_idle(5);
    assert!(*done.borrow());
}

#[test]
fn config_switch_keeps_queued_work_and_validates() {
    let ex = manual(4.0, 2);
    let count = Rc::new(RefCell::new(0));
    for _ in 0..6 {
        let c = count.clone();
        ex.spawn(async move { *c.borrow_mut() += 1 });
    }
    ex.tick();
    assert_eq!(*count.borrow(), 2);
    assert!(ex.set_config(TickConfig::manual(-1.0, 5)).is_err());
    ex.set_config(TickConfig::manual(4.0, 100)).unwrap();
    ex.run_until_idle(5);
    assert_eq!(*count.borrow(), 6, "nothing lost, nothing run twice");
}

#[test]
fn system_clock_fires_due_timers_on_tick() {
    let ex = TickedExecutor::with_clock(TickConfig::manual(4.0, 100), Clock::real()).unwrap();
    let clock = ex.clock().clone();
    let done = Rc::new(RefCell::new(false));
    let d = done.clone();
    ex.spawn(async move {
        clock.sleep(Duration::from_millis(0)).await;
        *d.borrow_mut() = true;
    });
    ex.tick();
    assert!(!*done.borrow());
    ex.tick(); // fire_due at the start of the tick wakes it, the same tick polls it
    assert!(*done.borrow());
}

#[test]
fn next_tick_resumes_once_per_tick() {
    let ex = manual(4.0, 100);
    let log = Rc::new(RefCell::new(Vec::new()));
    {
        let (ex2, log) = (ex.clone(), log.clone());
        ex.spawn(async move {
            for i in 0..3 {
                log.borrow_mut().push(i);
                ex2.next_tick().await;
            }
        });
    }
    let t = ex.tick();
    assert_eq!(*log.borrow(), [0]);
    assert_eq!(t.polls, 1);
    assert!(ex.needs_tick(), "a next_tick waiter asks for a tick");
    ex.tick();
    assert_eq!(*log.borrow(), [0, 1]);
    ex.run_until_idle(10);
    assert_eq!(*log.borrow(), [0, 1, 2]);
    assert!(!ex.needs_tick());
}

#[test]
fn dropping_a_cancellable_task_cancels_it() {
    let ex = manual(4.0, 100);
    let polls = Rc::new(RefCell::new(0));
    let p = polls.clone();
    let task = ex
        .spawn_cancellable(async move {
            loop {
                *p.borrow_mut() += 1;
                yield_now().await;
            }
        })
        .unwrap();
    ex.tick();
    let before = *polls.borrow();
    assert!(before > 0);
    drop(task);
    ex.run_until_idle(5);
    assert_eq!(*polls.borrow(), before, "never polled again");
    assert_eq!(ex.stats().live_tasks, 0, "and its future is dropped");
}

/// A task that waits for the next tick is woken by that tick itself: no extra, empty
/// host callback may be asked for after it (the waiters used to be woken while the
/// ticker was still parked, so every such tick asked for one more).
#[test]
fn a_next_tick_waiter_asks_for_no_empty_tick_after_it_runs() {
    let ex = manual(4.0, 100);
    let resumed = Rc::new(RefCell::new(false));
    {
        let (ex2, resumed) = (ex.clone(), resumed.clone());
        ex.spawn(async move {
            ex2.next_tick().await;
            *resumed.borrow_mut() = true;
            std::future::pending::<()>().await
        });
    }
    ex.tick(); // the spawn's request
    assert!(ex.needs_tick(), "the next_tick waiter asks for a tick");
    ex.tick(); // resumes the waiter, which then waits for nothing the executor drives
    assert!(*resumed.borrow());
    assert!(!ex.needs_tick(), "a quiet executor asks for nothing: {:?}", ex.stats());
    assert_eq!(ex.stats().host_requests, 2, "spawn + next_tick, nothing more");
    assert_eq!(ex.run_until_idle(10), 0);
    assert_eq!(ex.stats().ticks, 2);
}

/// A delivery loop in the shape of a subscription: each tick resumes it once via
/// `next_tick`, and once the loop is quiet no further host callback is requested.
#[test]
fn a_once_per_tick_loop_goes_quiet_without_extra_requests() {
    let ex = manual(4.0, 100);
    let rounds = Rc::new(RefCell::new(0u32));
    {
        let (ex2, rounds) = (ex.clone(), rounds.clone());
        ex.spawn(async move {
            for _ in 0..3 {
                *rounds.borrow_mut() += 1;
                ex2.next_tick().await;
            }
            std::future::pending::<()>().await
        });
    }
    assert_eq!(ex.run_until_idle(100), 4, "3 rounds + the tick that resumes the last wait");
    assert_eq!(*rounds.borrow(), 3);
    assert_eq!(ex.stats().host_requests, 4, "one request per tick that had work");
}

/// Work of `units` steps of `step_us` virtual time each, in one task that asks
/// `budget_spent` between steps and yields when told.
fn cooperative_worker(ex: &TickedExecutor, units: u32, step_us: u64, done: Rc<RefCell<u32>>) {
    let ex2 = ex.clone();
    let v = ex.clock().as_virtual().unwrap().clone();
    ex.spawn(async move {
        for _ in 0..units {
            v.advance(Duration::from_micros(step_us));
            *done.borrow_mut() += 1;
            if ex2.budget_spent() {
                yield_now().await;
            }
        }
    });
}

#[test]
fn budget_spent_lets_a_long_poll_yield_and_ends_the_tick_after_it() {
    let ex = manual(4.0, 10_000);
    assert!(!ex.budget_spent(), "false outside a tick");
    let done = Rc::new(RefCell::new(0u32));
    cooperative_worker(&ex, 200, 100, done.clone());
    // Cheap tasks queued behind the worker: the tick must end right after the worker
    // yields, not run up to 32 more polls before its next clock check.
    let others = Rc::new(RefCell::new(0u32));
    for _ in 0..10 {
        let others = others.clone();
        ex.spawn(async move { *others.borrow_mut() += 1 });
    }
    let t = ex.tick();
    assert_eq!(t.ended, TickEnd::Budget, "{t:?}");
    assert_eq!(t.polls, 1, "the tick ended after the yielding poll: {t:?}");
    assert_eq!(*done.borrow(), 40, "4 ms of 0.1 ms steps");
    assert_eq!(*others.borrow(), 0);
    assert!(!t.overran(), "{t:?}");
    let ticks = ex.run_until_idle(100);
    assert_eq!(*done.borrow(), 200);
    assert_eq!(*others.borrow(), 10);
    assert!(ticks >= 4, "the work spans ticks: {ticks}");
    let s = ex.stats();
    assert_eq!(s.overruns, 0, "{s:?}");
    assert!(s.max_tick_ms <= 4.0 + 0.1 + 1e-9, "{s:?}");
}

#[test]
fn a_single_poll_longer_than_the_budget_is_an_overrun() {
    let ex = manual(4.0, 10_000);
    let v = ex.clock().as_virtual().unwrap().clone();
    ex.spawn(async move {
        v.advance(Duration::from_millis(3));
        yield_now().await;
        // One poll of 10 ms: nothing the executor can interrupt, but it must be seen.
        v.advance(Duration::from_millis(10));
    });
    let t = ex.tick();
    assert_eq!((t.ended, t.polls), (TickEnd::Budget, 2), "{t:?}");
    assert_eq!(t.final_interval_polls, 1);
    assert!(t.overran(), "a 10 ms poll in a 4 ms tick: {t:?}");
    assert_eq!(ex.stats().overruns, 1);

    // A poll that straddles the end of the budget (the one-poll overshoot) is not one.
    let ex = manual(4.0, 10_000);
    let v = ex.clock().as_virtual().unwrap().clone();
    ex.spawn(async move {
        v.advance(Duration::from_millis(3));
        yield_now().await;
        v.advance(Duration::from_millis(2));
    });
    let t = ex.tick();
    assert_eq!(t.elapsed_ms, 5.0);
    assert!(!t.overran(), "{t:?}");
    assert_eq!(ex.stats().overruns, 0);
}

/// A poll that works until `budget_spent` says so and then yields is longer than the
/// budget on its own, but it overshot by one step only: not an overrun.
#[test]
fn a_poll_that_yields_when_told_is_not_an_overrun() {
    let ex = manual(4.0, 10_000);
    let done = Rc::new(RefCell::new(0u32));
    cooperative_worker(&ex, 100, 300, done.clone());
    let t = ex.tick();
    assert_eq!((t.ended, t.polls), (TickEnd::Budget, 1), "{t:?}");
    assert_eq!(*done.borrow(), 14, "4.2 ms of 0.3 ms steps");
    assert!(t.elapsed_ms > 4.0);
    assert_eq!(t.final_interval_polls, 1);
    assert!((t.final_interval_ms - 0.3).abs() < 1e-9, "{t:?}");
    assert!(!t.overran(), "{t:?}");
    ex.run_until_idle(100);
    assert_eq!(*done.borrow(), 100);
    assert_eq!(ex.stats().overruns, 0, "{:?}", ex.stats());
}
