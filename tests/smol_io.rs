//! smol-world futures work inside the pool's tasks on the smol backend: a
//! real `Async<TcpListener>`/`Async<TcpStream>` exchange on 127.0.0.1 and a
//! `smol::Timer`, in a `TaskPool` on smol's global executor, in one on an
//! `Executor` of the test's own, and in a `DaemonExecutor`'s tasks (whose
//! thread then drives async-io's reactor).
#![cfg(feature = "smol")]

mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::watchdog;
use smol::Async;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use taskpool::{DaemonExecutor, Runtime, TaskPool};

/// Server and client as two tasks of `pool`; the listener is bound first.
fn exchange(pool: &TaskPool) {
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let server = pool
        .submit(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            stream.read_exact(&mut buf).await.unwrap();
            let start = Instant::now();
            smol::Timer::after(Duration::from_millis(5)).await;
            assert!(start.elapsed() >= Duration::from_millis(5));
            stream.write_all(&buf.to_ascii_uppercase()).await.unwrap();
            String::from_utf8(buf.to_vec()).unwrap()
        })
        .unwrap();
    let client = pool
        .submit(async move {
            let mut stream = Async::<TcpStream>::connect(addr).await.unwrap();
            stream.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            stream.read_exact(&mut buf).await.unwrap();
            String::from_utf8(buf.to_vec()).unwrap()
        })
        .unwrap();
    assert_eq!(client.wait().unwrap(), "HELLO");
    assert_eq!(server.wait().unwrap(), "hello");
}

#[test]
fn a_smol_pool_runs_async_io_and_timers() {
    watchdog(|| {
        let pool = TaskPool::builder().runtime(Runtime::Smol).limit(2).build().unwrap();
        assert_eq!(pool.runtime(), Runtime::Smol);
        exchange(&pool);
    });
}

#[test]
fn a_pool_on_an_executor_of_ones_own_runs_async_io_and_timers() {
    watchdog(|| {
        let executor = Arc::new(smol::Executor::new());
        let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
        let runners: Vec<_> = (0..2)
            .map(|_| {
                let (executor, stop_rx) = (Arc::clone(&executor), stop_rx.clone());
                std::thread::spawn(move || smol::block_on(executor.run(stop_rx.recv())))
            })
            .collect();
        let pool = TaskPool::builder()
            .smol_executor(Arc::clone(&executor))
            .limit(2)
            .build()
            .unwrap();
        exchange(&pool);
        drop(stop_tx);
        for runner in runners {
            assert!(runner.join().unwrap().is_err(), "stopped by the closed channel");
        }
    });
}

#[test]
fn a_smol_daemon_runs_async_io_and_timers_on_its_thread() {
    watchdog(|| {
        let executor = DaemonExecutor::builder()
            .runtime(Runtime::Smol)
            .thread_name("smol-daemon")
            .limit(2)
            .build()
            .unwrap();
        exchange(executor.pool());
        let local = executor
            .submit_local(|| {
                let not_send = std::rc::Rc::new(3);
                async move {
                    smol::Timer::after(Duration::from_millis(1)).await;
                    (*not_send, std::thread::current().name().map(str::to_owned))
                }
            })
            .unwrap();
        assert_eq!(local.wait().unwrap(), (3, Some("smol-daemon".to_owned())));
    });
}
