//! The alphabetical strategy: byte-wise string order.

use std::cmp::Ordering;

use super::{Key, Rank, Ranked};
use crate::spec::Order;

/// Keeps every value; ranks by byte-wise comparison.
#[derive(Debug, Clone)]
pub(crate) struct Alphabetical {
    order: Order,
}

impl Alphabetical {
    /// Builds the strategy.
    pub(crate) fn new(order: Order) -> Self {
        Self { order }
    }

    /// Which end wins.
    pub(crate) fn order(&self) -> Order {
        self.order
    }
}

impl Rank for Alphabetical {
    fn key(&self, _tag: &str, _value: &str) -> Option<Key> {
        Some(Key::Plain)
    }

    fn compare(&self, a: &Ranked<'_>, b: &Ranked<'_>) -> Ordering {
        a.value.cmp(b.value)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Order, PolicySpec, StrategySpec, TagPolicy};

    fn pick<'t>(order: Order, tags: &[&'t str]) -> Option<&'t str> {
        let policy = TagPolicy::new(PolicySpec::new(StrategySpec::Alphabetical { order }))
            .expect("valid policy");
        let chosen = policy.select_from(tags.iter().copied(), &|_| None, std::time::UNIX_EPOCH);
        chosen.ok().map(|selected| selected.tag)
    }

    #[test]
    fn asc_picks_the_greatest_and_desc_the_smallest() {
        let tags = [
            "RELEASE.2024-01-02",
            "RELEASE.2023-12-31",
            "RELEASE.2024-01-10",
        ];
        assert_eq!(pick(Order::Asc, &tags), Some("RELEASE.2024-01-10"));
        assert_eq!(pick(Order::Desc, &tags), Some("RELEASE.2023-12-31"));
        assert_eq!(pick(Order::Asc, &[]), None);
    }

    #[test]
    fn compares_bytes_not_numbers() {
        assert_eq!(pick(Order::Asc, &["9", "10"]), Some("9"));
        assert_eq!(pick(Order::Asc, &["Z", "a"]), Some("a"));
    }
}
