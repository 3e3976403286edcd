//! The dashboard's figures, from the stored records on each request. The one count kept beside them, alerts raised
//! (and with a case) per day, is kept by triggers in the same transaction as every write to an alert, so it cannot
//! drift from them (`alert_days`; a test compares it with a count of the alerts).
//!
//! Weeks run Monday 00:00 to Monday 00:00 UTC, and an alert counts in the week it was raised (its first event):
//!
//! - **raised**: alerts raised that week;
//! - **reached customers**: those whose install base snapshot held an item, or that got a proactive case;
//! - **with a proactive case**: those that got one (the alert's Case field);
//! - **alert to case**: from the alert's first event to its case's opening; **case to first notice**: from the
//!   case's opening to the first notice the mail server accepted for any of its accounts (median and 90th
//!   percentile, nearest rank);
//! - **beat the customer**: of the accounts the week's cases covered, the share whose first notice was accepted
//!   before their first reactive case about the case, or who never raised one; the **lead** is how long before
//!   that reactive case the notice went (median, over the accounts that did raise one after being told);
//! - **top impacted accounts** (the whole period): each case's affected items of the account times the hours its
//!   alert was open within the period (until it closed, or now), summed.

use serde::{Deserialize, Serialize};

/// Seconds in a day.
const DAY: i64 = 86_400;
/// How many accounts "top impacted accounts" lists.
pub const TOP_ACCOUNTS: usize = 10;
/// The longest period the dashboard shows, in weeks (two years).
pub const MAX_WEEKS: i64 = 106;

/// One week's figures (or, with `week` "All", the period's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekFigures {
    /// The week's Monday, `2026-11-30`.
    pub week: String,
    pub raised: u64,
    pub reached: u64,
    pub with_case: u64,
    /// Alert to case, in seconds.
    pub to_case: Spread,
    /// Case to first notice, in seconds.
    pub to_notice: Spread,
    /// Affected accounts of the week's cases, those told first, and the lead (seconds) before they called.
    pub accounts: u64,
    pub beaten: u64,
    pub lead: Spread,
}

impl WeekFigures {
    /// The share of the alerts that reached customers that got a proactive case, in percent.
    pub fn case_share(&self) -> Option<f64> {
        percent(self.with_case, self.reached)
    }

    /// The share of affected accounts told before they called, in percent.
    pub fn beat_share(&self) -> Option<f64> {
        percent(self.beaten, self.accounts)
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// The median and 90th percentile of some durations (seconds), and how many there were.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spread {
    pub count: u64,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

impl Spread {
    /// Of `values` (sorted here): the nearest-rank median and 90th percentile.
    pub fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        let rank = |p: f64| -> Option<i64> {
            let n = values.len();
            (n > 0).then(|| values[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        Self {
            count: values.len() as u64,
            median: rank(0.5),
            p90: rank(0.9),
        }
    }
}

/// An account's share of the period's impact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountImpact {
    pub account: String,
    /// Affected items times hours open within the period.
    pub item_hours: f64,
    /// Proactive cases that covered it.
    pub cases: u64,
}

/// A duration for people: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => format!("{} min", s / 60),
        s if s < DAY => format!("{} h {:02} min", s / 3_600, s % 3_600 / 60),
        s => format!("{} d {} h", s / DAY, s % DAY / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_the_nearest_rank_median_and_90th_percentile() {
        assert_eq!(Spread::of(vec![]), Spread::default());
        let one = Spread::of(vec![7]);
        assert_eq!((one.count, one.median, one.p90), (1, Some(7), Some(7)));
        let ten = Spread::of((1..=10).rev().collect());
        assert_eq!((ten.median, ten.p90), (Some(5), Some(9)));
        let four = Spread::of(vec![40, 10, 30, 20]);
        assert_eq!((four.median, four.p90), (Some(20), Some(40)));
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(42), "42 s");
        assert_eq!(duration(12 * 60 + 5), "12 min");
        assert_eq!(duration(3 * 3_600 + 5 * 60), "3 h 05 min");
        assert_eq!(duration(2 * DAY + 4 * 3_600), "2 d 4 h");
    }
}
