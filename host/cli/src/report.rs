//! How results look on a terminal: receipts, warnings, errors.

use contextworker_runtime::{CallError, Captured};
use contextworker_types::{Receipt, Warning};

pub fn receipt_line(receipt: &Receipt) -> String {
    format!("receipt: {receipt}")
}

pub fn warning_line(w: &Warning) -> String {
    let mut line = String::from("warning: ");
    if let Some(l) = &w.location {
        line.push_str(&format!("{l}: "));
    }
    line.push_str(&w.message);
    if let Some(id) = &w.offer_id {
        line.push_str(&format!(" (offer {id})"));
    }
    line
}

pub fn error_line(e: &CallError) -> String {
    let mut text = format!("error[{}]: {e}", e.class());
    if let CallError::Trap {
        backtrace: Some(bt),
        ..
    } = e
    {
        text.push_str(&format!("\n{bt}"));
    }
    text
}

pub fn print_guest_stream(name: &str, captured: &Captured) {
    if captured.bytes.is_empty() {
        return;
    }
    for line in captured.text().lines() {
        eprintln!("[guest {name}] {line}");
    }
    if captured.truncated {
        eprintln!(
            "[guest {name}] … truncated at {} bytes",
            captured.bytes.len()
        );
    }
}

pub fn millis(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
