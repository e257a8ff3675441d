//! Durations in specs (`interval: 5m`, `backoff.duration: 10s`).
//!
//! They are strings in the resource, checked by the API server against
//! [`DURATION_PATTERN`] and read by [`parse_duration`].

use std::time::Duration;

use crate::Error;

/// One or more number-and-unit pairs (`90s`, `1h30m`, `500ms`); the unit
/// letters are those Kubernetes users write in Flux and Argo CD specs.
pub(crate) const DURATION_PATTERN: &str = r"^([0-9]+(ms|s|m|h|d))+$";

/// Reads a duration written in a spec; `field` names it in the error.
pub fn parse_duration(field: &str, value: &str) -> Result<Duration, Error> {
    humantime::parse_duration(value).map_err(|source| Error::Duration {
        field: field.to_owned(),
        value: value.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_units_the_schema_allows() {
        let cases = [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("1d", Duration::from_secs(86_400)),
        ];
        let pattern = regex::Regex::new(DURATION_PATTERN).expect("the pattern compiles");
        for (text, expected) in cases {
            assert!(
                pattern.is_match(text),
                "{text} should match {DURATION_PATTERN}"
            );
            assert_eq!(
                parse_duration("interval", text).ok(),
                Some(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn the_schema_refuses_words_and_spaces() {
        let pattern = regex::Regex::new(DURATION_PATTERN).expect("the pattern compiles");
        for text in ["", "soon", "5 minutes", "5", "m5", "-1s", "1.5h"] {
            assert!(
                !pattern.is_match(text),
                "{text:?} should not match {DURATION_PATTERN}"
            );
        }
    }

    #[test]
    fn an_error_names_the_field_and_the_value() {
        let error = parse_duration("syncPolicy.interval", "soon").unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("syncPolicy.interval: \"soon\" is not a duration"),
            "{message}"
        );
    }
}
