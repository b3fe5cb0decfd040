//! Model-based property test: random sequences of operations drive a real
//! `DaemonExecutor`, and a plain reference model predicts, after every
//! step, what the pool must look like.
//!
//! Tasks are scripted: each one reports its start, then waits for a
//! command (finish with a value, an `Err`, a panic, or after a short sleep).
//! The test sends commands, so the model knows which task can end when.
//! After every step the test waits (bounded) until the pool's exact stats
//! equal the model's, then checks handles; at the end it checks the start
//! order (FIFO), that every task resolved exactly once, that all permits
//! are back and that the daemon thread has exited.
//!
//! `MODEL_TRACE=1 cargo test --test model` prints every step with the
//! pool's stats, for debugging a failing sequence.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use taskpool::{DaemonExecutor, ShutdownMode, Stats, TaskError, TaskHandle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Value,
    Err,
    Panic,
    /// Sleeps a little after its command, then returns a value.
    Long,
    /// Gets no command until the end of the run.
    Never,
}

#[derive(Clone, Debug)]
enum Op {
    Submit(Kind),
    SubmitFromThread(Kind),
    /// Commands a task; with `true`, then waits for its handle at once.
    Finish(usize, bool),
    Cancel(usize),
    Wait(usize, u8),
    Drop(usize),
    Resize(usize),
}

#[derive(Clone, Copy, Debug)]
enum End {
    Drain,
    CancelPending,
    Deadline,
    DropExecutor,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => Just(Kind::Value),
        1 => Just(Kind::Err),
        1 => Just(Kind::Panic),
        1 => Just(Kind::Long),
        1 => Just(Kind::Never),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => kind().prop_map(Op::Submit),
        1 => kind().prop_map(Op::SubmitFromThread),
        4 => (any::<usize>(), any::<bool>()).prop_map(|(i, wait)| Op::Finish(i, wait)),
        2 => any::<usize>().prop_map(Op::Cancel),
        2 => (any::<usize>(), 0_u8..3).prop_map(|(i, ms)| Op::Wait(i, ms)),
        1 => any::<usize>().prop_map(Op::Drop),
        1 => (1_usize..=4).prop_map(Op::Resize),
    ]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        Just(End::Drain),
        Just(End::CancelPending),
        Just(End::Deadline),
        Just(End::DropExecutor)
    ]
}

/// What a task ended with, as the model sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Value,
    Err,
    Panic,
    Cancelled,
    Shutdown,
}

impl Outcome {
    fn of(kind: Kind) -> Outcome {
        match kind {
            Kind::Value | Kind::Long | Kind::Never => Outcome::Value,
            Kind::Err => Outcome::Err,
            Kind::Panic => Outcome::Panic,
        }
    }

    fn observed(id: usize, outcome: &Result<Result<usize, usize>, TaskError>) -> Outcome {
        match outcome {
            Ok(Ok(v)) if *v == id => Outcome::Value,
            Ok(Err(v)) if *v == id => Outcome::Err,
            Err(e) if e.is_panic() => Outcome::Panic,
            Err(e) if e.is_cancelled() => Outcome::Cancelled,
            Err(e) if e.is_shutdown() => Outcome::Shutdown,
            other => panic!("task {id} resolved to something no task chose: {other:?}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Queued,
    Running,
    /// Ended; `None` while it is still undecided between its own outcome
    /// and a cancel that raced with it (settled when observed).
    Done(Option<Outcome>),
}

#[derive(Debug)]
struct MTask {
    kind: Kind,
    state: State,
    /// A command was sent: the task ends as soon as it runs.
    commanded: bool,
}

/// The reference model: a FIFO queue under a resizable limit.
#[derive(Debug)]
struct Model {
    limit: usize,
    tasks: Vec<MTask>,
    starts: Vec<usize>,
}

impl Model {
    fn running(&self) -> usize {
        self.tasks.iter().filter(|t| t.state == State::Running).count()
    }

    /// Starts queued tasks in order while there is room; a commanded task
    /// ends as soon as it starts, which makes room again.
    fn pump(&mut self) {
        loop {
            if self.running() >= self.limit {
                return;
            }
            let Some(next) = self.tasks.iter().position(|t| t.state == State::Queued) else {
                return;
            };
            self.starts.push(next);
            let task = &mut self.tasks[next];
            task.state = if task.commanded {
                State::Done(Some(Outcome::of(task.kind)))
            } else {
                State::Running
            };
        }
    }

    fn expected_stats(&self) -> (u64, u64, u64, u64) {
        let count = |f: &dyn Fn(&State) -> bool| self.tasks.iter().filter(|t| f(&t.state)).count() as u64;
        (
            count(&|s| *s == State::Queued),
            count(&|s| *s == State::Running),
            self.tasks.len() as u64,
            count(&|s| matches!(s, State::Done(_))),
        )
    }
}

/// The real side of one task.
struct RTask {
    handle: Option<TaskHandle<Result<usize, usize>>>,
    command: async_channel::Sender<Kind>,
}

struct Harness {
    executor: Option<Arc<DaemonExecutor>>,
    tasks: Vec<RTask>,
    started_rx: async_channel::Receiver<usize>,
    started_tx: async_channel::Sender<usize>,
    exited: mpsc::Receiver<()>,
    /// Tasks submitted outside the model (the permit check).
    extra: usize,
}

/// How long the test waits for the pool to reach the model's state: far
/// more than any correct pool needs, so only a broken pool fails it.
const SETTLE: Duration = Duration::from_secs(10);

impl Harness {
    fn new(limit: usize) -> Harness {
        let executor = DaemonExecutor::builder()
            .limit(limit)
            .thread_name("model-daemon")
            .build()
            .unwrap();
        let exited = common::watch_thread_exit(&executor);
        let (started_tx, started_rx) = async_channel::unbounded();
        Harness {
            executor: Some(Arc::new(executor)),
            tasks: Vec::new(),
            started_rx,
            started_tx,
            exited,
            extra: 0,
        }
    }

    fn executor(&self) -> &DaemonExecutor {
        self.executor.as_ref().unwrap()
    }

    fn stats(&self) -> Stats {
        self.executor().pool().stats()
    }

    fn submit(&mut self, from_thread: bool) {
        let id = self.tasks.len();
        let (command, commands) = async_channel::unbounded::<Kind>();
        let started = self.started_tx.clone();
        let task = async move {
            started.send(id).await.unwrap();
            match commands.recv().await.unwrap() {
                Kind::Value | Kind::Never => Ok(id),
                Kind::Err => Err(id),
                Kind::Panic => panic!("planned panic {id}"),
                Kind::Long => {
                    futures_timer::Delay::new(Duration::from_micros(300)).await;
                    Ok(id)
                }
            }
        };
        let pool = self.executor().pool().clone();
        let submit = move || pool.build_task().submit(task).unwrap();
        let handle = if from_thread {
            std::thread::spawn(submit).join().unwrap()
        } else {
            submit()
        };
        self.tasks.push(RTask {
            handle: Some(handle),
            command,
        });
    }

    /// Waits until the pool's counts equal the model's.
    fn settle(&self, model: &Model) -> Result<(), TestCaseError> {
        let (queued, running, submitted, finished) = model.expected_stats();
        let deadline = Instant::now() + SETTLE;
        loop {
            let s = self.stats();
            if (s.queued, s.running, s.submitted, s.finished()) == (queued, running, submitted, finished) {
                // Running above the limit only while a shrink drains, which
                // the model's own running count already pins down.
                prop_assert_eq!(s.limit, model.limit);
                return Ok(());
            }
            if Instant::now() > deadline {
                prop_assert!(
                    false,
                    "the pool never reached the model's state:\npool  {s:?}\nmodel {model:#?}"
                );
            }
            std::thread::yield_now();
        }
    }

    /// Checks a handle's outcome against the model and records it.
    fn observe(
        model: &mut Model,
        id: usize,
        outcome: &Result<Result<usize, usize>, TaskError>,
    ) -> Result<(), TestCaseError> {
        let seen = Outcome::observed(id, outcome);
        match model.tasks[id].state {
            State::Done(Some(expected)) => prop_assert_eq!(seen, expected, "task {}", id),
            State::Done(None) => {
                let own = Outcome::of(model.tasks[id].kind);
                prop_assert!(seen == own || seen == Outcome::Cancelled, "task {id}: {seen:?}");
                model.tasks[id].state = State::Done(Some(seen));
            }
            state => prop_assert!(false, "task {id} resolved while the model has it {state:?}"),
        }
        Ok(())
    }

    fn step(&mut self, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
        let n = self.tasks.len();
        if std::env::var_os("MODEL_TRACE").is_some() {
            eprintln!("step {op:?} (n = {n}); pool {:?}", self.stats());
        }
        match *op {
            Op::Submit(kind) | Op::SubmitFromThread(kind) => {
                self.submit(matches!(op, Op::SubmitFromThread(_)));
                model.tasks.push(MTask {
                    kind,
                    state: State::Queued,
                    commanded: false,
                });
                model.pump();
            }
            Op::Finish(i, wait) if n > 0 => {
                let id = i % n;
                let task = &mut model.tasks[id];
                if task.kind == Kind::Never || task.commanded || matches!(task.state, State::Done(_)) {
                    return Ok(());
                }
                self.tasks[id].command.try_send(task.kind).unwrap();
                task.commanded = true;
                if task.state == State::Running {
                    task.state = State::Done(Some(Outcome::of(task.kind)));
                    model.pump();
                    if let Some(handle) = self.tasks[id].handle.take_if(|_| wait) {
                        let outcome = handle.wait();
                        Self::observe(model, id, &outcome)?;
                    }
                }
            }
            Op::Cancel(i) if n > 0 => {
                let id = i % n;
                let Some(handle) = self.tasks[id].handle.as_ref() else {
                    return Ok(());
                };
                let took_effect = handle.cancel();
                let task = &mut model.tasks[id];
                match task.state {
                    State::Queued | State::Running => {
                        prop_assert!(took_effect, "cancel of a live task {id} must take effect");
                        task.state = State::Done(Some(Outcome::Cancelled));
                        model.pump();
                    }
                    State::Done(Some(outcome)) => {
                        prop_assert_eq!(took_effect, outcome == Outcome::Cancelled, "task {}", id)
                    }
                    State::Done(None) => {}
                }
            }
            Op::Wait(i, ms) if n > 0 => {
                let id = i % n;
                let Some(handle) = self.tasks[id].handle.as_mut() else {
                    return Ok(());
                };
                match handle.wait_timeout(Duration::from_millis(u64::from(ms))) {
                    Ok(outcome) => {
                        self.tasks[id].handle = None;
                        prop_assert!(
                            matches!(model.tasks[id].state, State::Done(_)),
                            "task {id} resolved early"
                        );
                        Self::observe(model, id, &outcome)?;
                    }
                    Err(_elapsed) => {
                        prop_assert!(
                            !matches!(model.tasks[id].state, State::Done(_)),
                            "task {id} is done but the wait timed out"
                        );
                    }
                }
            }
            Op::Drop(i) if n > 0 => {
                drop(self.tasks[i % n].handle.take());
            }
            Op::Resize(limit) => {
                self.executor().pool().set_limit(limit).unwrap();
                model.limit = limit;
                model.pump();
            }
            _ => {}
        }
        self.settle(model)
    }

    /// Sends every task still waiting its command (a `Never` task finishes
    /// with a value now).
    fn command_all(&mut self, model: &mut Model, which: impl Fn(&State) -> bool) {
        for (id, task) in model.tasks.iter_mut().enumerate() {
            if which(&task.state) && !task.commanded {
                self.tasks[id].command.try_send(task.kind).unwrap();
                task.commanded = true;
                if task.state == State::Running {
                    task.state = State::Done(Some(Outcome::of(task.kind)));
                }
            }
        }
        model.pump();
    }

    fn end(&mut self, model: &mut Model, end: End) -> Result<(), TestCaseError> {
        let live = |s: &State| matches!(s, State::Queued | State::Running);
        match end {
            End::Drain | End::DropExecutor => {
                // Let everything finish, prove all permits are free, stop.
                self.command_all(model, live);
                self.settle(model)?;
                self.assert_all_permits_free();
                match end {
                    End::Drain => self.executor().shutdown(ShutdownMode::Drain).wait(),
                    _ => drop(self.executor.take()),
                }
            }
            End::CancelPending => {
                let stopper = {
                    let executor = Arc::clone(self.executor.as_ref().unwrap());
                    std::thread::spawn(move || executor.shutdown(ShutdownMode::CancelPending).wait())
                };
                for task in model.tasks.iter_mut().filter(|t| t.state == State::Queued) {
                    task.state = State::Done(Some(Outcome::Shutdown));
                }
                // Wait for the queue to be ended before letting the running
                // tasks finish: a permit freed earlier could start one.
                let expected = model
                    .tasks
                    .iter()
                    .filter(|t| t.state == State::Done(Some(Outcome::Shutdown)))
                    .count();
                let deadline = Instant::now() + SETTLE;
                while self.stats().shut_down < expected as u64 {
                    prop_assert!(
                        Instant::now() < deadline,
                        "queued tasks were not ended: {:?}",
                        self.stats()
                    );
                    std::thread::yield_now();
                }
                let started = model.starts.len();
                self.command_all(model, |s| *s == State::Running);
                prop_assert_eq!(model.starts.len(), started, "nothing starts after cancel-pending");
                stopper.join().unwrap();
            }
            End::Deadline => {
                for task in model.tasks.iter_mut() {
                    match task.state {
                        State::Queued => task.state = State::Done(Some(Outcome::Shutdown)),
                        State::Running => task.state = State::Done(Some(Outcome::Cancelled)),
                        State::Done(_) => {}
                    }
                }
                self.executor().shutdown(ShutdownMode::Deadline(Duration::ZERO)).wait();
            }
        }
        // The daemon thread has exited, every handle resolves once, and the
        // counts add up.
        self.exited
            .recv_timeout(SETTLE)
            .map_err(|_| TestCaseError::fail("the daemon thread did not exit"))?;
        for id in 0..self.tasks.len() {
            if let Some(handle) = self.tasks[id].handle.take() {
                let outcome = handle.wait();
                Self::observe(model, id, &outcome)?;
            }
        }
        if let Some(executor) = &self.executor {
            let s = executor.pool().stats();
            prop_assert_eq!((s.queued, s.running), (0, 0));
            prop_assert_eq!(s.submitted, (self.tasks.len() + self.extra) as u64);
            prop_assert_eq!(s.finished(), s.submitted, "every task resolved exactly once");
        }
        let mut started = Vec::new();
        while let Ok(id) = self.started_rx.try_recv() {
            started.push(id);
        }
        // FIFO: the tasks whose bodies ran did so in the model's start order.
        // A task cancelled right after its start may be dropped before its
        // first poll, so it may be missing; every other started task is there.
        let mut expected = model.starts.iter().copied().peekable();
        for id in &started {
            while expected.next_if(|e| e != id).is_some() {}
            prop_assert_eq!(
                expected.next(),
                Some(*id),
                "start order {:?} vs model {:?}",
                started,
                model.starts
            );
        }
        for id in &model.starts {
            let cancelled = model.tasks[*id].state == State::Done(Some(Outcome::Cancelled));
            prop_assert!(
                cancelled || started.contains(id),
                "task {id} started in the model, not in the pool"
            );
        }
        Ok(())
    }

    /// All `limit` permits are free: that many tasks run at once.
    fn assert_all_permits_free(&mut self) {
        let limit = self.executor().pool().limit();
        self.extra += limit;
        let (go_tx, go_rx) = async_channel::unbounded::<()>();
        let (in_tx, in_rx) = async_channel::unbounded::<()>();
        let handles: Vec<_> = (0..limit)
            .map(|_| {
                let (go, inside) = (go_rx.clone(), in_tx.clone());
                self.executor()
                    .pool()
                    .submit(async move {
                        inside.send(()).await.unwrap();
                        let _ = go.recv().await;
                    })
                    .unwrap()
            })
            .collect();
        for _ in 0..limit {
            in_rx.recv_blocking().unwrap();
        }
        go_tx.close();
        handles.into_iter().for_each(|h| h.wait().unwrap());
    }
}

impl Drop for Harness {
    /// A failed step leaves tasks waiting for commands that will never
    /// come: end them, so that the failure is reported instead of a hang.
    fn drop(&mut self) {
        if let Some(executor) = &self.executor {
            executor.shutdown(ShutdownMode::Deadline(Duration::ZERO)).wait();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/model.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_pool_behaves_like_its_model(
        limit in 1_usize..=4,
        ops in prop::collection::vec(op(), 0..40),
        end in end(),
    ) {
        common::quiet_planned_panics();
        common::watchdog_for(Duration::from_secs(20), move || {
            let mut harness = Harness::new(limit);
            let mut model = Model { limit, tasks: Vec::new(), starts: Vec::new() };
            // The exit watcher ran as task 0 of the pool: count it.
            model.tasks.push(MTask { kind: Kind::Value, state: State::Done(Some(Outcome::Value)), commanded: true });
            model.starts.push(0);
            harness.tasks.push(RTask { handle: None, command: async_channel::unbounded().0 });
            harness.started_tx.try_send(0).unwrap();
            for op in &ops {
                harness.step(&mut model, op)?;
            }
            harness.end(&mut model, end)
        })?;
    }
}
