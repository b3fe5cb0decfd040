//! The smol side of the shared bench code (feature `smol`): the body with
//! smol's yield, a multi-threaded `smol::Executor`, the crate's pool on it,
//! and the smol peers of `benches/runtimes.rs`:
//!
//! - A_smol: `Executor::spawn` of every body, no limit, then await every
//!   `Task` in order (the smol analogue of A);
//! - C_smol: the same with a limit, C's contract on smol: for each task
//!   `acquire_arc` a permit of one `smol::lock::Semaphore(N)` (async-lock,
//!   re-exported by smol), then spawn the body holding it;
//! - C_plain_smol: C_plain on smol: the plain thread spawns each task onto
//!   the executor, each task first awaits that semaphore.

use super::*;

/// The body with smol's yield (`smol::future::yield_now`, futures-lite's),
/// for the crate's side on smol and every smol peer.
pub async fn body_smol(i: u64) -> u64 {
    enter();
    smol::future::yield_now().await;
    leave();
    i + 1
}

/// A `smol::Executor` run by `threads` threads (each
/// `smol::block_on(ex.run(..))`) until dropped: the multi-threaded executor
/// a smol user builds. The crate's pool and the peers of a comparison share
/// it, so the same threads run both sides.
pub struct SmolThreads {
    pub ex: Arc<smol::Executor<'static>>,
    stop: async_channel::Sender<()>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl SmolThreads {
    /// One thread per core, after one warm-up round trip.
    pub fn per_core() -> SmolThreads {
        SmolThreads::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn new(threads: usize) -> SmolThreads {
        let ex = Arc::new(smol::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..threads)
            .map(|k| {
                let ex = Arc::clone(&ex);
                let stopped = stopped.clone();
                std::thread::Builder::new()
                    .name(format!("bench-smol-{k}"))
                    .spawn(move || {
                        let _ = smol::block_on(ex.run(stopped.recv()));
                    })
                    .unwrap()
            })
            .collect();
        // One warm-up round trip, outside every clock.
        assert_eq!(smol::block_on(ex.spawn(body_smol(0))), 1);
        SmolThreads { ex, stop, threads }
    }
}

impl Drop for SmolThreads {
    fn drop(&mut self) {
        self.stop.close();
        for thread in self.threads.drain(..) {
            thread.join().unwrap();
        }
    }
}

/// A `TaskPool` with limit `n` on `threads`' executor
/// (`TaskPoolBuilder::smol_executor`), after one warm-up round trip.
pub fn smol_pool(threads: &SmolThreads, n: usize) -> TaskPool {
    let pool = TaskPool::builder()
        .smol_executor(Arc::clone(&threads.ex))
        .limit(n)
        .build()
        .unwrap();
    assert_eq!(pool.runtime(), Runtime::Smol);
    assert_eq!(smol::block_on(pool.submit(body_smol(0)).unwrap()).unwrap(), 1);
    pool
}

/// crate, in runtime on smol: inside `smol::block_on` on the calling thread
/// (not one of the executor's), `submit` all `m` bodies (smol's yield) to
/// `pool`, then `.await` every handle in order.
pub fn crate_in_smol(pool: &TaskPool, m: u64) -> Duration {
    checked("crate in smol", Some(pool.limit()), || {
        smol::block_on(submit_all_then_await(pool, m, body_smol))
    })
}

/// A_smol: inside `smol::block_on`, `ex.spawn` all `m` bodies, then await
/// every `Task` in order. No limit.
pub fn peer_a_smol(threads: &SmolThreads, m: u64) -> Duration {
    let ex = &*threads.ex;
    checked("A_smol", None, || {
        smol::block_on(spawn_all_then_await(m, || ready(()), |i, ()| ex.spawn(body_smol(i))))
    })
}

/// C_smol: inside `smol::block_on`, for each task `acquire_arc` a permit of
/// one `smol::lock::Semaphore(n)`, then `ex.spawn` the body holding it; then
/// await every `Task` in order.
pub fn peer_c_smol(threads: &SmolThreads, n: usize, m: u64) -> Duration {
    let ex = &*threads.ex;
    let semaphore = Arc::new(smol::lock::Semaphore::new(n));
    checked("C_smol", Some(n), || {
        smol::block_on(spawn_all_then_await(
            m,
            || semaphore.acquire_arc(),
            |i, permit| {
                ex.spawn(async move {
                    let _permit = permit;
                    body_smol(i).await
                })
            },
        ))
    })
}

/// C_plain_smol: the plain thread calls `ex.spawn` for each task; each task
/// first awaits `acquire_arc` of one shared `smol::lock::Semaphore(n)`, runs
/// the body; then the plain thread waits each `Task` in order with
/// `futures::executor::block_on`, checking `i + 1`.
pub fn peer_c_plain_smol(threads: &SmolThreads, n: usize, m: u64) -> Duration {
    let ex = &*threads.ex;
    let semaphore = Arc::new(smol::lock::Semaphore::new(n));
    checked("C_plain_smol", Some(n), || {
        spawn_all_then_wait(m, |i| {
            let semaphore = Arc::clone(&semaphore);
            ex.spawn(async move {
                let _permit = semaphore.acquire_arc().await;
                body_smol(i).await
            })
        })
    })
}
