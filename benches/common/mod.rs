//! What the benches share: the trivial task every group runs, and the
//! baselines a user would pick instead of the pool.
#![allow(dead_code)] // Each bench binary uses a different subset.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A task that yields once: the smallest task that still goes back to its
/// executor.
pub fn yield_once() -> YieldOnce {
    YieldOnce(false)
}

pub struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A thread fed futures over a channel; what it does with them is the
/// baseline. Results come back over a one-shot channel per task.
pub struct FedThread {
    tx: async_channel::Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FedThread {
    fn new(body: impl FnOnce(async_channel::Receiver<Job>) + Send + 'static) -> FedThread {
        let (tx, rx) = async_channel::unbounded::<Job>();
        let thread = std::thread::spawn(move || body(rx));
        FedThread {
            tx,
            thread: Some(thread),
        }
    }

    /// The bare hand-off: a thread running `block_on` that spawns each
    /// future on its local executor. No limiter, no handles.
    pub fn bare() -> FedThread {
        FedThread::new(|rx| {
            async_std::task::block_on(async move {
                while let Ok(job) = rx.recv().await {
                    async_std::task::spawn_local(job);
                }
            })
        })
    }

    /// A naive async-std dispatcher: a thread running `block_on` spawns
    /// each future on async-std's global executor, under a channel-permit
    /// limit of `limit` tokens.
    pub fn naive_dispatcher(limit: usize) -> FedThread {
        FedThread::new(move |rx| {
            async_std::task::block_on(async move {
                let (token_tx, token_rx) = async_channel::bounded::<()>(limit);
                for _ in 0..limit {
                    token_tx.try_send(()).unwrap();
                }
                while let Ok(job) = rx.recv().await {
                    token_rx.recv().await.unwrap();
                    let token_tx = token_tx.clone();
                    async_std::task::spawn(async move {
                        job.await;
                        let _ = token_tx.try_send(());
                    });
                }
            })
        })
    }

    /// Sends `future` to the thread; the receiver yields its output.
    pub fn submit<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> async_channel::Receiver<T> {
        let (done_tx, done_rx) = async_channel::bounded(1);
        let job: Job = Box::pin(async move {
            let _ = done_tx.send(future.await).await;
        });
        self.tx.try_send(job).unwrap();
        done_rx
    }
}

impl Drop for FedThread {
    fn drop(&mut self) {
        self.tx.close();
        self.thread.take().unwrap().join().unwrap();
    }
}

/// A tokio multi-thread runtime with one worker per core, and a semaphore:
/// the tokio way to run at most `limit` tasks at once.
pub struct TokioLimited {
    pub rt: tokio::runtime::Runtime,
    pub semaphore: Arc<tokio::sync::Semaphore>,
}

impl TokioLimited {
    pub fn new(limit: usize) -> TokioLimited {
        TokioLimited {
            rt: tokio::runtime::Builder::new_multi_thread().build().unwrap(),
            semaphore: Arc::new(tokio::sync::Semaphore::new(limit)),
        }
    }

    /// Spawns `future` under a permit, from any thread.
    pub fn spawn<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        let semaphore = Arc::clone(&self.semaphore);
        self.rt.spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            future.await
        })
    }
}

/// tokio's single-threaded runtime on a thread of its own, with a
/// semaphore: the one-thread design of `DaemonExecutor`, the tokio way.
pub struct TokioOneThread {
    handle: tokio::runtime::Handle,
    semaphore: Arc<tokio::sync::Semaphore>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokioOneThread {
    pub fn new(limit: usize) -> TokioOneThread {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            handle_tx.send(rt.handle().clone()).unwrap();
            rt.block_on(async {
                let _ = stopped.await;
            });
        });
        TokioOneThread {
            handle: handle_rx.recv().unwrap(),
            semaphore: Arc::new(tokio::sync::Semaphore::new(limit)),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Spawns `future` under a permit, from any thread.
    pub fn spawn<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        let semaphore = Arc::clone(&self.semaphore);
        self.handle.spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            future.await
        })
    }
}

impl Drop for TokioOneThread {
    fn drop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().unwrap();
    }
}
