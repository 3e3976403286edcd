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

#[cfg(feature = "ssr")]
use crate::store::clock;
use serde::{Deserialize, Serialize};

/// Seconds in a day and a week.
const DAY: i64 = 86_400;
#[cfg(feature = "ssr")]
const WEEK: i64 = 7 * DAY;
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

#[cfg(feature = "ssr")]
/// The weeks shown: `first` Monday to `last` Monday, both included, as seconds since 1970.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weeks {
    pub first: i64,
    pub last: i64,
}

#[cfg(feature = "ssr")]
impl Weeks {
    /// The weeks holding the dates `from` and `to` (`YYYY-MM-DD`), checked.
    pub fn of(from: i64, to: i64) -> Self {
        Self {
            first: monday(from),
            last: monday(to),
        }
    }

    /// Where the period starts and ends (the Monday after the last week), as stored times.
    pub fn bounds(self) -> (String, String) {
        (clock::utc_text(self.first), clock::utc_text(self.last + WEEK))
    }

    pub fn count(self) -> i64 {
        (self.last - self.first) / WEEK + 1
    }

    /// The index of the week holding `secs`, if it is in the period.
    fn index(self, secs: i64) -> Option<usize> {
        let week = (monday(secs) - self.first) / WEEK;
        (0..self.count()).contains(&week).then_some(week as usize)
    }

    fn mondays(self) -> impl Iterator<Item = i64> {
        (0..self.count()).map(move |i| self.first + i * WEEK)
    }
}

#[cfg(feature = "ssr")]
/// The Monday 00:00 UTC of the week holding `secs` (1970-01-01 was a Thursday).
pub fn monday(secs: i64) -> i64 {
    let day = secs.div_euclid(DAY);
    (day - (day + 3).rem_euclid(7)) * DAY
}

#[cfg(feature = "ssr")]
/// A stored time (`2026-11-30 09:15:00`) as seconds since 1970.
pub fn stored_secs(text: &str) -> Option<i64> {
    clock::parse_rfc3339(&format!("{}Z", text.trim()))
}

#[cfg(feature = "ssr")]
/// A date as a form sends it (`2026-11-30`) as seconds since 1970, at 00:00 UTC.
pub fn date_secs(text: &str) -> Option<i64> {
    let text = text.trim();
    (text.len() == 10).then(|| stored_secs(&format!("{text} 00:00:00")))?
}

#[cfg(feature = "ssr")]
/// What the alerts query gives per day: the day (`YYYY-MM-DD`), raised, reached, with a case.
pub type DayRow = (String, i64, i64, i64);
#[cfg(feature = "ssr")]
/// What the cases query gives per case: the alert's first event, the case's opening, its first accepted notice.
pub type CaseRow = (String, String, Option<String>);
#[cfg(feature = "ssr")]
/// What the accounts query gives per case and account: the alert's first event, its end (closing, or now), the
/// account, its affected items, its first accepted notice, its first reactive case about the case.
pub type AccountRow = (String, String, String, i64, Option<String>, Option<String>);

#[cfg(feature = "ssr")]
/// The figures of each week and of the whole period, and the top impacted accounts, from the rows the queries give.
pub fn compute(
    weeks: Weeks,
    days: &[DayRow],
    cases: &[CaseRow],
    accounts: &[AccountRow],
) -> (Vec<WeekFigures>, WeekFigures, Vec<AccountImpact>) {
    let n = weeks.count() as usize;
    let mut rows: Vec<WeekFigures> = weeks
        .mondays()
        .map(|m| WeekFigures {
            week: clock::utc_text(m)[..10].to_owned(),
            ..WeekFigures::default()
        })
        .collect();
    let (mut to_case, mut to_notice, mut lead) = (vec![Vec::new(); n], vec![Vec::new(); n], vec![Vec::new(); n]);
    for (day, raised, reached, with_case) in days {
        let Some(week) = date_secs(day).and_then(|s| weeks.index(s)) else {
            continue;
        };
        rows[week].raised += u64::try_from(*raised).unwrap_or(0);
        rows[week].reached += u64::try_from(*reached).unwrap_or(0);
        rows[week].with_case += u64::try_from(*with_case).unwrap_or(0);
    }
    for (raised, opened, first_notice) in cases {
        let (Some(raised), Some(opened)) = (stored_secs(raised), stored_secs(opened)) else {
            continue;
        };
        let Some(week) = weeks.index(raised) else { continue };
        to_case[week].push((opened - raised).max(0));
        if let Some(told) = first_notice.as_deref().and_then(stored_secs) {
            to_notice[week].push((told - opened).max(0));
        }
    }
    let (period_start, period_end) = (weeks.first, weeks.last + WEEK);
    let mut impact: Vec<AccountImpact> = Vec::new();
    for (raised, ended, account, items, told, called) in accounts {
        let (Some(raised), Some(ended)) = (stored_secs(raised), stored_secs(ended)) else {
            continue;
        };
        let Some(week) = weeks.index(raised) else { continue };
        let row = &mut rows[week];
        row.accounts += 1;
        let told = told.as_deref().and_then(stored_secs);
        let called = called.as_deref().and_then(stored_secs);
        match (told, called) {
            (Some(_), None) => row.beaten += 1,
            (Some(told), Some(called)) if told < called => {
                row.beaten += 1;
                lead[week].push(called - told);
            }
            _ => {}
        }
        let open = (ended.min(period_end) - raised.max(period_start)).max(0);
        let item_hours = *items as f64 * open as f64 / 3_600.0;
        match impact.iter_mut().find(|a| &a.account == account) {
            Some(known) => {
                known.item_hours += item_hours;
                known.cases += 1;
            }
            None => impact.push(AccountImpact {
                account: account.clone(),
                item_hours,
                cases: 1,
            }),
        }
    }
    let mut all = WeekFigures {
        week: "All".to_owned(),
        ..WeekFigures::default()
    };
    for (i, row) in rows.iter_mut().enumerate() {
        row.to_case = Spread::of(to_case[i].clone());
        row.to_notice = Spread::of(to_notice[i].clone());
        row.lead = Spread::of(lead[i].clone());
        all.raised += row.raised;
        all.reached += row.reached;
        all.with_case += row.with_case;
        all.accounts += row.accounts;
        all.beaten += row.beaten;
    }
    all.to_case = Spread::of(to_case.concat());
    all.to_notice = Spread::of(to_notice.concat());
    all.lead = Spread::of(lead.concat());
    impact.sort_by(|a, b| {
        b.item_hours
            .total_cmp(&a.item_hours)
            .then_with(|| a.account.cmp(&b.account))
    });
    impact.truncate(TOP_ACCOUNTS);
    (rows, all, impact)
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

#[cfg(all(test, feature = "ssr"))]
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
    fn weeks_start_on_monday_in_utc() {
        // 2026-12-02 is a Wednesday; its week's Monday is 2026-11-30.
        let wednesday = date_secs("2026-12-02").expect("date") + 13 * 3_600;
        assert_eq!(clock::utc_text(monday(wednesday)), "2026-11-30 00:00:00");
        let sunday = date_secs("2026-12-06").expect("date") + DAY - 1;
        assert_eq!(monday(sunday), monday(wednesday));
        assert_eq!(monday(date_secs("2026-12-07").expect("date")), monday(wednesday) + WEEK);
        assert_eq!(date_secs("2026-13-01"), None);
        assert_eq!(date_secs("yesterday"), None);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(42), "42 s");
        assert_eq!(duration(12 * 60 + 5), "12 min");
        assert_eq!(duration(3 * 3_600 + 5 * 60), "3 h 05 min");
        assert_eq!(duration(2 * DAY + 4 * 3_600), "2 d 4 h");
    }
}
