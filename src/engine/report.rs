//! Logging and dropping user values without letting their panics escape.
//!
//! The pool calls user code outside a task's poll in a few places: the
//! global logger, a task's `Drop` when a cancel or timeout discards it, a
//! discarded value's `Drop`, and user hooks. On the daemon thread a panic
//! there would take every task down with it, so each such call is contained
//! here: the panic is caught, and (where it is safe to) logged.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::engine::outcome::{TaskLabel, panic_message};
use crate::engine::task::TaskId;

/// Runs `f`, swallowing a panic. For calls into the logger: a logger that
/// panics cannot be asked to log its own panic.
pub(crate) fn contained(f: impl FnOnce()) {
    caught(f);
}

/// Runs `f`; `None` if it panicked (the panic's payload is dropped with
/// [`drop_panic`]).
pub(crate) fn caught<R>(f: impl FnOnce() -> R) -> Option<R> {
    catch_unwind(AssertUnwindSafe(f)).map_err(drop_panic).ok()
}

/// Drops a caught panic's payload. A payload is user data too, and its
/// `Drop` may panic in turn: that second payload is leaked, since dropping
/// it could panic again, without end (leaking is safe; unwinding out of
/// here would leave a task half-ended).
pub(crate) fn drop_panic(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// Logs at error level through a logger that may panic.
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::engine::report::contained(|| ::log::error!($($arg)*))
    };
}

/// Logs at info level through a logger that may panic.
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::engine::report::contained(|| ::log::info!($($arg)*))
    };
}

/// Logs at debug level through a logger that may panic.
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::engine::report::contained(|| ::log::debug!($($arg)*))
    };
}

pub(crate) use {debug, error, info};

/// Drops a user value whose `Drop` may panic; a panic is logged at error
/// level as `task 7 panicked while dropping <what>: <message>`.
pub(crate) fn drop_contained<V>(value: V, task: TaskLabel<'_>, what: &str) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        log_drop_panic(task, what, payload.as_ref());
        drop_panic(payload);
    }
}

/// Logs a panic caught while dropping part of a task.
pub(crate) fn log_drop_panic(task: TaskLabel<'_>, what: &str, payload: &(dyn std::any::Any + Send)) {
    let message = Message(panic_message(payload));
    error!("{task} panicked while dropping {what}: {message}");
}

struct Message<'a>(Option<&'a str>);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(m) => write!(f, "{m:?}"),
            None => f.write_str("a non-string payload"),
        }
    }
}

/// Logs a task's panic, once, when it happens.
pub(crate) fn log_panic(task: TaskLabel<'_>, payload: &(dyn std::any::Any + Send)) {
    let message = Message(panic_message(payload));
    error!("{task} panicked with message {message}");
}

/// A task failure nobody observed, passed to the
/// [`on_unobserved_failure`](crate::TaskPoolBuilder::on_unobserved_failure)
/// hook.
///
/// "Failure" means a panic, or an output that [`Fallible`](crate::Fallible)
/// calls a failure (a `Result`'s `Err`, unless wrapped in
/// [`Opaque`](crate::Opaque)); "nobody observed"
/// means its handle was dropped (or detached) without taking the outcome.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// let messages = Arc::new(Mutex::new(Vec::new()));
/// let sink = Arc::clone(&messages);
/// let pool = taskpool::TaskPool::builder()
///     .on_unobserved_failure(move |f| sink.lock().unwrap().push(f.message().to_owned()))
///     .build()
///     .unwrap();
/// drop(pool.build_task().name("job").submit(async { Err::<(), _>("bad") }).unwrap());
/// pool.shutdown(taskpool::ShutdownMode::Drain).wait();
/// let messages = messages.lock().unwrap();
/// assert_eq!(messages.len(), 1);
/// assert!(messages[0].ends_with("(job) failed: \"bad\""));
/// ```
#[derive(Debug)]
pub struct UnobservedFailure<'a> {
    id: TaskId,
    name: Option<&'a str>,
    message: &'a str,
}

impl<'a> UnobservedFailure<'a> {
    pub(crate) fn new(id: TaskId, name: Option<&'a str>, message: &'a str) -> UnobservedFailure<'a> {
        UnobservedFailure { id, name, message }
    }

    /// The failed task's id.
    ///
    /// # Examples
    ///
    /// See [`UnobservedFailure`].
    ///
    /// ```
    /// # let _ = taskpool::UnobservedFailure::task_id;
    /// ```
    pub fn task_id(&self) -> TaskId {
        self.id
    }

    /// The failed task's name, if it had one.
    ///
    /// # Examples
    ///
    /// See [`UnobservedFailure`].
    ///
    /// ```
    /// # let _ = taskpool::UnobservedFailure::task_name;
    /// ```
    pub fn task_name(&self) -> Option<&str> {
        self.name
    }

    /// What went wrong, in the words of the logged line: the panic as a
    /// [`TaskError`](crate::TaskError) displays it, or `task 7 failed: <error as Debug>`.
    ///
    /// # Examples
    ///
    /// See [`UnobservedFailure`].
    ///
    /// ```
    /// # let _ = taskpool::UnobservedFailure::message;
    /// ```
    pub fn message(&self) -> &str {
        self.message
    }
}
