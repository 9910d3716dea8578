//! Field paths (`variants[0].price`, `images[].src`, `$key`): how a mapped field is found in a record.

use crate::scan::Value;
use crate::walker::Record;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Each(String),
    Index(String, usize),
    /// The member name when products are the values of an object.
    ObjectKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPath {
    pub(crate) text: String,
    pub(crate) steps: Vec<Step>,
}

impl FieldPath {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "$key" {
            return Ok(Self {
                text: text.to_owned(),
                steps: vec![Step::ObjectKey],
            });
        }
        let mut steps = Vec::new();
        for part in text.split('.') {
            let step = if let Some(key) = part.strip_suffix("[]") {
                Step::Each(key.to_owned())
            } else if let Some(open) = part.rfind('[')
                && let Some(n) = part[open + 1..].strip_suffix(']')
            {
                let n = n
                    .parse()
                    .map_err(|_| format!("path {text:?}: {part:?} is not `key[]` or `key[N]`"))?;
                Step::Index(part[..open].to_owned(), n)
            } else {
                Step::Key(part.to_owned())
            };
            if matches!(&step, Step::Key(k) if k.is_empty()) {
                return Err(format!("path {text:?} has an empty step"));
            }
            steps.push(step);
        }
        Ok(Self {
            text: text.to_owned(),
            steps,
        })
    }

    /// Every value the path reaches; a final array contributes its elements.
    pub(crate) fn values<'a>(&self, record: &Record<'a>) -> Vec<&'a Value> {
        let mut out = Vec::new();
        collect(record.value, &self.steps, &mut out);
        out
    }

    pub(crate) fn texts(&self, record: &Record<'_>) -> Vec<String> {
        if self.steps == [Step::ObjectKey] {
            return record.key.map(str::to_owned).into_iter().collect();
        }
        self.values(record)
            .into_iter()
            .filter_map(Value::text)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub(crate) fn first_key(&self) -> Option<&str> {
        match self.steps.first()? {
            Step::Key(k) | Step::Each(k) | Step::Index(k, _) => Some(k),
            Step::ObjectKey => None,
        }
    }
}

pub(crate) fn collect<'a>(value: &'a Value, steps: &[Step], out: &mut Vec<&'a Value>) {
    let Some((step, rest)) = steps.split_first() else {
        match value {
            Value::Array(items) => out.extend(items.iter().filter(|v| !matches!(v, Value::Null))),
            Value::Null => {}
            other => out.push(other),
        }
        return;
    };
    let child = |key: &str| {
        if key.is_empty() {
            Some(value)
        } else {
            value.get(key)
        }
    };
    match step {
        Step::Key(k) => {
            if let Some(v) = child(k) {
                collect(v, rest, out);
            }
        }
        Step::Each(k) => match child(k) {
            Some(Value::Array(items)) => items.iter().for_each(|v| collect(v, rest, out)),
            Some(v) => collect(v, rest, out),
            None => {}
        },
        Step::Index(k, n) => {
            if let Some(Value::Array(items)) = child(k)
                && let Some(v) = items.get(*n)
            {
                collect(v, rest, out);
            }
        }
        Step::ObjectKey => {}
    }
}
