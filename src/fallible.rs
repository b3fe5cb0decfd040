//! [`Fallible`]: the one way the pool learns that a task's value is a failure.

use std::fmt;

/// A task output that can be a failure, such as `Result<T, E>`.
///
/// The pool never looks inside a task's value on its own: a task whose
/// output is `Result<T, E>` hands its waiter `Ok(Err(e))`, untouched. A
/// submission made through [`TaskBuilder::fallible`](crate::TaskBuilder::fallible)
/// asks this trait instead, and a value for which
/// [`failure`](Fallible::failure) returns `Some` then counts as failed
/// everywhere the pool cares: the `failed` figure of
/// [`Stats`](crate::Stats), and the "never retrieved" report when nobody
/// looks at it. This trait is that one mechanism; nothing else classifies.
///
/// It is implemented for `Result<T, E>` with `E: Debug`. Implement it for
/// your own output types to have them classified the same way.
///
/// # Examples
///
/// ```
/// use taskpool::{Fallible, TaskPool};
///
/// let ok: Result<u8, String> = Ok(1);
/// assert!(ok.failure().is_none());
///
/// let pool = TaskPool::new(2).unwrap();
/// let handle = pool
///     .build_task()
///     .fallible()
///     .submit(async { Err::<u8, _>("disk full") })
///     .unwrap();
/// assert_eq!(handle.wait().unwrap(), Err("disk full"));
/// assert_eq!(pool.stats().failed, 1);
/// ```
///
/// A custom output type:
///
/// ```
/// use std::fmt::Debug;
/// use taskpool::Fallible;
///
/// struct Response { status: u16 }
///
/// impl Fallible for Response {
///     fn failure(&self) -> Option<&dyn Debug> {
///         (self.status >= 500).then_some(&self.status as &dyn Debug)
///     }
/// }
/// assert!(Response { status: 503 }.failure().is_some());
/// assert!(Response { status: 200 }.failure().is_none());
/// ```
pub trait Fallible {
    /// The failure this value stands for, or `None` if it is a success.
    fn failure(&self) -> Option<&dyn fmt::Debug>;
}

impl<T, E: fmt::Debug> Fallible for Result<T, E> {
    fn failure(&self) -> Option<&dyn fmt::Debug> {
        self.as_ref().err().map(|e| e as &dyn fmt::Debug)
    }
}
