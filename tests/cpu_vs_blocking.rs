//! The CPU-bound example: its factorials are exact, and its three ways give
//! the same results on the threads they claim, within the limit.

mod common;
#[path = "../examples/cpu_vs_blocking.rs"]
mod cpu_vs_blocking;
mod example_bin;

use common::watchdog;
use cpu_vs_blocking::cli::Parsed;
use cpu_vs_blocking::{Bench, Options, THREAD_NAME, Way, factorial, measure, render, summarize};

#[test]
fn factorials_are_exact_across_limb_boundaries() {
    // 34! is the largest factorial that fits in a u128.
    let mut expected: u128 = 1;
    for n in 0..=34_u32 {
        if n > 1 {
            expected *= u128::from(n);
        }
        let value = factorial(n);
        assert_eq!(value.to_string(), expected.to_string(), "{n}!");
        assert_eq!(value.digits(), expected.to_string().len(), "digits of {n}!");
    }
}

#[test]
fn large_factorials_have_the_known_digits() {
    let hundred = summarize(100);
    assert_eq!((hundred.digits, hundred.leading.as_str()), (158, "933262154439"));
    let thousand = summarize(1000);
    assert_eq!((thousand.digits, thousand.leading.as_str()), (2568, "402387260077"));
    assert!(
        factorial(1000).to_string().ends_with(&"0".repeat(249)),
        "1000! ends in 249 zeros"
    );
    assert_eq!(summarize(3).leading, "6", "fewer digits than asked for");
}

#[test]
fn the_three_ways_agree_and_run_where_they_say_within_the_limit() {
    watchdog(|| {
        let bench = Bench::new(2);
        let caller = std::thread::current().name().unwrap().to_owned();
        let runs: Vec<_> = Way::ALL.iter().map(|&way| bench.run(way, 300, 6)).collect();
        let expected = vec![summarize(300); 6];
        for run in &runs {
            assert_eq!(run.results, expected, "{:?}", run.way);
        }
        let [sequential, on_daemon, blocking] = &runs[..] else {
            unreachable!()
        };

        assert_eq!(sequential.threads.iter().collect::<Vec<_>>(), [&caller]);
        assert_eq!(sequential.max_at_once, 1);

        assert_eq!(on_daemon.threads.iter().collect::<Vec<_>>(), [THREAD_NAME]);
        assert_eq!(on_daemon.max_at_once, 1, "one thread runs one task at a time");

        assert!(!blocking.threads.contains(THREAD_NAME) && !blocking.threads.contains(&caller));
        assert!(
            (1..=2).contains(&blocking.max_at_once),
            "the limit holds: {} at once",
            blocking.max_at_once
        );
    });
}

#[test]
fn the_table_has_a_row_per_size_and_a_line_per_way() {
    watchdog(|| {
        let bench = Bench::new(2);
        let rows = measure(&bench, &[5, 50], 2);
        assert_eq!(
            rows.iter().map(|r| (r.n, r.digits)).collect::<Vec<_>>(),
            [(5, 3), (50, 65)]
        );
        let table = render(&rows, 2, bench.limit());
        for way in ["sequential", "async on daemon", "submit_to_thread"] {
            assert_eq!(table.matches(way).count(), 2, "a column and a line for {way}:\n{table}");
        }
        assert!(table.contains("|      5 |       3 |"), "{table}");
        assert_eq!(bench.executor().pool().stats().panicked, 0);
    });
}

#[test]
fn options_have_defaults_and_parse_every_flag() {
    let parse = |args: &[&str]| Options::parse(args.iter().copied());
    let defaults = parse(&[]).unwrap().unwrap();
    assert_eq!(defaults.sizes, [1, 10, 100, 1_000, 10_000, 20_000]);
    assert_eq!(defaults.batch, 2 * defaults.limit);
    assert_eq!(parse(&["--help"]).unwrap(), Parsed::Help);

    let all = parse(&["--sizes", "3, 30", "--limit", "4", "--batch", "5"])
        .unwrap()
        .unwrap();
    assert_eq!((all.sizes, all.limit, all.batch), (vec![3, 30], 4, 5));
    assert_eq!(
        parse(&["--limit", "3"]).unwrap().unwrap().batch,
        6,
        "the batch follows the limit"
    );

    for (bad, message) in [
        (&["--limit", "0"][..], "--limit must be at least 1"),
        (&["--batch", "x"], "--batch: cannot parse \"x\""),
        (&["--sizes", "1,,2"], "--sizes: \"\" is not a size"),
        (&["--sizes"], "missing argument for option '--sizes'"),
        (&["--fast", "1"], "invalid option '--fast'"),
    ] {
        let error = parse(bad).expect_err(&format!("{bad:?} should be refused"));
        assert!(error.to_string().contains(message), "{bad:?}: {error}");
    }
}

/// Issue 15, item 8.
#[test]
fn the_real_program_has_help_and_refuses_a_bad_flag_with_exit_code_2() {
    watchdog(|| {
        example_bin::assert_cli_contract("cpu_vs_blocking", &["--fast"], "invalid option '--fast'");
        example_bin::assert_cli_contract("cpu_vs_blocking", &["--limit", "0"], "--limit must be at least 1");
    });
}
