//! The channel-permit limiter.
//!
//! A limit of `n` is a bounded channel prefilled with `n` unit tokens.
//! Taking a token out of the channel is acquiring a permit; the [`Permit`]
//! guard puts the token back when it is dropped, so a task that panics, is
//! cancelled or times out cannot keep its slot.
//!
//! # Invariant
//!
//! At every instant, `tokens in the channel + live permits == limit + debt`.
//!
//! `debt` is how many tokens a shrink still has to take out of circulation.
//! Shrinking never takes a permit away from its holder: it records a debt,
//! and the debt is paid by the next tokens that come back (on release) or
//! come out (on acquire). While a debt is owed no permit is handed out, so no
//! new task starts until the number of live permits is under the new limit.
//!
//! Growing pays the debt first and then puts fresh tokens in. A channel is
//! bounded by its capacity; when a grow needs more room than the current
//! channel has, the tokens move to a larger channel under the write lock
//! (releases take the read lock, so none can slip into the old one).

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use crate::rt::{Receiver, Sender, TryRecvError, TrySendError, bounded};

/// A channel of unit tokens: the current generation of the limiter.
struct Tokens {
    tx: Sender<()>,
    rx: Receiver<()>,
}

impl Tokens {
    fn with_capacity(capacity: usize) -> Tokens {
        let (tx, rx) = bounded(capacity);
        Tokens { tx, rx }
    }

    /// Puts `n` fresh tokens in. The caller has checked there is room.
    fn fill(&self, n: usize) {
        for _ in 0..n {
            let sent = self.tx.try_send(());
            debug_assert!(sent.is_ok(), "limiter channel has no room for its own tokens");
        }
    }
}

struct Shared {
    /// The current channel. Read-locked to return a token, write-locked to
    /// resize; acquiring clones the receiver so it never waits under a lock.
    tokens: RwLock<Tokens>,
    limit: AtomicUsize,
    debt: AtomicUsize,
    /// Set by [`Limiter::close`]: waiting acquirers give up.
    closed_rx: Receiver<()>,
    closed_tx: Sender<()>,
}

impl Shared {
    fn tokens(&self) -> RwLockReadGuard<'_, Tokens> {
        self.tokens.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one token of debt, if any is owed. Returns whether it did.
    fn pay_debt(&self) -> bool {
        // AcqRel: pairs with the resize that recorded the debt, so a payer
        // that sees the debt also sees the new limit.
        self.debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
            .is_ok()
    }

    fn release(&self) {
        if self.pay_debt() {
            return;
        }
        // Under the read lock the channel cannot be swapped or closed, and by
        // the invariant it always has room for a returning token.
        match self.tokens().tx.try_send(()) {
            Ok(()) => {}
            Err(TrySendError::Full(())) | Err(TrySendError::Closed(())) => {
                debug_assert!(false, "a returned token found no room in the limiter channel");
            }
        }
    }
}

/// Counts running tasks against a resizable limit with channel tokens.
#[derive(Clone)]
pub(crate) struct Limiter {
    shared: Arc<Shared>,
}

/// A token taken out of the limiter. Dropping it gives the token back.
#[must_use = "dropping a permit gives its slot back at once"]
#[clippy::has_significant_drop]
pub(crate) struct Permit {
    shared: Arc<Shared>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

impl Limiter {
    /// A limiter with `limit` tokens. The caller has rejected a zero limit.
    pub(crate) fn new(limit: usize) -> Limiter {
        debug_assert!(limit > 0);
        let tokens = Tokens::with_capacity(limit);
        tokens.fill(limit);
        let (closed_tx, closed_rx) = bounded(1);
        Limiter {
            shared: Arc::new(Shared {
                tokens: RwLock::new(tokens),
                limit: AtomicUsize::new(limit),
                debt: AtomicUsize::new(0),
                closed_rx,
                closed_tx,
            }),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.shared.limit.load(Ordering::Acquire)
    }

    /// Tokens that can be acquired right now.
    pub(crate) fn available(&self) -> usize {
        let in_channel = self.shared.tokens().rx.len();
        in_channel.saturating_sub(self.shared.debt.load(Ordering::Acquire))
    }

    /// Tokens a shrink still has to take back (see the module invariant).
    #[cfg(test)]
    fn debt(&self) -> usize {
        self.shared.debt.load(Ordering::Acquire)
    }

    fn permit(&self) -> Permit {
        Permit {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Takes a permit if one is free, without waiting.
    pub(crate) fn try_acquire(&self) -> Option<Permit> {
        let tokens = self.shared.tokens();
        loop {
            match tokens.rx.try_recv() {
                Ok(()) if self.shared.pay_debt() => continue,
                Ok(()) => return Some(self.permit()),
                Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => return None,
            }
        }
    }

    /// Waits for a permit. Returns `None` once the limiter is closed.
    ///
    /// Cancel safety: a token is only taken out of the channel in the same
    /// poll that returns it, so dropping this future loses nothing.
    pub(crate) async fn acquire(&self) -> Option<Permit> {
        loop {
            if self.is_closed() {
                return None;
            }
            if let Some(permit) = self.try_acquire() {
                return Some(permit);
            }
            let rx = self.shared.tokens().rx.clone();
            let token = crate::util::race(rx.recv(), self.shared.closed_rx.recv()).await;
            match token {
                crate::util::Either::Left(Ok(())) if self.shared.pay_debt() => {}
                crate::util::Either::Left(Ok(())) => return Some(self.permit()),
                // The generation was retired by a grow: look again.
                crate::util::Either::Left(Err(_)) => {}
                // `closed_rx` only ever reports closing.
                crate::util::Either::Right(_) => return None,
            }
        }
    }

    /// Waits for a permit, blocking the thread. Returns `None` once the
    /// limiter is closed.
    pub(crate) fn acquire_blocking(&self) -> Option<Permit> {
        crate::util::block_on_here(self.acquire())
    }

    /// Makes every waiting and future acquire return `None`. Returns whether
    /// this call closed it.
    pub(crate) fn close(&self) -> bool {
        self.shared.closed_tx.close()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shared.closed_tx.is_closed()
    }

    /// Changes the limit and returns the old one. Running permits are never
    /// taken back: a shrink becomes a debt (see the module docs).
    pub(crate) fn set_limit(&self, new: usize) -> usize {
        debug_assert!(new > 0);
        let mut tokens = self.shared.tokens.write().unwrap_or_else(PoisonError::into_inner);
        let old = self.shared.limit.swap(new, Ordering::AcqRel);
        if new < old {
            self.shared.debt.fetch_add(old - new, Ordering::AcqRel);
            // Pay what we can at once from idle tokens, so `available()` is
            // right immediately.
            while self.shared.debt.load(Ordering::Acquire) > 0 {
                match tokens.rx.try_recv() {
                    Ok(()) if self.shared.pay_debt() => {}
                    Ok(()) => {
                        // A release paid the last of it meanwhile: put it back.
                        tokens.fill(1);
                        break;
                    }
                    Err(_) => break,
                }
            }
        } else if new > old {
            let mut grow = new - old;
            while grow > 0 && self.shared.pay_debt() {
                grow -= 1;
            }
            let circulating = new + self.shared.debt.load(Ordering::Acquire);
            let capacity = tokens.tx.capacity().unwrap_or(usize::MAX);
            if circulating > capacity {
                let bigger = Tokens::with_capacity(circulating.max(capacity.saturating_mul(2)));
                // Close first: no send can land in the old channel after this,
                // and everything already in it is moved over below.
                tokens.tx.close();
                while let Ok(()) = tokens.rx.try_recv() {
                    bigger.fill(1);
                }
                *tokens = bigger;
            }
            tokens.fill(grow);
        }
        old
    }
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
        l.shared.tokens().rx.len()
    }

    /// The module invariant: tokens + live permits == limit + debt.
    fn assert_invariant(l: &Limiter, live: usize) {
        assert_eq!(in_channel(l) + live, l.limit() + l.debt());
    }

    #[test]
    fn prefilled_with_limit_tokens() {
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
    fn dropped_permit_returns_its_token_even_when_unwinding() {
        let l = Limiter::new(1);
        let l2 = l.clone();
        let r = std::panic::catch_unwind(move || {
            let _p = l2.try_acquire().unwrap();
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
    fn grow_past_capacity_moves_tokens_to_a_larger_channel() {
        let l = Limiter::new(2);
        let held = l.try_acquire().unwrap();
        l.set_limit(10);
        assert_eq!(l.available(), 9);
        assert_invariant(&l, 1);
        // The held permit's token goes to the new channel.
        drop(held);
        assert_eq!(l.available(), 10);
        let all: Vec<_> = (0..10).map(|_| l.try_acquire().unwrap()).collect();
        assert!(l.try_acquire().is_none());
        drop(all);
        assert_invariant(&l, 0);
    }

    #[test]
    fn waiting_acquire_sees_a_grow_that_swaps_the_channel() {
        let l = Limiter::new(1);
        let held = l.try_acquire().unwrap();
        let l2 = l.clone();
        let waiter = std::thread::spawn(move || l2.acquire_blocking().is_some());
        // Whether the waiter is already parked on the old channel or not, a
        // grow must reach it.
        l.set_limit(8);
        assert!(waiter.join().unwrap());
        drop(held);
        assert_invariant(&l, 0);
    }

    #[test]
    fn close_wakes_a_blocked_acquirer() {
        let l = Limiter::new(1);
        let _held = l.try_acquire().unwrap();
        let l2 = l.clone();
        let waiter = std::thread::spawn(move || l2.acquire_blocking().is_none());
        assert!(l.close());
        assert!(!l.close(), "second close reports it did nothing");
        assert!(waiter.join().unwrap());
    }
}
