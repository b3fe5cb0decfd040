//! The channel-permit limiter.
//!
//! A limit of `n` is a channel holding `n` unit tokens. Taking a token out
//! of the channel is acquiring a permit; the [`Permit`] guard sends the
//! token back when it is dropped, so a task that panics, is cancelled or
//! times out cannot keep its slot.
//!
//! The limiter lives inside the pool's shared state, and a [`Permit`]
//! borrows it: taking and returning a token touches no reference count. A
//! task that outlives the borrow (its runner is `'static`) carries the
//! token as a [`Token`], and its runner, which owns the task and so the
//! pool, gives it back through [`Limiter::give_back`] when the task ends
//! however it ends (the runner's `Drop` does it if nothing else did).
//!
//! The tokens are all the same unit value, so the channel stores how many
//! it holds rather than one slot per token: its memory does not grow with
//! the limit, and receiving a token when one is there is one
//! compare-and-swap. A receiver that finds the channel empty waits on an
//! [`Event`] that every returned token notifies once.
//!
//! # Invariant
//!
//! At every instant outside a resize, `tokens in the channel + live permits
//! == limit + debt`.
//!
//! `debt` is how many tokens a shrink still has to take out of circulation.
//! Shrinking never takes a permit away from its holder: it records a debt,
//! and the debt is paid by the next tokens that come back (on release) or
//! come out (on acquire). While a debt is owed no permit is handed out, so no
//! new task starts until the number of live permits is under the new limit.
//! Growing pays the debt first and then sends fresh tokens in.
//!
//! # Memory ordering
//!
//! Sending a token back (`Release`) happens-before the receive that takes it
//! (`Acquire`): whatever a task did before its permit went back is visible
//! to the task that starts under that token.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use event_listener::{Event, IntoNotification};

use crate::engine::util::lock;

/// The largest limit a limiter accepts: room for a shrink's debt on top of
/// the tokens without overflowing a `usize` (as tokio's semaphore keeps
/// `MAX_PERMITS` below `usize::MAX`).
pub(crate) const MAX_LIMIT: usize = usize::MAX >> 3;

pub(crate) struct Limiter {
    /// Tokens in the channel: free permits, before the debt is paid.
    tokens: AtomicUsize,
    limit: AtomicUsize,
    debt: AtomicUsize,
    /// Set by [`Limiter::close`]: waiting receivers give up.
    closed: AtomicBool,
    /// Notified once per token sent back, and for everyone on close.
    sent: Event,
    /// Serialises resizes (never taken by acquire or release).
    resize: Mutex<()>,
}

impl Limiter {
    /// Takes one token of debt, if any is owed. Returns whether it did.
    fn pay_debt(&self) -> bool {
        // AcqRel: pairs with the resize that recorded the debt, so a payer
        // that sees the debt also sees the new limit.
        self.debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
            .is_ok()
    }

    /// Receives a token without waiting: a compare-and-swap on the count.
    fn try_recv(&self) -> bool {
        // Acquire on success: pairs with the Release of the send that put
        // the token in (see the module's memory-ordering section).
        self.tokens
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Sends `n` tokens into the channel and wakes as many receivers.
    fn send(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Release: see `try_recv`. `notify` then fences (SeqCst) before it
        // looks for listeners, against a receiver's listen-then-recheck.
        self.tokens.fetch_add(n, Ordering::Release);
        self.sent.notify(n.additional());
    }

    fn release(&self) {
        if !self.pay_debt() {
            self.send(1);
        }
    }
}

/// A token taken out of a [`Limiter`], borrowing it. Dropping it gives the
/// token back.
#[must_use = "dropping a permit gives its slot back at once"]
#[clippy::has_significant_drop]
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
}

impl Permit<'_> {
    /// The token, for a holder that outlives the borrow; it must reach
    /// [`Limiter::give_back`] on the same limiter.
    pub(crate) fn into_token(self) -> Token {
        std::mem::forget(self);
        Token { _private: () }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.release();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// A permit's token, carried by a task whose runner gives it back with
/// [`Limiter::give_back`]. It is not `Clone`: one token, one give-back.
#[must_use = "a token must be given back to its limiter"]
#[derive(Debug)]
pub(crate) struct Token {
    _private: (),
}

impl Limiter {
    /// A limiter with `limit` tokens, in O(1) time and memory. The caller
    /// has checked `1 <= limit <= MAX_LIMIT`.
    pub(crate) fn new(limit: usize) -> Limiter {
        debug_assert!((1..=MAX_LIMIT).contains(&limit));
        Limiter {
            tokens: AtomicUsize::new(limit),
            limit: AtomicUsize::new(limit),
            debt: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            sent: Event::new(),
            resize: Mutex::new(()),
        }
    }

    /// Gives back a token taken from this limiter.
    pub(crate) fn give_back(&self, token: Token) {
        let Token { _private: () } = token;
        self.release();
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Acquire)
    }

    /// Tokens that can be acquired right now.
    pub(crate) fn available(&self) -> usize {
        let in_channel = self.tokens.load(Ordering::Acquire);
        in_channel.saturating_sub(self.debt.load(Ordering::Acquire))
    }

    /// Whether a shrink still has tokens to take back: a token given up now
    /// must go back to the channel to pay it, not on to another task.
    pub(crate) fn owes(&self) -> bool {
        // Acquire: pairs with the resize that recorded the debt.
        self.debt.load(Ordering::Acquire) > 0
    }

    /// Tokens a shrink still has to take back (see the module invariant).
    #[cfg(test)]
    fn debt(&self) -> usize {
        self.debt.load(Ordering::Acquire)
    }

    fn permit(&self) -> Permit<'_> {
        Permit { limiter: self }
    }

    /// Takes a permit if one is free, without waiting.
    pub(crate) fn try_acquire(&self) -> Option<Permit<'_>> {
        while self.try_recv() {
            // A token that comes out while a debt is owed pays it instead.
            if !self.pay_debt() {
                return Some(self.permit());
            }
        }
        None
    }

    /// Waits for a permit. Returns `None` once the limiter is closed.
    ///
    /// Cancel safety: a token is only taken out of the channel in the same
    /// poll that returns it, so dropping this future loses nothing (a
    /// notification it had received passes to the next waiter).
    pub(crate) async fn acquire(&self) -> Option<Permit<'_>> {
        loop {
            if self.is_closed() {
                return None;
            }
            if let Some(permit) = self.try_acquire() {
                return Some(permit);
            }
            // Listen, then look again: a token sent in between notifies the
            // listener just registered.
            let listener = self.sent.listen();
            if self.is_closed() {
                return None;
            }
            if let Some(permit) = self.try_acquire() {
                return Some(permit);
            }
            crate::engine::util::shielded(listener).await;
        }
    }

    /// Waits for a permit, blocking the thread. Returns `None` once the
    /// limiter is closed.
    pub(crate) fn acquire_blocking(&self) -> Option<Permit<'_>> {
        crate::engine::util::block_on_here(self.acquire())
    }

    /// Makes every waiting and future acquire return `None`. Returns whether
    /// this call closed it.
    pub(crate) fn close(&self) -> bool {
        // SeqCst: ordered before the notify, against a receiver's
        // listen-then-check.
        let closed_now = !self.closed.swap(true, Ordering::SeqCst);
        if closed_now {
            self.sent.notify(usize::MAX);
        }
        closed_now
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Changes the limit and returns the old one, in O(1). Running permits
    /// are never taken back: a shrink becomes a debt (see the module docs).
    /// The caller has checked `1 <= new <= MAX_LIMIT`.
    pub(crate) fn set_limit(&self, new: usize) -> usize {
        debug_assert!((1..=MAX_LIMIT).contains(&new));
        let shared = self;
        let _resizing = lock(&shared.resize);
        let old = shared.limit.swap(new, Ordering::AcqRel);
        if new < old {
            let owed = shared.debt.fetch_add(old - new, Ordering::AcqRel) + (old - new);
            // Pay what we can at once from idle tokens, so `available()` is
            // right immediately.
            let idle = shared
                .tokens
                .fetch_update(Ordering::Acquire, Ordering::Relaxed, |t| Some(t - t.min(owed)))
                .unwrap_or_else(|t| t);
            let taken = idle.min(owed);
            let paid = take_up_to(&shared.debt, taken);
            // Releases paid some of the debt meanwhile: the rest goes back.
            shared.send(taken - paid);
        } else if new > old {
            let grow = new - old;
            let paid = take_up_to(&shared.debt, grow);
            shared.send(grow - paid);
        }
        old
    }
}

/// Subtracts up to `n` from `counter`, never below zero; returns how much.
fn take_up_to(counter: &AtomicUsize, n: usize) -> usize {
    let before = counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| Some(c - c.min(n)))
        .unwrap_or_else(|c| c);
    before.min(n)
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.limit())
            .field("available", &self.available())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_channel(l: &Limiter) -> usize {
        l.tokens.load(Ordering::SeqCst)
    }

    /// The module invariant: tokens + live permits == limit + debt.
    fn assert_invariant(l: &Limiter, live: usize) {
        assert_eq!(in_channel(l) + live, l.limit() + l.debt());
    }

    #[test]
    fn holds_limit_tokens() {
        let l = Limiter::new(3);
        assert_eq!(l.available(), 3);
        let permits: Vec<_> = (0..3).map(|_| l.try_acquire().unwrap()).collect();
        assert!(l.try_acquire().is_none());
        assert_invariant(&l, 3);
        drop(permits);
        assert_eq!(l.available(), 3);
        assert_invariant(&l, 0);
    }

    #[test]
    fn the_largest_limit_costs_no_more_than_the_smallest() {
        let l = Limiter::new(MAX_LIMIT);
        assert_eq!(l.available(), MAX_LIMIT);
        assert_eq!(std::mem::size_of_val(&l), std::mem::size_of_val(&Limiter::new(1)));
        let held = l.try_acquire().unwrap();
        // Shrinking from the largest limit to the smallest and back is O(1).
        l.set_limit(1);
        assert_eq!(l.debt(), 0, "the idle tokens paid the whole debt");
        assert!(l.try_acquire().is_none());
        assert_invariant(&l, 1);
        l.set_limit(MAX_LIMIT);
        assert_eq!(l.available(), MAX_LIMIT - 1);
        drop(held);
        assert_eq!(l.available(), MAX_LIMIT);
        assert_invariant(&l, 0);
    }

    #[test]
    fn a_token_given_back_counts_as_a_release() {
        let l = Limiter::new(2);
        let token = l.try_acquire().unwrap().into_token();
        assert_eq!(l.available(), 1);
        assert_invariant(&l, 1);
        l.set_limit(1); // owe 1: the token pays it
        l.give_back(token);
        assert_eq!(l.debt(), 0);
        assert_eq!(l.available(), 1);
        assert_invariant(&l, 0);
    }

    #[test]
    fn dropped_permit_returns_its_token_even_when_unwinding() {
        let l = Limiter::new(1);
        let r = std::panic::catch_unwind(|| {
            let _p = l.try_acquire().unwrap();
            panic!("boom");
        });
        assert!(r.is_err());
        assert_eq!(l.available(), 1);
    }

    #[test]
    fn shrink_takes_idle_tokens_and_owes_the_rest() {
        let l = Limiter::new(4);
        let a = l.try_acquire().unwrap();
        let b = l.try_acquire().unwrap();
        let c = l.try_acquire().unwrap();
        // 1 idle token, 3 live; shrink to 1: take the idle one, owe 2.
        l.set_limit(1);
        assert_eq!(l.available(), 0);
        assert_eq!(l.debt(), 2);
        assert_invariant(&l, 3);
        drop(a);
        drop(b);
        // Two releases paid the debt; no permit was free meanwhile.
        assert_eq!(l.debt(), 0);
        assert!(l.try_acquire().is_none());
        drop(c);
        assert_eq!(l.available(), 1);
        assert_invariant(&l, 0);
    }

    #[test]
    fn grow_pays_debt_first_then_adds_tokens() {
        let l = Limiter::new(2);
        let a = l.try_acquire().unwrap();
        let b = l.try_acquire().unwrap();
        l.set_limit(1); // owe 1
        assert_eq!(l.debt(), 1);
        l.set_limit(3); // pay 1, add 1
        assert_eq!(l.debt(), 0);
        assert_eq!(l.available(), 1);
        assert_invariant(&l, 2);
        drop((a, b));
        assert_eq!(l.available(), 3);
    }

    #[test]
    fn grow_wakes_as_many_waiters_as_tokens_it_adds() {
        let l = Limiter::new(1);
        let held = l.try_acquire().unwrap();
        std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..3)
                .map(|_| scope.spawn(|| l.acquire_blocking().map(std::mem::forget).is_some()))
                .collect();
            // Whether each waiter is already parked or not, the grow reaches it.
            l.set_limit(4);
            for w in waiters {
                assert!(w.join().unwrap());
            }
        });
        assert_eq!(l.available(), 0);
        drop(held);
        assert_eq!(l.available(), 1);
    }

    #[test]
    fn every_returned_token_wakes_one_waiter() {
        // Two waiters, two tokens sent back together: both must get one.
        let l = Limiter::new(2);
        let (a, b) = (l.try_acquire().unwrap(), l.try_acquire().unwrap());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let ready_tx = ready_tx.clone();
                    let l = &l;
                    scope.spawn(move || {
                        ready_tx.send(()).unwrap();
                        l.acquire_blocking().is_some()
                    })
                })
                .collect();
            ready_rx.recv().unwrap();
            ready_rx.recv().unwrap();
            drop((a, b));
            for w in waiters {
                assert!(w.join().unwrap());
            }
        });
        assert_invariant(&l, 0);
    }

    #[test]
    fn close_wakes_a_blocked_acquirer() {
        let l = Limiter::new(1);
        let _held = l.try_acquire().unwrap();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| l.acquire_blocking().is_none());
            assert!(l.close());
            assert!(!l.close(), "second close reports it did nothing");
            assert!(waiter.join().unwrap());
        });
    }
}
