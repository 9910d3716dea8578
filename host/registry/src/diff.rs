//! Record-level difference between two parses of the same feed, for `modules diff` and
//! shadow runs.
//!
//! Both sides are NDJSON product files (one product per line, keyed by `offer_id`; a repeated
//! id keeps its last line, as staging does). The first side is indexed by id with a hash of
//! the record and its byte offset, so memory stays small for a large feed; a changed record is
//! read back from its offset to compare it field by field.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash as _, Hasher as _};
use std::io::{BufRead, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One field that differs, with both values (`null` where a side lacks the field).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChangedField {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChangedRecord {
    pub offer_id: String,
    pub fields: Vec<ChangedField>,
}

/// What changed from `before` to `after`. Counts are exact; records are samples.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DiffReport {
    pub before_products: u64,
    pub after_products: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// For every field, how many changed records differ in it.
    pub changed_fields: BTreeMap<String, u64>,
    pub added_samples: Vec<Value>,
    pub removed_samples: Vec<Value>,
    pub changed_samples: Vec<ChangedRecord>,
}

impl DiffReport {
    pub fn identical(&self) -> bool {
        self.added == 0 && self.removed == 0 && self.changed == 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: not a product record: {reason}")]
    Record {
        path: String,
        line: u64,
        reason: String,
    },
}

struct Indexed {
    hash: u64,
    offset: u64,
}

fn record_hash(value: &Value) -> u64 {
    // serde_json's map keeps keys sorted, so equal records serialize alike.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.to_string().hash(&mut h);
    h.finish()
}

fn offer_id(value: &Value) -> Option<String> {
    match value.get("offer_id")? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Every record of `path` with its byte offset, in file order.
fn for_each_record(path: &Path, mut f: impl FnMut(String, Value, u64)) -> Result<(), DiffError> {
    let shown = path.display().to_string();
    let io = |source| DiffError::Io {
        path: shown.clone(),
        source,
    };
    let mut reader = BufReader::with_capacity(256 * 1024, std::fs::File::open(path).map_err(io)?);
    let (mut offset, mut line_no) = (0u64, 0u64);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(io)?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let at = offset;
        offset += n as u64;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line).map_err(|e| DiffError::Record {
            path: shown.clone(),
            line: line_no,
            reason: e.to_string(),
        })?;
        let id = offer_id(&value).ok_or_else(|| DiffError::Record {
            path: shown.clone(),
            line: line_no,
            reason: "no `offer_id`".to_owned(),
        })?;
        f(id, value, at);
    }
}

fn read_at(path: &Path, offset: u64) -> Option<Value> {
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut line = String::new();
    BufReader::new(file.take(64 * 1024 * 1024))
        .read_line(&mut line)
        .ok()?;
    serde_json::from_str(&line).ok()
}

fn field_changes(before: &Value, after: &Value) -> Vec<ChangedField> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (old, new) = (b.get(k), a.get(k));
            (old != new).then(|| ChangedField {
                field: k.clone(),
                before: old.cloned().unwrap_or(Value::Null),
                after: new.cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// Every offer id of `path` with its record's hash and offset; a repeated id keeps its last
/// line, as staging does.
fn index_of(path: &Path) -> Result<HashMap<String, Indexed>, DiffError> {
    let mut index = HashMap::new();
    for_each_record(path, |id, value, offset| {
        index.insert(
            id,
            Indexed {
                hash: record_hash(&value),
                offset,
            },
        );
    })?;
    Ok(index)
}

/// Compare the products in `before` with those in `after`, keeping up to `samples` records of
/// each kind.
pub fn diff_ndjson(before: &Path, after: &Path, samples: usize) -> Result<DiffReport, DiffError> {
    let index = index_of(before)?;
    let after_index = index_of(after)?;
    let mut report = DiffReport {
        before_products: index.len() as u64,
        after_products: after_index.len() as u64,
        ..DiffReport::default()
    };
    // Walk the after side in file order so samples follow the feed.
    let mut after_ids: Vec<(&String, &Indexed)> = after_index.iter().collect();
    after_ids.sort_by_key(|(_, i)| i.offset);
    for (id, a) in after_ids {
        match index.get(id) {
            None => {
                report.added += 1;
                if report.added_samples.len() < samples
                    && let Some(v) = read_at(after, a.offset)
                {
                    report.added_samples.push(v);
                }
            }
            Some(b) if b.hash == a.hash => report.unchanged += 1,
            Some(b) => {
                report.changed += 1;
                let (Some(old), Some(new)) = (read_at(before, b.offset), read_at(after, a.offset))
                else {
                    continue;
                };
                let fields = field_changes(&old, &new);
                for f in &fields {
                    *report.changed_fields.entry(f.field.clone()).or_default() += 1;
                }
                if report.changed_samples.len() < samples {
                    report.changed_samples.push(ChangedRecord {
                        offer_id: id.clone(),
                        fields,
                    });
                }
            }
        }
    }
    let mut removed: Vec<(&String, &Indexed)> = index
        .iter()
        .filter(|(id, _)| !after_index.contains_key(*id))
        .collect();
    removed.sort_by_key(|(_, i)| i.offset);
    report.removed = removed.len() as u64;
    for (_, b) in removed.into_iter().take(samples) {
        if let Some(v) = read_at(before, b.offset) {
            report.removed_samples.push(v);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn file(lines: &[&str]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        for l in lines {
            writeln!(f, "{l}").expect("write");
        }
        f
    }

    #[test]
    fn added_removed_and_changed_fields_are_reported_with_values() {
        let before = file(&[
            r#"{"offer_id":"1","name":"Drill","price":"100.00"}"#,
            r#"{"offer_id":"2","name":"Saw","price":"50.00"}"#,
            r#"{"offer_id":"3","name":"Nail"}"#,
        ]);
        let after = file(&[
            r#"{"offer_id":"1","name":"Drill","price":"120.00","brand":"Bosch"}"#,
            r#"{"offer_id":"3","name":"Nail"}"#,
            r#"{"offer_id":"4","name":"Hammer"}"#,
        ]);
        let r = diff_ndjson(before.path(), after.path(), 10).expect("diff");
        assert_eq!(
            (r.added, r.removed, r.changed, r.unchanged),
            (1, 1, 1, 1),
            "{r:?}"
        );
        assert_eq!(r.added_samples[0]["offer_id"], "4");
        assert_eq!(r.removed_samples[0]["offer_id"], "2");
        let changed = &r.changed_samples[0];
        assert_eq!(changed.offer_id, "1");
        assert_eq!(
            changed.fields,
            vec![
                ChangedField {
                    field: "brand".into(),
                    before: Value::Null,
                    after: "Bosch".into()
                },
                ChangedField {
                    field: "price".into(),
                    before: "100.00".into(),
                    after: "120.00".into()
                },
            ]
        );
        assert_eq!(r.changed_fields.get("price"), Some(&1));
        assert!(!r.identical());
    }

    #[test]
    fn key_order_and_repeated_ids_do_not_count_as_changes() {
        let before = file(&[
            r#"{"offer_id":"1","name":"old"}"#,
            r#"{"name":"Drill","offer_id":"1","price":"1"}"#,
        ]);
        let after = file(&[r#"{"offer_id":"1","price":"1","name":"Drill"}"#]);
        let r = diff_ndjson(before.path(), after.path(), 10).expect("diff");
        assert!(r.identical(), "{r:?}");
        assert_eq!((r.before_products, r.after_products), (1, 1));
    }

    #[test]
    fn a_line_that_is_not_a_record_names_file_and_line() {
        let before = file(&[r#"{"offer_id":"1"}"#, "not json"]);
        let after = file(&[]);
        let err = diff_ndjson(before.path(), after.path(), 10).expect_err("refused");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
