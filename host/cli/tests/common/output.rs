//! Reading a finished command: its exit code and what it wrote. Shared by the tests that run
//! the binary with a Temporal server (through `common`) and those that run it alone.

#![allow(dead_code)]

use std::process::Output;

/// A command's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Assert that a command succeeded, with its stderr in the panic message.
pub fn assert_success(out: &Output) {
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Assert the exit code, with both streams in the panic message; the command's stdout.
pub fn stdout_of(out: &Output, code: i32) -> String {
    assert_exit(out, code);
    text(&out.stdout)
}

/// Assert the exit code, with both streams in the panic message; the command's stderr.
pub fn stderr_of(out: &Output, code: i32) -> String {
    assert_exit(out, code);
    text(&out.stderr)
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Assert that `haystack` contains each of `needles`, showing it whole when one is missing.
pub fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(haystack.contains(needle), "no {needle:?} in:\n{haystack}");
    }
}
