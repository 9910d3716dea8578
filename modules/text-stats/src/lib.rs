//! The example `code` module: what `contextworker-host exec` and ExecuteCode run.

use contextworker_guest::{Code, Config, Data, ModuleError};

pub struct TextStats;

impl Code for TextStats {
    fn run(input: Data, _config: &Config) -> Result<Data, ModuleError> {
        let text = match &input {
            Data::Text(s) => s.as_str(),
            Data::Binary(b) => std::str::from_utf8(b).map_err(|e| {
                ModuleError::invalid_input(format!("input is not UTF-8: {e}"))
                    .at_offset(e.valid_up_to() as u64)
            })?,
        };
        let lines = text.lines().count();
        let words = text.split_whitespace().count();
        println!("counted {lines} lines");
        contextworker_guest::info!("counted input"; lines = lines, words = words);
        Ok(Data::Text(format!(
            r#"{{"lines":{lines},"words":{words},"bytes":{}}}"#,
            text.len()
        )))
    }
}

contextworker_guest::export_code!(TextStats);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let out = TextStats::run(Data::Text("a b\nc\n".into()), &Config::default()).expect("runs");
        assert_eq!(out, Data::Text(r#"{"lines":2,"words":3,"bytes":6}"#.into()));
    }

    #[test]
    fn binary_that_is_not_utf8_names_the_offset() {
        let err =
            TextStats::run(Data::Binary(vec![b'a', 0xff]), &Config::default()).expect_err("fails");
        assert!(err.to_string().contains("byte 1"), "{err}");
    }
}
