//! A device's fields, parsed at the edge: an IMEI with its Luhn check digit, or a serial
//! number; a phone number in E.164; a kind and a status from fixed lists.
use std::collections::BTreeMap;

use crate::domain::states::{DeviceKind, DeviceStatus};

/// Field name → message, shown beside the field (or in an import row's report).
pub type FieldErrors = BTreeMap<&'static str, String>;

pub const KINDS: &[(&str, &str)] = &[
    ("satellite_phone", "Satellite phone"),
    ("tracker", "Tracker"),
    ("router", "Router"),
    ("phone", "Phone"),
    ("other", "Other"),
];

pub const STATUSES: &[(&str, &str)] = &[
    ("in_stock", "In stock"),
    ("active", "Active"),
    ("in_repair", "In repair"),
    ("retired", "Retired"),
];

pub fn label(list: &[(&'static str, &'static str)], key: &str) -> &'static str {
    list.iter()
        .find(|(k, _)| *k == key)
        .map_or("?", |(_, l)| *l)
}

/// True when the last digit of a 15-digit IMEI is its Luhn check digit.
pub fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Completes 14 digits with their Luhn check digit (demo data, tests, benchmarks).
pub fn imei_from(first14: &str) -> String {
    (0..10)
        .map(|d| format!("{first14}{d}"))
        .find(|c| luhn_ok(c))
        .unwrap_or_default()
}

/// Either an IMEI (15 digits, Luhn) or a serial number, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Imei(String),
    Serial(String),
}

impl Identifier {
    pub fn parse(imei: &str, serial: &str) -> Result<Self, (&'static str, String)> {
        let imei: String = imei
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let serial = serial.trim();
        match (imei.is_empty(), serial.is_empty()) {
            (true, true) => Err((
                "imei",
                "Enter an IMEI, or a serial number for a device without one.".into(),
            )),
            (false, false) => Err((
                "serial",
                "Enter an IMEI or a serial number, not both.".into(),
            )),
            (false, true) => {
                if imei.len() != 15 || !imei.bytes().all(|b| b.is_ascii_digit()) {
                    Err(("imei", "An IMEI has exactly 15 digits.".into()))
                } else if !luhn_ok(&imei) {
                    Err((
                        "imei",
                        "This IMEI's check digit is wrong; check for a typo.".into(),
                    ))
                } else {
                    Ok(Self::Imei(imei))
                }
            }
            (true, false) => {
                let ok = (3..=40).contains(&serial.len())
                    && serial
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
                if ok {
                    Ok(Self::Serial(serial.to_ascii_uppercase()))
                } else {
                    Err((
                        "serial",
                        "A serial number has 3 to 40 letters, digits, - _ . or /.".into(),
                    ))
                }
            }
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Self::Imei(v) | Self::Serial(v) => v,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Imei(_) => "imei",
            Self::Serial(_) => "serial",
        }
    }
}

/// A phone number in E.164 (`+` and 7 to 15 digits); spaces are dropped.
pub fn parse_phone(raw: &str) -> Result<Option<String>, String> {
    let phone: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if phone.is_empty() {
        return Ok(None);
    }
    let digits = phone.strip_prefix('+').unwrap_or("");
    let ok = (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(Some(phone))
    } else {
        Err("Use the international format, like +447700900123.".into())
    }
}

/// What a form or an import row says about a device, before checking.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DeviceInput {
    #[serde(default)]
    pub imei: String,
    #[serde(default)]
    pub serial: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub notes: String,
}

/// A device's checked fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFields {
    pub identifier: Identifier,
    pub name: String,
    pub model: String,
    pub kind: DeviceKind,
    pub status: DeviceStatus,
    pub phone: Option<String>,
    pub notes: String,
}

fn text(raw: &str, max: usize, field: &'static str, errors: &mut FieldErrors) -> String {
    let v = raw.trim();
    if v.chars().count() > max {
        errors.insert(field, format!("Use at most {max} characters."));
    } else if let Some(c) = crate::domain::text::hidden_char(v, &['\n', '\r', '\t']) {
        errors.insert(field, crate::domain::text::hidden_message(c));
    }
    v.to_string()
}

impl DeviceInput {
    pub fn parse(&self) -> Result<DeviceFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let identifier = Identifier::parse(&self.imei, &self.serial)
            .map_err(|(f, m)| errors.insert(f, m))
            .ok();
        let name = text(&self.name, 100, "name", &mut errors);
        if name.is_empty() {
            errors.insert("name", "Enter a name.".into());
        }
        let model = text(&self.model, 100, "model", &mut errors);
        let notes = text(&self.notes, 2000, "notes", &mut errors);
        let kind = DeviceKind::parse(self.kind.trim());
        if kind.is_none() {
            errors.insert("kind", "Choose a kind.".into());
        }
        let status = if self.status.trim().is_empty() {
            Some(DeviceStatus::InStock)
        } else {
            DeviceStatus::parse(self.status.trim())
        };
        if status.is_none() {
            errors.insert("status", "Choose a status.".into());
        }
        let phone = parse_phone(&self.phone)
            .map_err(|m| errors.insert("phone", m))
            .ok()
            .flatten();
        match (identifier, kind, status) {
            (Some(identifier), Some(kind), Some(status)) if errors.is_empty() => Ok(DeviceFields {
                identifier,
                name,
                model,
                kind,
                status,
                phone,
                notes,
            }),
            _ => Err(errors),
        }
    }
}
