//! The shared body of the transformer targets: the input's first line is the module's
//! configuration (`key=value` pairs separated by tabs), the rest is the feed. A parser must
//! never panic, whatever either holds; errors are fine.

use contextworker_guest::{Config, Transformer, native};

pub fn run<T: Transformer>(data: &[u8]) {
    let (head, feed) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let head = String::from_utf8_lossy(head);
    let config = Config::new(
        head.split('\t')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let _ = native::transform::<T>(std::io::Cursor::new(feed.to_vec()), &config);
}
