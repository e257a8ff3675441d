//! `extract` templates: which part of a tag, matched by `pattern`, is ranked.
//!
//! The syntax is Go's `Regexp.ExpandString` (also Rust's `Captures::expand`),
//! so Flux `filterTags.extract` values work unchanged: `$name` and `${name}`
//! insert a named group, `$1` and `${1}` a numbered one, `$$` a literal `$`.
//! A bare name is the longest run of letters, digits and `_`, so `$1x` is the
//! group named `1x`, not group 1 followed by `x`; write `${1}x` for that.
//! A `$` not followed by a valid reference is kept literally.
//!
//! Unlike Go, a reference to a group the pattern does not define is rejected
//! when the policy is built instead of silently expanding to nothing.

use std::borrow::Cow;

use regex::{CaptureLocations, Regex};

use crate::error::PolicyError;

/// A parsed template with group references resolved to indices.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Group(usize),
}

impl Template {
    /// Parses `template` against the groups of `pattern`.
    pub(crate) fn parse(template: &str, pattern: &Regex) -> Result<Self, PolicyError> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = template;
        while let Some(dollar) = rest.find('$') {
            literal.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                literal.push('$');
                rest = tail;
                continue;
            }
            let Some((name, tail)) = reference(after) else {
                literal.push('$');
                rest = after;
                continue;
            };
            let index =
                group_index(name, pattern).ok_or_else(|| PolicyError::UnknownCaptureGroup {
                    extract: template.to_owned(),
                    group: name.to_owned(),
                    pattern: pattern.as_str().to_owned(),
                })?;
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Group(index));
            rest = tail;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Self { segments })
    }

    /// Expands the template for `text`, whose match is in `locations`.
    /// Borrows from `text` when the template is a single group reference.
    pub(crate) fn expand<'t>(&self, text: &'t str, locations: &CaptureLocations) -> Cow<'t, str> {
        let group = |index: usize| {
            locations
                .get(index)
                .map_or("", |(start, end)| &text[start..end])
        };
        match self.segments.as_slice() {
            [] => Cow::Borrowed(""),
            [Segment::Group(index)] => Cow::Borrowed(group(*index)),
            segments => {
                let mut out = String::new();
                for segment in segments {
                    match segment {
                        Segment::Literal(literal) => out.push_str(literal),
                        Segment::Group(index) => out.push_str(group(*index)),
                    }
                }
                Cow::Owned(out)
            }
        }
    }
}

/// Splits a reference (`name` or `{name}`) off the text after a `$`.
fn reference(after: &str) -> Option<(&str, &str)> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if let Some(braced) = after.strip_prefix('{') {
        let end = braced.find('}')?;
        let name = &braced[..end];
        (!name.is_empty() && name.chars().all(is_name_char)).then(|| (name, &braced[end + 1..]))
    } else {
        let end = after
            .find(|c: char| !is_name_char(c))
            .unwrap_or(after.len());
        (end > 0).then(|| (&after[..end], &after[end..]))
    }
}

/// Resolves a group name or number (Go rules: a number has no leading zero).
fn group_index(name: &str, pattern: &Regex) -> Option<usize> {
    let numeric =
        name.bytes().all(|b| b.is_ascii_digit()) && !(name.len() > 1 && name.starts_with('0'));
    if numeric {
        let index: usize = name.parse().ok()?;
        return (index < pattern.captures_len()).then_some(index);
    }
    pattern
        .capture_names()
        .position(|candidate| candidate == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(pattern: &str, template: &str, text: &str) -> String {
        let regex = Regex::new(pattern).expect("test regex compiles");
        let parsed = Template::parse(template, &regex).expect("template parses");
        let mut locations = regex.capture_locations();
        regex
            .captures_read(&mut locations, text)
            .expect("test text matches");
        parsed.expand(text, &locations).into_owned()
    }

    #[test]
    fn expands_like_go() {
        assert_eq!(expand(r"ver(\d+)", "$1", "ver42"), "42");
        assert_eq!(expand(r"(?P<ts>\d+)-(?P<sha>\w+)", "$ts", "123-abc"), "123");
        assert_eq!(
            expand(r"(?P<ts>\d+)-(?P<sha>\w+)", "${sha}.$ts", "1-ab"),
            "ab.1"
        );
        assert_eq!(expand(r"(\d)(\d)", "${2}x${1}", "12"), "2x1");
        assert_eq!(expand(r"(\d)", "$$1-$1", "7"), "$1-7");
        assert_eq!(expand(r"(\d)", "$-$1", "7"), "$-7");
        assert_eq!(expand(r"(\d)|(x)", "[$2]", "7"), "[]");
        assert_eq!(expand(r"(\d+)", "$0", "a12"), "12");
    }

    #[test]
    fn single_group_templates_borrow_from_the_tag() {
        let regex = Regex::new(r"-(\d+)$").expect("compiles");
        let parsed = Template::parse("$1", &regex).expect("parses");
        let mut locations = regex.capture_locations();
        regex.captures_read(&mut locations, "main-20240101");
        assert!(matches!(
            parsed.expand("main-20240101", &locations),
            Cow::Borrowed("20240101")
        ));
    }

    #[test]
    fn rejects_references_to_missing_groups() {
        let regex = Regex::new(r"(?P<num>\d+)").expect("compiles");
        for (template, group) in [("$nom", "nom"), ("${2}", "2"), ("$1x", "1x"), ("$01", "01")] {
            match Template::parse(template, &regex) {
                Err(PolicyError::UnknownCaptureGroup { group: got, .. }) => {
                    assert_eq!(got, group, "{template}");
                }
                other => panic!("{template}: expected UnknownCaptureGroup, got {other:?}"),
            }
        }
    }
}
