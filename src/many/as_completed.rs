//! [`as_completed`]: outcomes in the order the tasks finish, as a blocking
//! iterator or a stream.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::watch::Watch;
use super::{Deadline, block_on, pools_of};
use crate::engine::shared::PoolId;
use crate::error::{AsCompletedError, TaskError};
use crate::handle::TaskHandle;

/// What [`AsCompletedIter`] and [`AsCompletedStream`] yield: a finished
/// task's input position and value, a task that ended without a value, or,
/// once, the timeout.
type Item<T> = Result<(usize, T), AsCompletedError<T>>;

/// A finished task's item.
fn item<T>((index, outcome): (usize, Result<T, TaskError>)) -> Item<T> {
    match outcome {
        Ok(value) => Ok((index, value)),
        Err(error) => Err(AsCompletedError::task(index, error)),
    }
}

/// Yields each task's value as soon as it finishes, in the order they
/// finish, with its position in the input. Python:
/// `concurrent.futures.as_completed(fs, timeout)`, `asyncio.as_completed`.
///
/// Each item is one `Result`: `Ok((index, value))` for a task that
/// returned a value (which may be a typed `Err`, untouched), or an
/// [`AsCompletedError`] — for a task that ended without a value (it
/// panicked, was cancelled, timed out or never ran; see
/// [`AsCompletedError::task_error`]), after which the iteration goes on,
/// or once for the timeout, after which it ends. Python raises both in the
/// same loop too.
///
/// The result is a blocking [`Iterator`] for plain threads; turn it into a
/// [`Stream`] for async code with
/// [`into_stream`](AsCompletedIter::into_stream). Tasks already finished
/// come first, in input order; an empty input ends at once.
///
/// With a [`timeout`](AsCompletedIter::timeout) (counted from that call)
/// or a [`deadline`](AsCompletedIter::deadline), when time runs out it
/// yields one [`AsCompletedError`] holding the handles not yielded yet
/// ([`is_timeout`](AsCompletedError::is_timeout)), then ends. Nothing is
/// ever cancelled.
///
/// # Panics
///
/// Panics with "`TaskHandle` polled after its outcome was taken" if one of
/// the handles was already awaited (through `&mut handle`) to completion:
/// its outcome is gone, so it is refused here, at the call.
///
/// # Examples
///
/// ```
/// use taskpool::TaskPool;
///
/// let pool = TaskPool::new(3).unwrap();
/// let (tx, rx) = async_channel::unbounded::<()>();
/// let handles = vec![
///     pool.submit({ let rx = rx.clone(); async move { rx.recv().await.unwrap(); "second" } }).unwrap(),
///     pool.submit(async { "first" }).unwrap(),
/// ];
/// let mut results = taskpool::as_completed(handles);
/// assert_eq!(results.next().unwrap().unwrap(), (1, "first"));
/// tx.send_blocking(()).unwrap();
/// assert_eq!(results.next().unwrap().unwrap(), (0, "second"));
/// assert!(results.next().is_none());
/// ```
pub fn as_completed<I, T>(handles: I) -> AsCompletedIter<T>
where
    I: IntoIterator<Item = TaskHandle<T>>,
{
    let handles: Vec<TaskHandle<T>> = handles.into_iter().collect();
    let mut watch = Watch::new();
    for handle in &handles {
        watch.add(handle.core());
    }
    AsCompletedIter {
        state: State {
            pools: pools_of(handles.iter().map(TaskHandle::core)),
            handles: handles.into_iter().map(Some).collect(),
            watch,
            deadline: Deadline::none(),
            ended: false,
        },
    }
}

/// What both forms share.
struct State<T> {
    /// `None` once yielded or handed back.
    handles: Vec<Option<TaskHandle<T>>>,
    pools: Vec<PoolId>,
    watch: Watch,
    deadline: Deadline,
    /// Every task was yielded, or the timeout was.
    ended: bool,
}

impl<T> State<T> {
    /// The next task to finish; `Ready(None)` when all were yielded.
    fn poll_finished(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Result<T, TaskError>)>> {
        match self.watch.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(index)) => {
                let handle = self.handles[index].take().expect("each task is reported once");
                let outcome = handle.take_finished().expect("a reported task has finished");
                Poll::Ready(Some((index, outcome)))
            }
        }
    }

    /// Ends the iteration with the handles not yielded yet.
    fn time_out(&mut self) -> AsCompletedError<T> {
        self.ended = true;
        let unfinished = self
            .handles
            .iter_mut()
            .enumerate()
            .filter_map(|(index, slot)| slot.take().map(|handle| (index, handle)))
            .collect();
        AsCompletedError::timed_out(unfinished)
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Item<T>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.poll_finished(cx) {
            Poll::Ready(finished) => Poll::Ready(finished.map(item)),
            Poll::Pending if self.deadline.poll_passed(cx) => Poll::Ready(Some(Err(self.time_out()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn fmt(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("tasks", &self.watch.len())
            .field("remaining", &self.handles.iter().filter(|h| h.is_some()).count())
            .field("deadline", &self.deadline)
            .field("ended", &self.ended)
            .finish()
    }
}

/// The blocking iterator [`as_completed`] returns.
///
/// Each item is `Ok((index, value))` for a task that returned a value, an
/// [`AsCompletedError`] for a task that ended without one (the iteration
/// goes on), or, once, an [`AsCompletedError`] when the timeout passes
/// (the iteration ends). Dropping it drops the handles not yielded yet,
/// which detaches their tasks (see [`TaskHandle`]).
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let handles: Vec<_> = (0..4).map(|i| pool.submit(async move { i * 10 }).unwrap()).collect();
/// let mut seen: Vec<i32> = taskpool::as_completed(handles)
///     .map(|item| item.unwrap().1)
///     .collect();
/// seen.sort();
/// assert_eq!(seen, [0, 10, 20, 30]);
/// ```
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct AsCompletedIter<T> {
    state: State<T>,
}

impl<T> AsCompletedIter<T> {
    /// Gives up `timeout` from now: the iteration then yields one
    /// [`AsCompletedError`] with the handles not yielded, and ends.
    /// `Duration::ZERO` yields what is already finished, then the error; a
    /// timeout too large to represent means none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let stuck = pool.submit(std::future::pending::<()>()).unwrap();
    /// let mut it = taskpool::as_completed([stuck]).timeout(Duration::from_millis(10));
    /// assert!(it.next().unwrap().is_err());
    /// assert!(it.next().is_none());
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with_deadline(Deadline::after(timeout))
    }

    /// Gives up at `deadline`; see [`timeout`](AsCompletedIter::timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { 7 }).unwrap();
    /// let mut it = taskpool::as_completed([handle]).deadline(Instant::now() + Duration::from_secs(60));
    /// assert_eq!(it.next().unwrap().unwrap(), (0, 7));
    /// ```
    pub fn deadline(self, deadline: Instant) -> Self {
        self.with_deadline(Deadline::at(deadline))
    }

    fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.state.deadline = deadline;
        self
    }

    /// The same iteration as a [`Stream`], for async code; the timeout, if
    /// set, carries over.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let inner = pool.clone();
    /// let total = pool.submit(async move {
    ///     let handles: Vec<_> = (1..=3).map(|i| inner.submit(async move { i }).unwrap()).collect();
    ///     let mut stream = taskpool::as_completed(handles).into_stream();
    ///     let mut total = 0;
    ///     while let Some(item) = stream.next().await {
    ///         total += item.unwrap().1;
    ///     }
    ///     total
    /// });
    /// assert_eq!(total.unwrap().wait().unwrap(), 6);
    /// ```
    pub fn into_stream(self) -> AsCompletedStream<T> {
        AsCompletedStream { state: self.state }
    }
}

impl<T> Iterator for AsCompletedIter<T> {
    type Item = Item<T>;

    /// Blocks until the next task finishes or the timeout passes.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of an
    /// executor that runs one of the tasks: that would deadlock. Use
    /// [`into_stream`](AsCompletedIter::into_stream) inside tasks.
    fn next(&mut self) -> Option<Item<T>> {
        let state = &mut self.state;
        if state.ended {
            return None;
        }
        let deadline = state.deadline.instant();
        let pools = state.pools.clone();
        match block_on(|cx| state.poll_finished(cx), deadline, pools, "tasks") {
            Some(finished) => finished.map(item),
            None => Some(Err(state.time_out())),
        }
    }
}

impl<T> fmt::Debug for AsCompletedIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt("AsCompletedIter", f)
    }
}

/// The [`Stream`] form of [`as_completed`], from
/// [`AsCompletedIter::into_stream`]. It yields the same items, without
/// blocking.
///
/// # Cancel safety
///
/// Dropping a pending [`next`](AsCompletedStream::next) loses nothing: the
/// outcome stays with the stream. Dropping the stream drops the handles not
/// yielded yet, which detaches their tasks.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(3).unwrap(); // the outer task, and two inner ones
/// let inner = pool.clone();
/// let first = pool.submit(async move {
///     let handles = vec![inner.submit(std::future::pending::<u8>()).unwrap(), inner.submit(async { 5 }).unwrap()];
///     let mut stream = taskpool::as_completed(handles).into_stream();
///     stream.next().await.unwrap().unwrap()
/// });
/// assert_eq!(first.unwrap().wait().unwrap(), (1, 5));
/// ```
#[must_use = "streams are lazy and do nothing unless polled"]
pub struct AsCompletedStream<T> {
    state: State<T>,
}

impl<T> AsCompletedStream<T> {
    /// The next item, without needing a `StreamExt` trait in scope.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the returned future before it completes loses
    /// no outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let inner = pool.clone();
    /// let item = pool.submit(async move {
    ///     let mut stream = taskpool::as_completed([inner.submit(async { 3 }).unwrap()]).into_stream();
    ///     let first = stream.next().await.unwrap().unwrap();
    ///     (first.1, stream.next().await.is_none())
    /// });
    /// assert_eq!(item.unwrap().wait().unwrap(), (3, true));
    /// ```
    pub async fn next(&mut self) -> Option<Item<T>> {
        std::future::poll_fn(|cx| self.state.poll_item(cx)).await
    }
}

impl<T> Stream for AsCompletedStream<T> {
    type Item = Item<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item<T>>> {
        self.get_mut().state.poll_item(cx)
    }
}

impl<T> fmt::Debug for AsCompletedStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt("AsCompletedStream", f)
    }
}
