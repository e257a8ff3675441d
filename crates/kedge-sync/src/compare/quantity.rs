//! Resource quantities compared by value, as the API server normalises them
//! (`1000m` is `1`, `0.5` is `500m`, `1Gi` is `1073741824`).
//!
//! The grammar is Kubernetes' `resource.Quantity`: an optionally signed
//! decimal number, then a binary suffix (`Ki` … `Ei`), a decimal suffix
//! (`n`, `u`, `m`, `k`, `M` … `E`) or a decimal exponent (`e3`, `E-2`).

use serde_json::Value;

/// Map fields whose values are quantities (`resources.requests`,
/// `ResourceQuota.spec.hard`, `LimitRange` limits, node capacity).
const QUANTITY_MAPS: &[&str] = &[
    "requests",
    "limits",
    "hard",
    "capacity",
    "allocatable",
    "overhead",
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
];

/// Fields that are quantities themselves.
const QUANTITY_FIELDS: &[&str] = &["sizeLimit"];

/// The finest precision the server keeps; anything finer is rounded up by
/// the server, which this module does not imitate.
const NANO_EXPONENT: i32 = -9;

/// True when the field at `path` holds a quantity.
pub(crate) fn is_quantity_path(path: &[String]) -> bool {
    let last = path.last().map(String::as_str);
    let parent = path.len().checked_sub(2).map(|at| path[at].as_str());
    last.is_some_and(|name| QUANTITY_FIELDS.contains(&name))
        || parent.is_some_and(|name| QUANTITY_MAPS.contains(&name))
}

/// Whether two quantities are equal; `None` when one cannot be read or
/// compared locally (the server must decide).
pub(crate) fn same_quantity(desired: &Value, live: &Value) -> Option<bool> {
    let desired = Quantity::from_value(desired)?;
    let live = Quantity::from_value(live)?;
    if desired.exponent < NANO_EXPONENT || live.exponent < NANO_EXPONENT {
        return None;
    }
    Some(desired == live)
}

/// A quantity as `sign × mantissa × 10^exponent`, with no trailing zero in
/// the mantissa (so equal values are equal structs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quantity {
    negative: bool,
    mantissa: u128,
    exponent: i32,
}

impl Quantity {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(text) => Self::parse(text),
            Value::Number(number) => Self::parse(&number.to_string()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let (negative, unsigned) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let number_end = unsigned
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return None;
        }
        let mut mantissa: u128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(u128::from(digit - b'0'))?;
        }
        let fraction_digits = i32::try_from(fraction.len()).ok()?;
        let (binary_power, decimal_exponent) = suffix_scale(suffix)?;
        for _ in 0..binary_power {
            mantissa = mantissa.checked_mul(1024)?;
        }
        let mut quantity = Quantity {
            negative: negative && mantissa != 0,
            mantissa,
            exponent: decimal_exponent.checked_sub(fraction_digits)?,
        };
        quantity.normalise();
        Some(quantity)
    }

    fn normalise(&mut self) {
        if self.mantissa == 0 {
            self.exponent = 0;
            return;
        }
        while self.mantissa.is_multiple_of(10) {
            self.mantissa /= 10;
            self.exponent += 1;
        }
    }
}

/// A suffix as (powers of 1024, power of ten); `None` when it is not one.
fn suffix_scale(suffix: &str) -> Option<(u32, i32)> {
    let binary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if let Some(at) = binary.iter().position(|name| *name == suffix) {
        return Some((u32::try_from(at).ok()? + 1, 0));
    }
    let decimal = match suffix {
        "n" => -9,
        "u" => -6,
        "m" => -3,
        "" => 0,
        "k" => 3,
        "M" => 6,
        "G" => 9,
        "T" => 12,
        "P" => 15,
        "E" => 18,
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            exponent.parse::<i32>().ok()?
        }
    };
    Some((0, decimal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same(a: Value, b: Value) -> Option<bool> {
        same_quantity(&a, &b)
    }

    #[test]
    fn equal_values_in_other_notations_are_equal() {
        assert_eq!(same(json!("1000m"), json!("1")), Some(true));
        assert_eq!(same(json!("0.5"), json!("500m")), Some(true));
        assert_eq!(same(json!(0.5), json!("500m")), Some(true));
        assert_eq!(same(json!(2), json!("2")), Some(true));
        assert_eq!(same(json!("1Gi"), json!("1073741824")), Some(true));
        assert_eq!(same(json!("1Gi"), json!("1024Mi")), Some(true));
        assert_eq!(same(json!("1e3"), json!("1k")), Some(true));
        assert_eq!(same(json!("1.5Gi"), json!("1536Mi")), Some(true));
        assert_eq!(same(json!("0"), json!("0m")), Some(true));
        assert_eq!(same(json!("+1"), json!("1")), Some(true));
    }

    #[test]
    fn different_values_differ() {
        assert_eq!(same(json!("1G"), json!("1Gi")), Some(false));
        assert_eq!(same(json!("100m"), json!("200m")), Some(false));
        assert_eq!(same(json!("-1"), json!("1")), Some(false));
    }

    #[test]
    fn what_cannot_be_read_or_needs_server_rounding_is_undecided() {
        assert_eq!(same(json!("1 Gi"), json!("1Gi")), None);
        assert_eq!(same(json!("lots"), json!("1")), None);
        assert_eq!(same(json!("1e"), json!("1")), None);
        assert_eq!(same(json!("."), json!("1")), None);
        assert_eq!(same(json!("1.2.3"), json!("1")), None);
        assert_eq!(same(json!("0.1n"), json!("1n")), None);
        assert_eq!(
            same(
                json!("99999999999999999999999999999999999999999Ei"),
                json!("1")
            ),
            None
        );
        assert_eq!(same(json!(true), json!("1")), None);
    }

    #[test]
    fn quantity_paths_are_resource_maps_and_size_limits() {
        let path = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert!(is_quantity_path(&path(
            "spec/containers/0/resources/limits/cpu"
        )));
        assert!(is_quantity_path(&path("spec/hard/requests.memory")));
        assert!(is_quantity_path(&path("spec/volumes/0/emptyDir/sizeLimit")));
        assert!(!is_quantity_path(&path("data/cpu")));
        assert!(!is_quantity_path(&path("spec/replicas")));
    }
}
