//! tokio-based futures work inside the pool's tasks on the tokio backend:
//! a real `TcpListener`/`TcpStream` exchange on 127.0.0.1 and a
//! `tokio::time::sleep`, in a `TaskPool` built inside a tokio runtime (the
//! README's snippet), in one built from a plain thread, and in a
//! `DaemonExecutor`'s tasks, where `tokio::spawn` and (for local tasks)
//! `tokio::task::spawn_local` work too. Outside a tokio runtime each of
//! these panics with "there is no reactor running".
#![cfg(feature = "tokio")]

mod common;

use std::time::Duration;

use common::watchdog;
use taskpool::{DaemonExecutor, Runtime, TaskPool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Accepts one connection, reads five bytes, answers them in upper case.
async fn serve_once(listener: TcpListener) -> String {
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    stream.write_all(&buf.to_ascii_uppercase()).await.unwrap();
    String::from_utf8(buf.to_vec()).unwrap()
}

/// Connects, says "hello", returns the answer.
async fn ask(addr: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).await.unwrap();
    String::from_utf8(buf.to_vec()).unwrap()
}

/// Server and client as two tasks of `pool`: the listener is bound in its
/// own task first, and its address sent to the test, so the client never
/// connects before it listens.
fn exchange(pool: &TaskPool) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let server = pool
        .submit(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            serve_once(listener).await
        })
        .unwrap();
    let addr = addr_rx.recv().unwrap();
    let client = pool.submit(ask(addr)).unwrap();
    assert_eq!(client.wait().unwrap(), "HELLO");
    assert_eq!(server.wait().unwrap(), "hello");
}

#[test]
fn a_pool_built_inside_a_tokio_runtime_runs_tokio_io_and_timers() {
    watchdog(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let answer = runtime.block_on(async {
            let pool = TaskPool::new(4).unwrap();
            assert_eq!(pool.runtime(), Runtime::Tokio);
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = pool.submit(serve_once(listener)).unwrap();
            let client = pool.submit(ask(addr)).unwrap();
            let slept = pool
                .submit(async {
                    let start = tokio::time::Instant::now();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    start.elapsed()
                })
                .unwrap();
            assert!(slept.await.unwrap() >= Duration::from_millis(5));
            assert_eq!(server.await.unwrap(), "hello");
            client.await.unwrap()
        });
        assert_eq!(answer, "HELLO");
    });
}

#[test]
fn a_tokio_pool_built_on_a_plain_thread_runs_tokio_io_and_timers() {
    watchdog(|| {
        let pool = TaskPool::builder().runtime(Runtime::Tokio).limit(2).build().unwrap();
        exchange(&pool);
        // Inside its tasks, tokio's context is there: a handle, a spawn.
        let spawned = pool
            .submit(async {
                let _ = tokio::runtime::Handle::current();
                tokio::spawn(async { 41 + 1 }).await.unwrap()
            })
            .unwrap();
        assert_eq!(spawned.wait().unwrap(), 42);
    });
}

#[test]
fn a_tokio_daemon_runs_tokio_io_timers_spawn_and_spawn_local_on_its_thread() {
    watchdog(|| {
        let executor = DaemonExecutor::builder()
            .runtime(Runtime::Tokio)
            .thread_name("tokio-daemon")
            .limit(2)
            .build()
            .unwrap();
        exchange(executor.pool());
        let spawned = executor
            .pool()
            .submit(async {
                // A tokio task spawned from a daemon task runs on the
                // daemon's current-thread runtime, so on its thread.
                tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
                    .await
                    .unwrap()
            })
            .unwrap();
        assert_eq!(spawned.wait().unwrap().as_deref(), Some("tokio-daemon"));
        let local = executor
            .submit_local(|| {
                let not_send = std::rc::Rc::new(20);
                async move {
                    let inner = std::rc::Rc::clone(&not_send);
                    tokio::task::spawn_local(async move { *inner + 1 }).await.unwrap() + *not_send
                }
            })
            .unwrap();
        assert_eq!(local.wait().unwrap(), 41);
        let blocking = executor
            .pool()
            .submit_to_thread(|| tokio::runtime::Handle::current().block_on(async { 5 }))
            .unwrap();
        assert_eq!(blocking.wait().unwrap(), 5);
    });
}
