//! The dashboard's weeks and the figures computed for them from the rows its queries give (the definitions are in
//! [`super::figures`]).

use super::figures::{AccountImpact, Spread, WeekFigures, TOP_ACCOUNTS};
use crate::store::clock;

/// Seconds in a day and a week.
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// The weeks shown: `first` Monday to `last` Monday, both included, as seconds since 1970.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weeks {
    pub first: i64,
    pub last: i64,
}

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

/// The Monday 00:00 UTC of the week holding `secs` (1970-01-01 was a Thursday).
pub fn monday(secs: i64) -> i64 {
    let day = secs.div_euclid(DAY);
    (day - (day + 3).rem_euclid(7)) * DAY
}

/// A stored time (`2026-11-30 09:15:00`) as seconds since 1970.
pub fn stored_secs(text: &str) -> Option<i64> {
    clock::parse_rfc3339(&format!("{}Z", text.trim()))
}

/// A date as a form sends it (`2026-11-30`) as seconds since 1970, at 00:00 UTC.
pub fn date_secs(text: &str) -> Option<i64> {
    let text = text.trim();
    (text.len() == 10).then(|| stored_secs(&format!("{text} 00:00:00")))?
}

/// What the alerts query gives per day: the day (`YYYY-MM-DD`), raised, reached, with a case.
pub type DayRow = (String, i64, i64, i64);
/// What the cases query gives per case: the alert's first event, the case's opening, its first accepted notice.
pub type CaseRow = (String, String, Option<String>);
/// What the accounts query gives per case and account: the alert's first event, its end (closing, or now), the
/// account, its affected items, its first accepted notice, its first reactive case about the case.
pub type AccountRow = (String, String, String, i64, Option<String>, Option<String>);

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
