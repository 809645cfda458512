//! Timestamps and durations: RFC 3339 parsing and formatting, and the calendar
//! functions of the language (`hour`, `minute`, `weekday`, `date`), all in UTC.
//!
//! A timestamp is a count of microseconds since 1970-01-01T00:00:00Z; years
//! 0000 to 9999 are accepted (SPEC section 2).

/// Microseconds in one second.
pub const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an RFC 3339 timestamp (`2026-12-01T00:00:00Z`, `2026-12-01T09:30:00.5+01:00`).
/// Digits below the microsecond are dropped.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not an RFC 3339 timestamp (like 2026-12-01T00:00:00Z)");
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(bad());
    }
    if !matches!(b.get(10), Some(b'T' | b't')) || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return Err(bad());
    }
    let (year, month, day) = (num(0..4).ok_or_else(bad)?, num(5..7).ok_or_else(bad)?, num(8..10).ok_or_else(bad)?);
    let (hour, minute, second) =
        (num(11..13).ok_or_else(bad)?, num(14..16).ok_or_else(bad)?, num(17..19).ok_or_else(bad)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!("`{text}` is not a valid date"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("`{text}` is not a valid time of day"));
    }
    let mut rest = text.get(19..).ok_or_else(bad)?;
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let kept = frac.get(..digits.min(6)).ok_or_else(bad)?;
        micros = kept.parse::<i64>().map_err(|_| bad())? * 10i64.pow(6 - kept.len() as u32);
        rest = frac.get(digits..).ok_or_else(bad)?;
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes().get(3) == Some(&b':') => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(bad()),
            };
            let (oh, om) = (num_of(rest.get(1..3)).ok_or_else(bad)?, num_of(rest.get(4..6)).ok_or_else(bad)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(bad()),
    };
    let secs =
        days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + minute * 60 + second.min(59) - offset_secs;
    Ok(secs * MICROS_PER_SEC + micros)
}

fn num_of(s: Option<&str>) -> Option<i64> {
    let s = s?;
    if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
}

/// Formats a timestamp as RFC 3339 in UTC (`2026-12-01T00:00:00Z`).
pub fn format_timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(MICROS_PER_SEC);
    let frac = micros.rem_euclid(MICROS_PER_SEC);
    let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let base = format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60);
    if frac == 0 {
        format!("{base}Z")
    } else {
        let digits = format!("{frac:06}");
        format!("{base}.{}Z", digits.trim_end_matches('0'))
    }
}

/// Parses a duration literal: `30s`, `15m`, `8h`, `7d`.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let unit_secs = match text.chars().last() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => SECS_PER_DAY,
        _ => {
            return Err(format!("`{text}` is not a duration (like 30s, 15m, 8h, 7d)"));
        }
    };
    let digits = text.get(..text.len() - 1).unwrap_or("");
    digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_secs))
        .and_then(|s| s.checked_mul(MICROS_PER_SEC))
        .ok_or_else(|| format!("duration `{text}` is out of range"))
}

/// Formats a duration with the largest unit that divides it (`8h`, `90s`).
pub fn format_duration(micros: i64) -> String {
    if micros % MICROS_PER_SEC != 0 {
        return format!("{micros}us");
    }
    let secs = micros / MICROS_PER_SEC;
    for (unit, size) in [("d", SECS_PER_DAY), ("h", 3600), ("m", 60)] {
        if secs != 0 && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// The hour of day, 0 to 23, in UTC.
pub fn hour(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_SEC).rem_euclid(SECS_PER_DAY) / 3600
}

/// The minute of the hour, 0 to 59.
pub fn minute(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_SEC).rem_euclid(SECS_PER_DAY) / 60 % 60
}

/// The day of the week: `mon`, `tue`, ..., `sun`.
pub fn weekday(micros: i64) -> &'static str {
    const NAMES: [&str; 7] = ["thu", "fri", "sat", "sun", "mon", "tue", "wed"];
    let days = micros.div_euclid(MICROS_PER_SEC).div_euclid(SECS_PER_DAY);
    NAMES.get(days.rem_euclid(7) as usize).copied().unwrap_or("thu")
}

/// The calendar date, `YYYY-MM-DD`.
pub fn date(micros: i64) -> String {
    let (year, month, day) = civil_from_days(micros.div_euclid(MICROS_PER_SEC).div_euclid(SECS_PER_DAY));
    format!("{year:04}-{month:02}-{day:02}")
}

/// The current wall-clock time.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_calendar() {
        let t = parse_timestamp("2026-11-23T10:30:00Z").unwrap();
        assert_eq!(format_timestamp(t), "2026-11-23T10:30:00Z");
        assert_eq!(weekday(t), "mon");
        assert_eq!(hour(t), 10);
        assert_eq!(minute(t), 30);
        assert_eq!(date(t), "2026-11-23");
        let shifted = parse_timestamp("2026-11-23T11:30:00+01:00").unwrap();
        assert_eq!(shifted, t);
        assert_eq!(format_timestamp(parse_timestamp("0000-01-01T00:00:00Z").unwrap()), "0000-01-01T00:00:00Z");
        assert_eq!(format_timestamp(parse_timestamp("9999-12-31T23:59:59.25Z").unwrap()), "9999-12-31T23:59:59.25Z");
        assert!(parse_timestamp("2026-02-30T00:00:00Z").is_err());
        assert!(parse_timestamp("2026-11-23T24:00:00Z").is_err());
        assert!(parse_timestamp("2026-11-23").is_err());
        assert_eq!(parse_duration("8h").unwrap(), 8 * 3600 * MICROS_PER_SEC);
        assert_eq!(format_duration(parse_duration("90m").unwrap()), "90m");
        assert!(parse_duration("99999999999999999d").is_err());
    }
}
