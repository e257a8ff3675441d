//! Writing a new scalar value in the style of the one it replaces.
//!
//! A quoted value stays quoted with the same quote; a plain value stays plain unless YAML would
//! read the new text as something other than that string (`1.10`, `true`, `0755`, `~`), or the
//! text cannot be written plain; then it is double-quoted, as kyaml does.

use granit_parser::ScalarStyle;

/// Renders `value` to replace a scalar of `style`. `in_flow` tells whether the scalar sits inside
/// a flow collection, where `,[]{}` end a plain scalar.
pub(crate) fn render(value: &str, style: ScalarStyle, in_flow: bool) -> Option<String> {
    match style {
        ScalarStyle::Plain if plain_is_safe(value, in_flow) => Some(value.to_owned()),
        ScalarStyle::Plain | ScalarStyle::DoubleQuoted => Some(double_quoted(value)),
        ScalarStyle::SingleQuoted if value.chars().all(|c| !c.is_control()) => {
            Some(format!("'{}'", value.replace('\'', "''")))
        }
        ScalarStyle::SingleQuoted => Some(double_quoted(value)),
        _ => None,
    }
}

/// `value` as a double-quoted YAML scalar.
pub(crate) fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `value` can be written as a plain scalar and read back as the same string.
pub(crate) fn plain_is_safe(value: &str, in_flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if value.starts_with(' ') || value.ends_with(' ') || value.ends_with(':') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-foo`, `?foo` and `:foo` are allowed plain when followed by a non-space, but keep it
        // simple and safe: quote.
        return false;
    }
    if value.chars().any(|c| {
        c.is_control() || c == '\u{feff}' || c == '\u{85}' || c == '\u{2028}' || c == '\u{2029}'
    }) {
        return false;
    }
    if value.contains(": ") || value.contains(" #") || value.contains(":\t") {
        return false;
    }
    if in_flow && value.chars().any(|c| ",[]{}".contains(c)) {
        return false;
    }
    if value == "---" || value == "..." {
        return false;
    }
    !resolves_to_non_string(value)
}

/// Whether a plain scalar with this text would be read as null, bool, number, timestamp, merge
/// key or value key under YAML 1.2 core or YAML 1.1 rules (Kubernetes tools use both).
pub(crate) fn resolves_to_non_string(v: &str) -> bool {
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y", "Y",
        "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf", "+.INF", ".nan",
        ".NaN", ".NAN", "<<", "=",
    ];
    WORDS.contains(&v) || is_number(v) || is_timestamp(v)
}

fn is_number(v: &str) -> bool {
    let unsigned = v.strip_prefix(['-', '+']).unwrap_or(v);
    if unsigned.is_empty() {
        return false;
    }
    let radix_digits =
        |s: &str, ok: fn(char) -> bool| !s.is_empty() && s.chars().all(|c| ok(c) || c == '_');
    if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        return radix_digits(hex, |c| c.is_ascii_hexdigit());
    }
    if let Some(oct) = unsigned.strip_prefix("0o") {
        return radix_digits(oct, |c| ('0'..='7').contains(&c));
    }
    if let Some(bin) = unsigned.strip_prefix("0b") {
        return radix_digits(bin, |c| c == '0' || c == '1');
    }
    // Sexagesimal (YAML 1.1): 1:20, 190:20:30.15
    if unsigned.contains(':') {
        let mut parts = unsigned.split(':');
        let head_ok = parts
            .next()
            .is_some_and(|h| radix_digits(h, |c| c.is_ascii_digit()));
        let parts: Vec<&str> = parts.collect();
        let last = parts.len().saturating_sub(1);
        return head_ok
            && parts.iter().enumerate().all(|(i, p)| {
                let (int, frac) = if i == last {
                    p.split_once('.').unwrap_or((p, "0"))
                } else {
                    (*p, "0")
                };
                !int.is_empty()
                    && int.len() <= 2
                    && int.chars().all(|c| c.is_ascii_digit())
                    && frac.chars().all(|c| c.is_ascii_digit() || c == '_')
            });
    }
    // Decimal int or float: digits, at most one dot, optional exponent.
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    let mantissa_ok = digits(int)
        && digits(frac)
        && (int.chars().any(|c| c.is_ascii_digit()) || frac.chars().any(|c| c.is_ascii_digit()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

fn is_timestamp(v: &str) -> bool {
    // YAML 1.1 timestamps start with YYYY-M-D.
    let b = v.as_bytes();
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5].is_ascii_digit()
        && v[5..]
            .split(['-', 'T', 't', ' ', ':', '.', 'Z', '+'])
            .all(|p| p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_values_of_other_types() {
        for v in [
            "1.10",
            "true",
            "0755",
            "1234",
            "3.2e2",
            "~",
            "null",
            "yes",
            "off",
            "0x1F",
            "1:20",
            "2001-12-14",
            ".5",
            "1_000",
            "+1",
            "=",
            "",
        ] {
            assert!(!plain_is_safe(v, false), "{v} must be quoted");
        }
        for v in [
            "1.25.3",
            "v1.0.1",
            "nginx:1.27",
            "sha256:abc",
            "my-tag",
            "docker.io/library/nginx",
            "1.2.3-alpine",
            "dev-01",
            "latest",
            "e3",
            "x1:20",
        ] {
            assert!(plain_is_safe(v, false), "{v} may stay plain");
        }
        assert!(!plain_is_safe("a,b", true));
    }

    #[test]
    fn keeps_quote_style() {
        assert_eq!(
            render("1.10", ScalarStyle::Plain, false).unwrap(),
            "\"1.10\""
        );
        assert_eq!(
            render("it's", ScalarStyle::SingleQuoted, false).unwrap(),
            "'it''s'"
        );
        assert_eq!(
            render("a\"b", ScalarStyle::DoubleQuoted, false).unwrap(),
            "\"a\\\"b\""
        );
        assert!(render("x", ScalarStyle::Literal, false).is_none());
    }
}
