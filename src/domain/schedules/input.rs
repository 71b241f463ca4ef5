//! A schedule as its form submits it, and the checks that turn it into stored values.
use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::timing::{self, Cadence};
use crate::domain::ids::ContactId;

pub type FieldErrors = BTreeMap<&'static str, String>;

/// The raw form. Weekdays and contacts are repeated fields, so it is read from pairs.
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput {
    pub name: String,
    pub time_zone: String,
    /// `interval` or `times`.
    pub kind: String,
    pub every: String,
    /// `hours` or `minutes`.
    pub unit: String,
    pub times: String,
    pub days: Vec<String>,
    pub grace: String,
    pub tier1: Vec<String>,
    pub tier2: Vec<String>,
    pub tier2_after: String,
    pub repeat: String,
    pub enabled: bool,
    pub shared: bool,
}

impl ScheduleInput {
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut s = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => s.name = v.clone(),
                "time_zone" => s.time_zone = v.clone(),
                "kind" => s.kind = v.clone(),
                "every" => s.every = v.clone(),
                "unit" => s.unit = v.clone(),
                "times" => s.times = v.clone(),
                "day" => s.days.push(v.clone()),
                "grace" => s.grace = v.clone(),
                "tier1" => s.tier1.push(v.clone()),
                "tier2" => s.tier2.push(v.clone()),
                "tier2_after" => s.tier2_after = v.clone(),
                "repeat" => s.repeat = v.clone(),
                "enabled" => s.enabled = true,
                "shared" => s.shared = true,
                _ => {}
            }
        }
        s
    }

    /// A new schedule's form: every 4 hours, 30 minutes' grace, in the creator's zone.
    pub fn blank(zone: &str) -> Self {
        Self {
            time_zone: zone.to_string(),
            kind: "interval".into(),
            every: "4".into(),
            unit: "hours".into(),
            times: "08:00, 17:00".into(),
            days: (0..5).map(|d| d.to_string()).collect(),
            grace: "30".into(),
            repeat: "30".into(),
            enabled: true,
            ..Self::default()
        }
    }

    pub fn has_day(&self, day: &usize) -> bool {
        self.days.iter().any(|d| d == &day.to_string())
    }

    pub fn in_tier(&self, tier: u8, contact: &ContactId) -> bool {
        let id = contact.to_string();
        let list = if tier == 1 { &self.tier1 } else { &self.tier2 };
        list.iter().any(|c| c == &id)
    }
}

/// A checked schedule, ready to store.
#[derive(Debug, Clone)]
pub struct Fields {
    pub name: String,
    pub zone: Tz,
    pub cadence: Cadence,
    pub grace_minutes: i32,
    pub tier1: Vec<ContactId>,
    pub tier2: Vec<ContactId>,
    pub tier2_after: Option<i32>,
    pub repeat: Option<i32>,
    pub enabled: bool,
    pub shared: bool,
}

fn minutes(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    range: std::ops::RangeInclusive<i32>,
    what: &str,
) -> Option<i32> {
    match raw.trim().parse::<i32>() {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            errors.insert(
                field,
                format!("Enter {what} from {} to {}.", range.start(), range.end()),
            );
            None
        }
    }
}

fn contact_ids(errors: &mut FieldErrors, field: &'static str, raw: &[String]) -> Vec<ContactId> {
    let mut ids = Vec::new();
    for r in raw {
        match r.parse::<ContactId>() {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => {
                errors.insert(field, "Choose contacts from the list.".into());
            }
        }
    }
    ids
}

pub fn parse(input: &ScheduleInput) -> Result<Fields, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.insert("name", "Give the schedule a name.".into());
    } else if name.chars().count() > 60 {
        errors.insert("name", "Use at most 60 characters.".into());
    } else if let Some(c) = crate::domain::text::hidden_char(&name, &[]) {
        errors.insert("name", crate::domain::text::hidden_message(c));
    }
    let zone = input.time_zone.trim().parse::<Tz>().ok();
    if zone.is_none() {
        errors.insert(
            "time_zone",
            "Choose a time zone from the list, like Europe/London.".into(),
        );
    }
    let cadence = match input.kind.as_str() {
        "interval" => {
            let (range, unit) = match input.unit.as_str() {
                "hours" => (1..=168, 60),
                _ => (5..=10080, 1),
            };
            minutes(&mut errors, "every", &input.every, range, "a number")
                .map(|n| Cadence::Every { minutes: n * unit })
        }
        "times" => {
            let mut times = Vec::new();
            for part in input
                .times
                .split([',', ' '])
                .filter(|p| !p.trim().is_empty())
            {
                match timing::parse_time(part) {
                    Some(t) => times.push(t),
                    None => {
                        errors.insert(
                            "times",
                            format!(
                                "“{}” is not a time; write times like 08:00, 17:30.",
                                part.trim()
                            ),
                        );
                    }
                }
            }
            times.sort();
            times.dedup();
            if times.is_empty() && !errors.contains_key("times") {
                errors.insert("times", "Give at least one time, like 08:00.".into());
            } else if times.len() > 24 {
                errors.insert("times", "Give at most 24 times a day.".into());
            }
            let mut weekdays: i16 = 0;
            for d in &input.days {
                match d.parse::<u8>() {
                    Ok(n) if n < 7 => weekdays |= 1 << n,
                    _ => {
                        errors.insert("days", "Choose days from the list.".into());
                    }
                }
            }
            if weekdays == 0 && !errors.contains_key("days") {
                errors.insert("days", "Choose at least one day.".into());
            }
            Some(Cadence::At { times, weekdays })
        }
        _ => {
            errors.insert("kind", "Choose an interval or set times.".into());
            None
        }
    };
    let grace = minutes(&mut errors, "grace", &input.grace, 0..=1440, "minutes");
    let tier1 = contact_ids(&mut errors, "tier1", &input.tier1);
    let tier2 = contact_ids(&mut errors, "tier2", &input.tier2);
    if tier1.iter().any(|c| tier2.contains(c)) {
        errors.insert("tier2", "A contact is in one tier only.".into());
    }
    let tier2_after = if tier2.is_empty() {
        None
    } else {
        minutes(
            &mut errors,
            "tier2_after",
            &input.tier2_after,
            1..=10080,
            "minutes",
        )
    };
    let repeat = match input.repeat.trim() {
        "" | "0" => None,
        raw => minutes(
            &mut errors,
            "repeat",
            raw,
            5..=1440,
            "minutes (or leave it empty)",
        ),
    };
    match (zone, cadence, grace) {
        (Some(zone), Some(cadence), Some(grace_minutes)) if errors.is_empty() => Ok(Fields {
            name,
            zone,
            cadence,
            grace_minutes,
            tier1,
            tier2,
            tier2_after,
            repeat,
            enabled: input.enabled,
            shared: input.shared,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_four_hours_with_grace() {
        let f = parse(&ScheduleInput::from_pairs(&pairs(&[
            ("name", "Field staff"),
            ("time_zone", "Europe/London"),
            ("kind", "interval"),
            ("every", "4"),
            ("unit", "hours"),
            ("grace", "30"),
        ])))
        .unwrap();
        assert_eq!(f.cadence, Cadence::Every { minutes: 240 });
        assert_eq!(f.grace_minutes, 30);
        assert!(!f.enabled);
    }

    #[test]
    fn set_times_need_times_and_days_and_say_which_field_is_wrong() {
        let e = parse(&ScheduleInput::from_pairs(&pairs(&[
            ("name", ""),
            ("time_zone", "Mars/Olympus"),
            ("kind", "times"),
            ("times", "08:00, 25:00"),
            ("grace", "-1"),
        ])))
        .unwrap_err();
        for field in ["name", "time_zone", "times", "days", "grace"] {
            assert!(e.contains_key(field), "{field}: {e:?}");
        }
        let f = parse(&ScheduleInput::from_pairs(&pairs(&[
            ("name", "Office"),
            ("time_zone", "America/New_York"),
            ("kind", "times"),
            ("times", "17:00 08:00"),
            ("day", "0"),
            ("day", "4"),
            ("grace", "0"),
        ])))
        .unwrap();
        assert_eq!(
            f.cadence,
            Cadence::At {
                times: vec![480, 1020],
                weekdays: 0b1_0001
            }
        );
    }
}
