//! [`Fallible`]: the one way the pool learns that a task's value is a
//! failure, and [`Opaque`], the way to say a value never is.

use std::fmt;

/// A task output that may stand for a failure, such as `Result<T, E>`.
///
/// Every task's output implements this trait, and the pool asks it, for
/// every task, whether the value is a failure. A value for which
/// [`failure`](Fallible::failure) returns `Some` counts as failed
/// everywhere the pool cares: the `failed` figure of
/// [`Stats`](crate::Stats), [`ReturnWhen::FirstError`](crate::ReturnWhen::FirstError),
/// [`try_join_all`](crate::try_join_all), a [`TaskGroup`](crate::TaskGroup),
/// and the "never retrieved" report when nobody looks at it. This trait is
/// that one mechanism; nothing else classifies. The waiter still gets the
/// value untouched: a task returning `Err(e)` hands its waiter `Ok(Err(e))`.
///
/// It is implemented for `Result<T, E>` (`Err` is the failure) and, as
/// never failing, for the standard library's plain values: `()`, `bool`,
/// `char`, the numbers, `String`, `&'static str`, `Option<T>`, `Vec<T>`,
/// `Box<T>`, `Arc<T>`, maps and sets, `Duration`, `PathBuf`, arrays and
/// tuples. For a type of your own, implement it (the examples show the
/// two lines for a type that never fails); for a value of another crate's
/// type, return it inside [`Opaque`], which never fails. Python has no
/// such trait: a coroutine's failure is the exception it raises.
///
/// One corner: in edition 2024 a block that only panics has the output
/// type `!`, which stable Rust cannot implement a trait for (an impl
/// through a workaround would make every impl of yours conflict with it).
/// Give such a task an output: `async { panic!("boom") as () }`.
///
/// [`into_success`](Fallible::into_success) is what a group or
/// [`try_join_all`](crate::try_join_all) hands back on success: the `T` of
/// a `Result<T, E>`, the value itself otherwise.
///
/// # Examples
///
/// A `Result` output counts as failed with no opt-in:
///
/// ```
/// use taskpool::{Fallible, TaskPool};
///
/// let ok: Result<u8, String> = Ok(1);
/// assert!(ok.failure().is_none());
///
/// let pool = TaskPool::new(2).unwrap();
/// let handle = pool.submit(async { Err::<u8, _>("disk full") }).unwrap();
/// assert_eq!(handle.wait().unwrap(), Err("disk full"));
/// assert_eq!(pool.stats().failed, 1);
/// ```
///
/// Custom output types, one that never fails and one that sometimes does:
///
/// ```
/// use std::fmt::Debug;
/// use taskpool::Fallible;
///
/// struct Report { lines: usize }
///
/// impl Fallible for Report {
///     type Success = Report;
///     fn into_success(self) -> Result<Report, Report> { Ok(self) }
/// }
///
/// struct Response { status: u16 }
///
/// impl Fallible for Response {
///     type Success = Response;
///     fn failure(&self) -> Option<&dyn Debug> {
///         (self.status >= 500).then_some(&self.status as &dyn Debug)
///     }
///     fn into_success(self) -> Result<Response, Response> {
///         if self.failure().is_some() { Err(self) } else { Ok(self) }
///     }
/// }
/// assert!(Report { lines: 3 }.failure().is_none());
/// assert!(Response { status: 503 }.failure().is_some());
/// assert!(Response { status: 200 }.into_success().is_ok());
/// ```
#[diagnostic::on_unimplemented(
    message = "the pool cannot tell whether a task output of type `{Self}` is a failure",
    label = "the task's output",
    note = "implement `taskpool::Fallible` for `{Self}` (two lines for a type that never fails, see its docs), \
            or return the value inside `taskpool::Opaque(..)`",
    note = "a task that only panics has the output `!` in edition 2024: give it one, `async {{ panic!(\"..\") as () }}`"
)]
pub trait Fallible: Sized {
    /// What a success hands back: the `T` of `Result<T, E>`, `Self`
    /// otherwise.
    type Success;

    /// The failure this value stands for, or `None` if it is a success
    /// (the default).
    fn failure(&self) -> Option<&dyn fmt::Debug> {
        None
    }

    /// The success inside the value, or the value itself back if it is a
    /// failure.
    ///
    /// # Errors
    ///
    /// Returns `self` when the value is a failure (when
    /// [`failure`](Fallible::failure) returns `Some`).
    fn into_success(self) -> Result<Self::Success, Self>;
}

/// The engine asks a task's output whether it is a failure through its own
/// trait; every `Fallible` output answers it this way.
impl<T: Fallible + Send + 'static> crate::engine::task::Outcome for T {
    fn failure(&self) -> Option<&dyn fmt::Debug> {
        Fallible::failure(self)
    }
}

impl<T, E: fmt::Debug> Fallible for Result<T, E> {
    type Success = T;

    fn failure(&self) -> Option<&dyn fmt::Debug> {
        self.as_ref().err().map(|e| e as &dyn fmt::Debug)
    }

    fn into_success(self) -> Result<T, Self> {
        match self {
            Ok(value) => Ok(value),
            Err(e) => Err(Err(e)),
        }
    }
}

/// A task output the pool never counts as a failure, whatever it holds.
///
/// Two uses: returning a value of another crate's type (which cannot
/// implement [`Fallible`] in your crate), and opting a `Result` out of
/// being classified (its `Err` is then an ordinary value, not a failure).
/// It derefs to the value; take it out with `.0` or
/// [`into_inner`](Opaque::into_inner).
///
/// # Examples
///
/// ```
/// use taskpool::{Opaque, TaskPool};
///
/// let pool = TaskPool::new(1).unwrap();
/// let handle = pool.submit(async { Opaque(Err::<(), _>("expected")) }).unwrap();
/// assert_eq!(handle.wait().unwrap().into_inner(), Err("expected"));
/// assert_eq!(pool.stats().failed, 0, "an opaque value is never a failure");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Opaque<T>(pub T);

impl<T> Opaque<T> {
    /// The value inside.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(taskpool::Opaque(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Opaque<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Fallible for Opaque<T> {
    type Success = Opaque<T>;

    fn into_success(self) -> Result<Self, Self> {
        Ok(self)
    }
}

/// Values that never fail: a success is the value itself.
macro_rules! never_fails {
    ($([$($generics:tt)*] $ty:ty),* $(,)?) => {
        $(
            impl<$($generics)*> Fallible for $ty {
                type Success = $ty;

                fn into_success(self) -> Result<Self, Self> {
                    Ok(self)
                }
            }
        )*
    };
}

never_fails! {
    [] std::convert::Infallible,
    [] (), [] bool, [] char,
    [] u8, [] u16, [] u32, [] u64, [] u128, [] usize,
    [] i8, [] i16, [] i32, [] i64, [] i128, [] isize,
    [] f32, [] f64,
    [] String, [] &'static str, [] std::borrow::Cow<'static, str>,
    [] std::time::Duration, [] std::time::Instant, [] std::time::SystemTime,
    [] std::path::PathBuf, [] std::ffi::OsString,
    [] std::thread::ThreadId, [] std::net::SocketAddr, [] std::net::IpAddr,
    [] std::process::ExitStatus, [] std::process::Output,
    [] crate::TaskId,
    [T] Option<T>, [T] Vec<T>, [T] std::collections::VecDeque<T>,
    [T: ?Sized] Box<T>, [T: ?Sized] std::sync::Arc<T>, [T: ?Sized] std::rc::Rc<T>,
    [K, V, S] std::collections::HashMap<K, V, S>, [T, S] std::collections::HashSet<T, S>,
    [K, V] std::collections::BTreeMap<K, V>, [T] std::collections::BTreeSet<T>,
    [T, const N: usize] [T; N],
    [A] (A,), [A, B] (A, B), [A, B, C] (A, B, C), [A, B, C, D] (A, B, C, D),
    [A, B, C, D, E] (A, B, C, D, E), [A, B, C, D, E, G] (A, B, C, D, E, G),
}
