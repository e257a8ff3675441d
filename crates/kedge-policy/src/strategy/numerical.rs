//! The numerical strategy: values parsed as decimal numbers.
//!
//! Parsing is Rust's `f64::from_str`, which accepts what Go's
//! `strconv.ParseFloat` accepts for decimal input (`42`, `-1.5`, `+3`, `.5`,
//! `1e3`), but not hexadecimal floats. Non-finite values (`inf`, `NaN`) are
//! rejected: they are words, not build numbers.

use std::cmp::Ordering;

use super::{Key, Rank, Ranked};
use crate::spec::Order;

/// Keeps values that are finite numbers; ranks by numeric value.
#[derive(Debug, Clone)]
pub(crate) struct Numerical {
    order: Order,
}

impl Numerical {
    /// Builds the strategy.
    pub(crate) fn new(order: Order) -> Self {
        Self { order }
    }

    /// Which end wins.
    pub(crate) fn order(&self) -> Order {
        self.order
    }
}

impl Rank for Numerical {
    fn key(&self, _tag: &str, value: &str) -> Option<Key> {
        let number: f64 = value.parse().ok()?;
        number.is_finite().then_some(Key::Number(number))
    }

    fn compare(&self, a: &Ranked<'_>, b: &Ranked<'_>) -> Ordering {
        match (a.key, b.key) {
            (Key::Number(x), Key::Number(y)) => x.total_cmp(&y),
            _ => Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Order, PolicySpec, StrategySpec, TagPolicy};

    fn policy(order: Order) -> TagPolicy {
        TagPolicy::new(PolicySpec::new(StrategySpec::Numerical { order })).expect("valid policy")
    }

    #[test]
    fn ranks_by_value_and_drops_non_numbers() {
        let tags = ["9", "10", "-3", "2.5", "1e1", "latest", "inf", "NaN", "1a"];
        let asc = policy(Order::Asc);
        let filtered = asc.filter(tags);
        assert_eq!(filtered.report.removed_by_strategy, 4);
        let chosen = asc.select(&filtered, &|_| None, std::time::UNIX_EPOCH);
        // 10 and 1e1 are equal: the byte-wise greater tag wins.
        assert_eq!(chosen.map(|s| s.tag).ok(), Some("1e1"));
        let desc = policy(Order::Desc).select_from(tags, &|_| None, std::time::UNIX_EPOCH);
        assert_eq!(desc.map(|s| s.tag).ok(), Some("-3"));
    }

    #[test]
    fn names_itself_when_nothing_is_a_number() {
        let error = policy(Order::Asc)
            .select_from(["latest", "main"], &|_| None, std::time::UNIX_EPOCH)
            .expect_err("no numbers");
        assert_eq!(
            error.to_string(),
            "saw 2 tags; none left: numerical (not a number) removed 2"
        );
    }
}
