//! [`TaskPool::map`]: one task per input item, results in input order, with
//! a bounded look-ahead.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::Deadline;
use crate::builder::TaskBuilder;
use crate::error::{ConfigError, MapError, SubmitError, TaskError};
use crate::handle::TaskHandle;
use crate::pool::TaskPool;

/// What [`MapIter`] and [`MapStream`] yield: one item's value, the item's
/// task ending without one, or, once, why the map ended early.
type Item<Fut> = Result<<Fut as Future>::Output, MapError<Fut>>;

/// A submission in progress, for the async form.
type Submitting<Fut> =
    Pin<Box<dyn Future<Output = Result<TaskHandle<<Fut as Future>::Output>, SubmitError<Fut>>> + Send>>;

impl TaskPool {
    /// Runs `f(item)` as a task for each item and yields the outcomes in
    /// input order, keeping at most `buffer` tasks submitted ahead of the
    /// consumer. Python: `Executor.map(fn, items, timeout, buffersize)`.
    ///
    /// Lazy: nothing is submitted until the first item is asked for, and
    /// the input is read only as far as `buffer` allows, so a million-item
    /// iterator never queues a million tasks. Each item is one `Result`,
    /// at its position: `Ok(value)` (the value may be a typed `Err`,
    /// untouched), or a [`MapError`] whose
    /// [`task_error`](MapError::task_error) says why the item's task ended
    /// without a value (a panic, a per-item timeout, ...); either way the
    /// iteration goes on, as Python's re-raises each item's exception.
    ///
    /// The result is a blocking [`Iterator`] ([`MapIter`]) for plain
    /// threads; [`into_stream`](MapIter::into_stream) makes it a
    /// [`Stream`] for async code. [`timeout`](MapIter::timeout) bounds the
    /// whole iteration; [`task_timeout`](MapIter::task_timeout) and
    /// [`task_name`](MapIter::task_name) set each item's task options.
    ///
    /// Dropping the iterator, or its timeout passing, cancels the tasks it
    /// submitted and did not deliver: nobody else can see them.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroBuffer`] if `buffer` is zero: nothing could ever
    /// be submitted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(3).unwrap();
    /// let lengths: Vec<usize> = pool
    ///     .map(["a", "bb", "ccc"], 2, |word| async move {
    ///         // Later items finish first; the results still come in order.
    ///         futures_timer::Delay::new(Duration::from_millis(10 / word.len() as u64)).await;
    ///         word.len()
    ///     })
    ///     .unwrap()
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(lengths, [1, 2, 3]);
    ///
    /// assert!(pool.map([1], 0, |i| async move { i }).is_err());
    /// ```
    pub fn map<I, F, Fut>(&self, items: I, buffer: usize, f: F) -> Result<MapIter<I::IntoIter, F, Fut>, ConfigError>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: crate::Fallible + Send + 'static,
    {
        if buffer == 0 {
            return Err(ConfigError::ZeroBuffer);
        }
        Ok(MapIter {
            state: State {
                pool: self.clone(),
                items: Some(items.into_iter()),
                f,
                buffer,
                in_flight: VecDeque::with_capacity(buffer),
                delivered: 0,
                refused: None,
                task_name: None,
                task_timeout: None,
                deadline: Deadline::none(),
                ended: false,
            },
        })
    }
}

/// What both forms share: the input, the tasks in flight, the deadline.
struct State<I, F, Fut: Future> {
    pool: TaskPool,
    /// `None` once exhausted, or once the pool refused an item.
    items: Option<I>,
    f: F,
    buffer: usize,
    /// Submitted, not delivered; at most `buffer`.
    in_flight: VecDeque<TaskHandle<Fut::Output>>,
    /// Items delivered so far: the position of the next one.
    delivered: usize,
    /// The item the pool refused, delivered after those before it.
    refused: Option<SubmitError<Fut>>,
    /// Each item's task options.
    task_name: Option<Arc<str>>,
    task_timeout: Option<Duration>,
    deadline: Deadline,
    ended: bool,
}

impl<I, F, Fut> State<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: crate::Fallible + Send + 'static,
{
    /// The next item's future, if the buffer has room, the deadline has
    /// not passed and the input goes on.
    fn next_future(&mut self) -> Option<Fut> {
        let deadline_passed = self.deadline.instant().is_some_and(|d| Instant::now() >= d);
        if self.in_flight.len() >= self.buffer || deadline_passed {
            return None;
        }
        let item = self.items.as_mut()?.next();
        match item {
            Some(item) => Some((self.f)(item)),
            None => {
                self.items = None;
                None
            }
        }
    }

    fn accept(&mut self, submitted: Result<TaskHandle<Fut::Output>, SubmitError<Fut>>) {
        match submitted {
            Ok(handle) => self.in_flight.push_back(handle),
            Err(refused) => {
                self.items = None;
                self.refused = Some(refused);
            }
        }
    }

    fn deliver(&mut self, outcome: Result<Fut::Output, TaskError>) -> Item<Fut> {
        let index = self.delivered;
        self.delivered += 1;
        outcome.map_err(|error| MapError::task(index, error))
    }

    /// Nothing is in flight: the end, after the refused item if there was
    /// one.
    fn finish(&mut self) -> Option<Item<Fut>> {
        self.ended = true;
        let refused = self.refused.take()?;
        Some(Err(MapError::refused(self.delivered, refused)))
    }

    /// The deadline passed: cancel what was not delivered and end.
    fn time_out(&mut self) -> Item<Fut> {
        self.ended = true;
        self.items = None;
        self.cancel_in_flight();
        Err(MapError::timed_out(self.delivered))
    }
}

/// `builder` with each item's task options.
fn with_options<'p>(
    mut builder: TaskBuilder<'p>,
    name: &Option<Arc<str>>,
    timeout: Option<Duration>,
) -> TaskBuilder<'p> {
    if let Some(name) = name {
        builder = builder.name(Arc::clone(name));
    }
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder
}

impl<I, F, Fut: Future> State<I, F, Fut> {
    /// The pool's builder, with each item's task options.
    fn task_builder(&self) -> TaskBuilder<'_> {
        with_options(self.pool.build_task(), &self.task_name, self.task_timeout)
    }

    /// Cancels the tasks submitted and not delivered: nobody else can see
    /// them.
    fn cancel_in_flight(&mut self) {
        crate::engine::task::cancel_batch(self.in_flight.iter().map(TaskHandle::task_ref));
        self.in_flight.clear();
    }

    fn fmt(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("buffer", &self.buffer)
            .field("in_flight", &self.in_flight.len())
            .field("delivered", &self.delivered)
            .field("deadline", &self.deadline)
            .field("ended", &self.ended)
            .finish()
    }
}

impl<I, F, Fut: Future> Drop for State<I, F, Fut> {
    fn drop(&mut self) {
        self.cancel_in_flight();
    }
}

/// The blocking iterator [`TaskPool::map`] returns: one item per input
/// item, in input order.
///
/// Each item is `Ok(value)`, the task's value; a [`MapError`] for an item
/// whose task ended without a value (the iteration goes on); or, once, a
/// [`MapError`] when the timeout passes or the pool refuses an item, after
/// which the iteration ends. Dropping it cancels the tasks it submitted
/// and did not deliver.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let outcomes: Vec<_> = pool
///     .map(0..3, 1, |i| async move {
///         if i == 1 {
///             panic!("item {i}");
///         }
///         i
///     })
///     .unwrap()
///     .collect();
/// assert_eq!(*outcomes[0].as_ref().unwrap(), 0);
/// let failed = outcomes[1].as_ref().unwrap_err();
/// assert_eq!(failed.index(), 1);
/// assert!(failed.task_error().unwrap().is_panic()); // and the iteration went on
/// assert_eq!(*outcomes[2].as_ref().unwrap(), 2);
/// ```
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct MapIter<I, F, Fut: Future> {
    state: State<I, F, Fut>,
}

impl<I, F, Fut: Future> MapIter<I, F, Fut> {
    /// Bounds the whole iteration to `timeout` from now. When an item is
    /// not ready by then, the iteration yields one [`MapError`] (with
    /// [`is_timeout`](MapError::is_timeout)), cancels the tasks it
    /// submitted and did not deliver, and ends. Items ready in time are
    /// still delivered after the deadline. A timeout too large to
    /// represent means none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool
    ///     .map([()], 1, |_| std::future::pending::<()>())
    ///     .unwrap()
    ///     .timeout(Duration::from_millis(10));
    /// assert!(it.next().unwrap().unwrap_err().is_timeout());
    /// assert!(it.next().is_none());
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with_deadline(Deadline::after(timeout))
    }

    /// Bounds the whole iteration to `deadline`; see
    /// [`timeout`](MapIter::timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let it = pool
    ///     .map([1, 2], 1, |i| async move { i })
    ///     .unwrap()
    ///     .deadline(Instant::now() + Duration::from_secs(60));
    /// assert_eq!(it.map(Result::unwrap).sum::<i32>(), 3);
    /// ```
    pub fn deadline(self, deadline: Instant) -> Self {
        self.with_deadline(Deadline::at(deadline))
    }

    fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.state.deadline = deadline;
        self
    }

    /// Gives each item's task a run-time limit, as
    /// [`TaskBuilder::timeout`](crate::TaskBuilder::timeout) does: the
    /// clock starts when the task gets its permit. An item whose task runs
    /// past it comes as a [`MapError`] whose
    /// [`task_error`](MapError::task_error) is a timeout, and the
    /// iteration goes on. Python has no per-item timeout; it is
    /// `asyncio.wait_for` inside the mapped function. It applies to items
    /// submitted after the call: set it before the first `next`.
    ///
    /// A zero timeout cannot be honoured: the first item submitted with it
    /// is refused, and comes as a [`MapError`] with
    /// [`is_invalid_timeout`](MapError::is_invalid_timeout) (its future
    /// back in [`into_inner`](MapError::into_inner)), which ends the
    /// iteration. A timeout of a hundred years or more means none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let mut it = pool
    ///     .map([false, true], 1, |stuck| async move {
    ///         if stuck {
    ///             std::future::pending::<()>().await;
    ///         }
    ///         "done"
    ///     })
    ///     .unwrap()
    ///     .task_timeout(Duration::from_millis(20));
    /// assert_eq!(it.next().unwrap().unwrap(), "done");
    /// let err = it.next().unwrap().unwrap_err();
    /// assert_eq!(err.index(), 1);
    /// assert!(err.task_error().unwrap().is_timeout());
    /// assert!(it.next().is_none());
    /// ```
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.state.task_timeout = Some(timeout);
        self
    }

    /// Names each item's task, as
    /// [`TaskBuilder::name`](crate::TaskBuilder::name) does, for logs,
    /// errors and `Debug`. Python: the `name` of `asyncio.create_task`. It
    /// applies to items submitted after the call: set it before the first
    /// `next`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool.map([()], 1, |_| async { panic!("boom") as () }).unwrap().task_name("resize");
    /// let err = it.next().unwrap().unwrap_err();
    /// assert_eq!(err.task_error().unwrap().name(), Some("resize"));
    /// ```
    pub fn task_name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.state.task_name = Some(name.into());
        self
    }

    /// The same map as a [`Stream`], for async code: it submits with
    /// [`submit_async`](TaskPool::submit_async), so a full queue makes it
    /// wait without blocking. The timeouts and task name, if set, carry
    /// over.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let inner = pool.clone();
    /// let collected = pool.submit(async move {
    ///     let mut stream = inner.map(1..=3, 2, |i| async move { i * 10 }).unwrap().into_stream();
    ///     let mut out = Vec::new();
    ///     while let Some(item) = stream.next().await {
    ///         out.push(item.unwrap());
    ///     }
    ///     out
    /// });
    /// assert_eq!(collected.unwrap().wait().unwrap(), [10, 20, 30]);
    /// ```
    pub fn into_stream(self) -> MapStream<I, F, Fut> {
        MapStream {
            state: self.state,
            submitting: None,
        }
    }
}

impl<I, F, Fut> Iterator for MapIter<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: crate::Fallible + Send + 'static,
{
    type Item = Item<Fut>;

    /// Submits items until `buffer` are in flight, then blocks until the
    /// next one in input order is done or the timeout passes.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of the
    /// executor that runs the tasks (see [`TaskHandle`]). Use
    /// [`into_stream`](MapIter::into_stream) inside tasks.
    fn next(&mut self) -> Option<Item<Fut>> {
        let state = &mut self.state;
        if state.ended {
            return None;
        }
        while let Some(future) = state.next_future() {
            let submitted = state.task_builder().submit(future);
            state.accept(submitted);
        }
        let Some(front) = state.in_flight.front_mut() else {
            // Nothing in flight though the input goes on: the deadline
            // passed before the next item could be submitted.
            if state.items.is_some() {
                return Some(state.time_out());
            }
            return state.finish();
        };
        if !front.is_finished() {
            crate::engine::run::forbid_blocking_in_task("a blocking `MapIter::next`", "use `into_stream()` instead");
        }
        let waited = match state.deadline.instant() {
            Some(deadline) => front.wait_deadline(deadline),
            None => front.wait_timeout(std::time::Duration::MAX),
        };
        match waited {
            Ok(outcome) => {
                state.in_flight.pop_front();
                Some(state.deliver(outcome))
            }
            // The front task is cancelled with the rest, in one batch.
            Err(_) => Some(state.time_out()),
        }
    }
}

impl<I, F, Fut: Future> fmt::Debug for MapIter<I, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt("MapIter", f)
    }
}

/// The [`Stream`] form of [`TaskPool::map`], from
/// [`MapIter::into_stream`]. It yields the same items, without blocking.
///
/// Dropping it cancels the tasks it submitted and did not deliver, and
/// drops a submission still waiting for queue space (that item is never
/// submitted).
///
/// # Cancel safety
///
/// Dropping a pending [`next`](MapStream::next) loses nothing: the tasks
/// in flight and their outcomes stay with the stream.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let inner = pool.clone();
/// let first = pool.submit(async move {
///     let mut stream = inner.map(["x", "y"], 1, |s| async move { s.to_uppercase() }).unwrap().into_stream();
///     stream.next().await.unwrap().unwrap()
/// });
/// assert_eq!(first.unwrap().wait().unwrap(), "X");
/// ```
#[must_use = "streams are lazy and do nothing unless polled"]
pub struct MapStream<I, F, Fut: Future> {
    state: State<I, F, Fut>,
    submitting: Option<Submitting<Fut>>,
}

// The stream never pins its input, closure or futures: the futures are
// boxed or handed to the pool.
impl<I, F, Fut: Future> Unpin for MapStream<I, F, Fut> {}

impl<I, F, Fut> MapStream<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: crate::Fallible + Send + 'static,
{
    /// The next item, without needing a `StreamExt` trait in scope.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the returned future before it completes loses
    /// no item.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let inner = pool.clone();
    /// let done = pool.submit(async move {
    ///     let mut stream = inner.map([1], 1, |i| async move { i }).unwrap().into_stream();
    ///     assert_eq!(stream.next().await.unwrap().unwrap(), 1);
    ///     stream.next().await.is_none()
    /// });
    /// assert!(done.unwrap().wait().unwrap());
    /// ```
    pub async fn next(&mut self) -> Option<Item<Fut>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Moves submissions along until `buffer` items are in flight or one
    /// has to wait for queue space.
    fn top_up(&mut self, cx: &mut Context<'_>) {
        loop {
            if let Some(submitting) = &mut self.submitting {
                match submitting.as_mut().poll(cx) {
                    Poll::Pending => return,
                    Poll::Ready(submitted) => {
                        self.submitting = None;
                        self.state.accept(submitted);
                    }
                }
            }
            let Some(future) = self.state.next_future() else { return };
            let pool = self.state.pool.clone();
            let (name, timeout) = (self.state.task_name.clone(), self.state.task_timeout);
            self.submitting = Some(Box::pin(async move {
                with_options(pool.build_task(), &name, timeout)
                    .submit_async(future)
                    .await
            }));
        }
    }
}

impl<I, F, Fut> Stream for MapStream<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: crate::Fallible + Send + 'static,
{
    type Item = Item<Fut>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item<Fut>>> {
        let this = self.get_mut();
        if this.state.ended {
            return Poll::Ready(None);
        }
        this.top_up(cx);
        match this.state.in_flight.front_mut() {
            Some(front) => {
                if let Poll::Ready(outcome) = Pin::new(front).poll(cx) {
                    this.state.in_flight.pop_front();
                    return Poll::Ready(Some(this.state.deliver(outcome)));
                }
            }
            // As in the blocking form: an input that goes on means the
            // deadline passed before the next item could be submitted.
            None if this.submitting.is_none() && this.state.items.is_some() => {
                return Poll::Ready(Some(this.state.time_out()));
            }
            None if this.submitting.is_none() => return Poll::Ready(this.state.finish()),
            None => {}
        }
        if this.state.deadline.poll_passed(cx) {
            this.submitting = None;
            return Poll::Ready(Some(this.state.time_out()));
        }
        Poll::Pending
    }
}

impl<I, F, Fut: Future> fmt::Debug for MapStream<I, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt("MapStream", f)
    }
}
