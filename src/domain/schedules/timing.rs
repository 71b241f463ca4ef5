//! When a check-in is due: the arithmetic of a schedule, in its own time zone.
//!
//! An interval counts elapsed time ("every 4 hours" is 4 hours of real time, whatever the clocks
//! do). Set times are wall-clock times in the schedule's zone on its weekdays, and a
//! daylight-saving change is met the way calendars (RFC 5545) meet it: a time the spring-forward
//! night skips is read with the offset from before the gap (02:30 in New York becomes 03:30
//! EDT), and a time the autumn night repeats means its first occurrence.
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How often a device must check in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cadence {
    /// Every so many minutes after the last check-in.
    Every { minutes: i32 },
    /// At these minutes after local midnight (sorted), on the weekdays whose bit is set
    /// (bit 0 Monday … bit 6 Sunday).
    At { times: Vec<i16>, weekdays: i16 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub zone: Tz,
    pub cadence: Cadence,
    pub grace_minutes: i32,
}

impl Timing {
    /// When the next check-in is due after one made at `from` (or after the schedule began to
    /// count at `from`). A check-in counts for a set time up to the grace period ahead of it,
    /// so someone who checks in at 07:50 for 08:00 with 15 minutes' grace is next due at the
    /// following set time.
    pub fn next_due(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        match &self.cadence {
            Cadence::Every { minutes } => from + Duration::minutes(i64::from(*minutes)),
            Cadence::At { times, weekdays } => {
                let covered = from + Duration::minutes(i64::from(self.grace_minutes));
                let start = covered.with_timezone(&self.zone).date_naive() - Duration::days(1);
                // Two consecutive days with a candidate settle it: a shifted time of one day
                // can pass an early time of the next by at most the gap's length.
                let mut best: Option<DateTime<Utc>> = None;
                let mut days_after_first = None;
                for offset in 0..16 {
                    let date = start + Duration::days(offset);
                    if weekdays & (1 << date.weekday().num_days_from_monday()) == 0 {
                        continue;
                    }
                    for t in times {
                        let at = self.resolve(date, *t);
                        if at > covered && best.is_none_or(|b| at < b) {
                            best = Some(at);
                        }
                    }
                    if best.is_some() {
                        match days_after_first {
                            None => days_after_first = Some(0),
                            Some(n) if n >= 1 => break,
                            Some(n) => days_after_first = Some(n + 1),
                        }
                    }
                }
                // Weekdays are never empty (the form and the database refuse it); a week
                // later is only a fallback that the loop above cannot miss.
                best.unwrap_or(covered + Duration::days(7))
            }
        }
    }

    /// The instant the set time `minute` of `date` names in the zone.
    pub fn resolve(&self, date: NaiveDate, minute: i16) -> DateTime<Utc> {
        let naive =
            date.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(i64::from(minute));
        match self.zone.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => self.before_gap(naive),
        }
    }

    /// A wall time the clocks skip, read with the offset in force just before the gap.
    fn before_gap(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        use chrono::Offset;
        let earlier = naive - Duration::hours(3);
        let offset = match self.zone.from_local_datetime(&earlier) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.offset().fix(),
            LocalResult::None => self.zone.offset_from_utc_datetime(&earlier).fix(),
        };
        Utc.from_utc_datetime(&(naive - Duration::seconds(i64::from(offset.local_minus_utc()))))
    }
}

/// `"08:00"` → 480.
pub fn parse_time(text: &str) -> Option<i16> {
    let (h, m) = text.trim().split_once(':')?;
    if !(1..=2).contains(&h.len()) || m.len() != 2 {
        return None;
    }
    let (h, m): (i16, i16) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// 480 → `"08:00"`.
pub fn show_time(minute: i16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The days a bit set names, as "Mon–Fri", "every day" or "Mon, Wed, Sat".
pub fn show_weekdays(bits: i16) -> String {
    match bits {
        127 => "every day".into(),
        31 => "Mon–Fri".into(),
        96 => "Sat–Sun".into(),
        _ => WEEKDAYS
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, d)| *d)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::Timelike;

    fn at(times: &[&str], weekdays: i16, zone: Tz, grace: i32) -> Timing {
        let mut times: Vec<i16> = times.iter().map(|t| parse_time(t).unwrap()).collect();
        times.sort();
        Timing {
            zone,
            cadence: Cadence::At { times, weekdays },
            grace_minutes: grace,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn london_spring_forward_skips_0130_and_autumn_repeats_it() {
        let t = at(&["01:30"], 127, chrono_tz::Europe::London, 0);
        // 28 March 2027: 01:00 GMT becomes 02:00 BST; 01:30 does not exist, read as GMT.
        let due = t.next_due(utc("2027-03-27T12:00:00Z"));
        assert_eq!(due, utc("2027-03-28T01:30:00Z"));
        // The next day is ordinary BST.
        assert_eq!(t.next_due(due), utc("2027-03-29T00:30:00Z"));
        // 31 October 2027: 01:30 happens twice; the first (BST) is meant.
        let due = t.next_due(utc("2027-10-30T12:00:00Z"));
        assert_eq!(due, utc("2027-10-31T00:30:00Z"));
        assert_eq!(t.next_due(due), utc("2027-11-01T01:30:00Z"));
    }

    #[test]
    fn new_york_0230_on_the_spring_forward_night_and_the_repeated_autumn_hour() {
        let t = at(&["02:30"], 127, chrono_tz::America::New_York, 0);
        // 14 March 2027: 02:00 EST becomes 03:00 EDT; 02:30 EST is 07:30 UTC (03:30 EDT).
        let due = t.next_due(utc("2027-03-13T12:00:00Z"));
        assert_eq!(due, utc("2027-03-14T07:30:00Z"));
        assert_eq!(t.next_due(due), utc("2027-03-15T06:30:00Z"));
        // 7 November 2027: 01:30 happens twice (EDT, then EST).
        let t = at(&["01:30"], 127, chrono_tz::America::New_York, 0);
        let due = t.next_due(utc("2027-11-06T12:00:00Z"));
        assert_eq!(due, utc("2027-11-07T05:30:00Z"));
        assert_eq!(t.next_due(due), utc("2027-11-08T06:30:00Z"));
    }

    #[test]
    fn auckland_weekday_times_cross_the_date_line_the_right_way() {
        // 08:00 and 17:00 Mon–Fri in Auckland (NZDT, UTC+13 in January).
        let t = at(&["08:00", "17:00"], 31, chrono_tz::Pacific::Auckland, 0);
        // Friday 8 January 2027, 17:00 NZDT = 04:00 UTC; next is Monday 08:00 = Sunday 19:00 UTC.
        let friday_evening = utc("2027-01-08T04:00:00Z");
        assert_eq!(t.next_due(friday_evening), utc("2027-01-10T19:00:00Z"));
        // Just before Friday 17:00, it is Friday 17:00.
        assert_eq!(
            t.next_due(utc("2027-01-08T03:00:00Z")),
            utc("2027-01-08T04:00:00Z")
        );
    }

    #[test]
    fn a_check_in_counts_for_a_set_time_within_the_grace_ahead_of_it() {
        let t = at(&["08:00", "17:00"], 127, chrono_tz::UTC, 15);
        assert_eq!(
            t.next_due(utc("2027-05-03T07:50:00Z")),
            utc("2027-05-03T17:00:00Z")
        );
        assert_eq!(
            t.next_due(utc("2027-05-03T07:40:00Z")),
            utc("2027-05-03T08:00:00Z")
        );
    }

    #[test]
    fn an_interval_counts_real_time_across_a_clock_change() {
        let t = Timing {
            zone: chrono_tz::Europe::London,
            cadence: Cadence::Every { minutes: 240 },
            grace_minutes: 30,
        };
        assert_eq!(
            t.next_due(utc("2027-03-28T00:00:00Z")),
            utc("2027-03-28T04:00:00Z")
        );
    }

    /// A small deterministic generator: the property runs the same cases every time.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn every_due_time_is_later_than_the_last_and_on_a_set_time_of_a_set_day() {
        let zones = [
            chrono_tz::Europe::London,
            chrono_tz::America::New_York,
            chrono_tz::Pacific::Auckland,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kolkata,
            chrono_tz::America::Santiago,
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..400 {
            let zone = zones[rng.below(zones.len() as u64) as usize];
            let n = 1 + rng.below(4) as usize;
            let mut times: Vec<i16> = (0..n).map(|_| (rng.below(96) * 15) as i16).collect();
            times.sort();
            times.dedup();
            let weekdays = (1 + rng.below(127)) as i16;
            let grace = (rng.below(4) * 10) as i32;
            let t = Timing {
                zone,
                cadence: Cadence::At {
                    times: times.clone(),
                    weekdays,
                },
                grace_minutes: grace,
            };
            // Anywhere in 2027, so both changes of every zone are crossed.
            let mut from =
                utc("2027-01-01T00:00:00Z") + Duration::minutes(rng.below(525_600) as i64);
            for _ in 0..30 {
                let due = t.next_due(from);
                assert!(
                    due > from,
                    "{zone} {times:?} {weekdays}: {due} after {from}"
                );
                let local = due.with_timezone(&zone);
                let date = local.date_naive();
                let minute = (local.hour() * 60 + local.minute()) as i16;
                let on_time = times.contains(&minute)
                    && weekdays & (1 << date.weekday().num_days_from_monday()) != 0;
                // Or a set time the clocks skipped that day (or the day before, for a gap
                // at midnight), read with the offset from before the gap.
                let skipped = [date, date - Duration::days(1)].iter().any(|d| {
                    weekdays & (1 << d.weekday().num_days_from_monday()) != 0
                        && times.iter().any(|m| {
                            let naive =
                                d.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(i64::from(*m));
                            matches!(zone.from_local_datetime(&naive), LocalResult::None)
                                && t.resolve(*d, *m) == due
                        })
                });
                assert!(on_time || skipped, "{zone} {times:?} {weekdays}: {local}");
                // Nothing was skipped between: no set time falls in (from + grace, due).
                let covered = from + Duration::minutes(i64::from(grace));
                let mut d = covered.with_timezone(&zone).date_naive() - Duration::days(1);
                while d <= date + Duration::days(1) {
                    if weekdays & (1 << d.weekday().num_days_from_monday()) != 0 {
                        for m in &times {
                            let x = t.resolve(d, *m);
                            assert!(!(x > covered && x < due), "{zone}: {x} skipped");
                        }
                    }
                    d += Duration::days(1);
                }
                from = due;
            }
        }
    }

    #[test]
    fn times_parse_and_print() {
        assert_eq!(parse_time("08:00"), Some(480));
        assert_eq!(parse_time(" 17:05 "), Some(1025));
        assert_eq!(parse_time("24:00"), None);
        assert_eq!(parse_time("8"), None);
        assert_eq!(parse_time("08:000"), None);
        assert_eq!(show_time(1025), "17:05");
        assert_eq!(show_weekdays(31), "Mon–Fri");
        assert_eq!(show_weekdays(0b101_0001), "Mon, Fri, Sun");
    }
}
