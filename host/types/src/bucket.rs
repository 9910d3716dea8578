//! Where a fleet's shared blobs live: `s3://bucket/prefix`, checked where it is written (a flag,
//! a config file) so a typo fails at start with the rule it broke, not as a signature error on
//! the first upload.

use std::fmt;
use std::str::FromStr;

/// An S3 bucket and a key prefix inside it (no leading or trailing `/`, possibly empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketUrl {
    bucket: String,
    prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("blob store {url:?}: {reason}")]
pub struct BucketUrlError {
    pub url: String,
    pub reason: &'static str,
}

impl BucketUrl {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl FromStr for BucketUrl {
    type Err = BucketUrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let bad = |reason| BucketUrlError {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("expected s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's bucket naming rules.
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !valid_bucket {
            return Err(bad(
                "the bucket name must be 3-63 lowercase letters, digits, '-' or '.', starting \
                 and ending with a letter or digit",
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        let valid_prefix = prefix.is_empty()
            || prefix.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            });
        if !valid_prefix {
            return Err(bad(
                "the prefix is segments of letters, digits, '-', '_' or '.' separated by single \
                 '/', none of them '.' or '..'",
            ));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for BucketUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix_and_refuses_what_s3_would() {
        let url: BucketUrl = "s3://fleet-blobs/prod/eu".parse().expect("valid");
        assert_eq!((url.bucket(), url.prefix()), ("fleet-blobs", "prod/eu"));
        assert_eq!(url.to_string(), "s3://fleet-blobs/prod/eu");
        let bare: BucketUrl = "s3://fleet-blobs/".parse().expect("valid");
        assert_eq!((bare.bucket(), bare.prefix()), ("fleet-blobs", ""));
        assert_eq!(bare.to_string(), "s3://fleet-blobs");
        for (bad, why) in [
            ("https://fleet-blobs/x", "expected s3://"),
            ("s3://Fleet/x", "bucket name"),
            ("s3://ab/x", "bucket name"),
            ("s3://-abc/x", "bucket name"),
            ("s3://abc/../x", "prefix"),
            ("s3://abc//x", "prefix"),
            ("s3://abc/a b", "prefix"),
        ] {
            let err = bad.parse::<BucketUrl>().expect_err(bad);
            assert!(err.to_string().contains(why), "{bad}: {err}");
            assert!(err.to_string().contains(bad), "names the value: {err}");
        }
    }
}
