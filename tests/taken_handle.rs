//! A handle awaited to completion has given its outcome away: waiting on it
//! again, polling it, or passing it to a combinator panics with the message
//! users know from futures, and combinators refuse it at the call.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use taskpool::{ReturnWhen, TaskHandle, TaskPool};

const MESSAGE: &str = "`TaskHandle` polled after its outcome was taken";

/// A handle whose outcome was taken by awaiting it through `&mut`.
fn awaited(pool: &TaskPool) -> TaskHandle<u32> {
    let mut handle = pool.submit(async { 3 }).unwrap();
    assert_eq!(futures::executor::block_on(&mut handle).unwrap(), 3);
    handle
}

fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("it should panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap()
}

#[test]
fn waiting_or_polling_again_panics_with_the_futures_message() {
    let pool = TaskPool::new(1).unwrap();
    assert!(panic_message(|| drop(awaited(&pool).wait())).contains(MESSAGE));
    assert!(panic_message(|| drop(awaited(&pool).wait_timeout(std::time::Duration::from_secs(1)))).contains(MESSAGE));
    let mut handle = awaited(&pool);
    assert!(panic_message(|| drop(futures::executor::block_on(&mut handle))).contains(MESSAGE));
}

#[test]
fn combinators_refuse_an_awaited_handle_at_the_call() {
    let pool = TaskPool::new(1).unwrap();
    let id = |h: &TaskHandle<u32>| h.id();
    let h = awaited(&pool);
    let label = format!("task {}", id(&h));
    let message = panic_message(|| drop(taskpool::as_completed([h])));
    assert!(message.contains(MESSAGE) && message.contains(&label), "{message}");
    let h = awaited(&pool);
    assert!(panic_message(|| drop(taskpool::join_all([h]))).contains(MESSAGE));
    let h = awaited(&pool);
    assert!(panic_message(|| drop(taskpool::try_join_all([h]))).contains(MESSAGE));
    let h = awaited(&pool);
    assert!(panic_message(|| drop(taskpool::wait([&h], ReturnWhen::AllCompleted))).contains(MESSAGE));
}
