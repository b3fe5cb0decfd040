//! Small runtime-independent helpers: a two-way race, a thread-parking
//! `block_on`, a shield for the wakers the pool hands to notifiers it does
//! not own, a poison-tolerant lock, and a cache-line pad.

use std::future::Future;
use std::ops::Deref;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Which of two raced futures finished first.
pub(crate) enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Polls `a` then `b` until one is ready; the other is dropped.
pub(crate) async fn race<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(x));
        }
        if let Poll::Ready(y) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(y));
        }
        Poll::Pending
    })
    .await
}

/// A shield for a user's waker: the waker the pool hands to a notifier it
/// does not own (event-listener's events, futures-timer's thread) in place
/// of the user's, which it wakes inside `report::contained`. A user's waker
/// that panics then cannot stop an event's `notify` halfway (which would
/// leave the event's count wrong) nor kill the timer's thread.
#[derive(Default)]
pub(crate) struct ShieldedWaker(Option<(Waker, Waker)>);

impl ShieldedWaker {
    /// The shield for `waker`, made anew only when `waker` changes.
    pub(crate) fn of(&mut self, waker: &Waker) -> &Waker {
        if !self.0.as_ref().is_some_and(|(user, _)| user.will_wake(waker)) {
            let shield = Waker::from(Arc::new(Shield(waker.clone())));
            self.0 = Some((waker.clone(), shield));
        }
        &self.0.as_ref().expect("set above").1
    }
}

struct Shield(Waker);

impl Wake for Shield {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        crate::engine::report::contained(|| self.0.wake_by_ref());
    }
}

/// Awaits `future` (an event listener) with the caller's waker shielded
/// (see [`ShieldedWaker`]).
pub(crate) async fn shielded<F: Future + Unpin>(mut future: F) -> F::Output {
    let mut shield = ShieldedWaker::default();
    std::future::poll_fn(|cx| {
        let waker = shield.of(cx.waker());
        Pin::new(&mut future).poll(&mut Context::from_waker(waker))
    })
    .await
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// A waker that unparks this thread, made once per thread.
    static THREAD_WAKER: Waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
}

/// A waker that unparks the calling thread (made once per thread; this
/// clones it).
pub(crate) fn thread_waker() -> Waker {
    THREAD_WAKER.with(Waker::clone)
}

/// Blocks the calling thread on `future` by parking it between polls.
///
/// Unlike `rt::block_on` this drives no executor: it is for waiting on
/// futures whose progress is made elsewhere (a permit, a task's outcome).
pub(crate) fn block_on_here<F: Future>(future: F) -> F::Output {
    let future = pin!(future);
    match block_on_deadline(future, None) {
        Some(out) => out,
        None => unreachable!("no deadline was given"),
    }
}

/// Like [`block_on_here`], but gives up (returning `None`) once `deadline`
/// passes. The future stays with the caller, to be polled again later.
pub(crate) fn block_on_deadline<F: Future>(mut future: Pin<&mut F>, deadline: Option<Instant>) -> Option<F::Output> {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return None;
                }
                thread::park_timeout(deadline - now);
            }
        }
    }
}

/// `Instant::now() + timeout`, or `None` ("no deadline") when that does not
/// fit in an `Instant`: a huge timeout means wait forever, never a panic.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Locks `mutex`, ignoring poisoning: no user code runs under our locks, so
/// a poisoned lock only means a panic elsewhere, not a broken invariant.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A value alone in its cache lines (128 bytes: two lines, as the adjacent
/// line prefetcher of x86 moves them in pairs).
///
/// For a field that one set of threads writes often and others read or
/// write too: without it, a submitter's counter and the workers' lock
/// shared a line, and every submit missed the cache (measured: see
/// BENCHMARKS.md, "False sharing in the pool's state").
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Runs a unit test's body on a thread of its own and fails the test if it
/// has not finished within a minute (long enough never to fire on a loaded
/// machine): a hang becomes a failure. A panic in `body` is resumed here.
#[cfg(test)]
pub(crate) fn watchdog<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    use std::sync::mpsc::{RecvTimeoutError, channel};
    // Dropped when `body` returns or unwinds: either ends the wait below.
    let (alive, ended) = channel::<()>();
    let worker = thread::spawn(move || {
        let _alive = alive;
        body()
    });
    if let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(Duration::from_secs(60)) {
        panic!("the test did not finish within a minute: it hangs");
    }
    worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
