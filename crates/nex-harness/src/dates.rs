//! Calendar dates of Unix times, in UTC, without a time-zone database: what
//! findings and lock entries print (`2026-12-04`, `2026-12-04 15:21`).

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (proleptic Gregorian).
pub fn civil(days: u64) -> String {
    let (y, m, d) = ymd(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM` of seconds since the epoch.
pub fn minute(secs: u64) -> String {
    let (hh, mm) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    format!("{} {hh:02}:{mm:02}", civil(secs / 86_400))
}

/// RFC 3339 in UTC (`2026-12-04T15:21:45Z`) of seconds since the epoch, before it too.
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d) = ymd(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Year, month and day of a day counted from 1970-01-01 (Howard Hinnant's
/// days-to-civil algorithm).
fn ymd(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_across_eras_and_leap_days() {
        assert_eq!(civil(0), "1970-01-01");
        assert_eq!(civil(11_016), "2000-02-29");
        assert_eq!(civil(11_017), "2000-03-01");
        assert_eq!(civil(20_420), "2025-11-28");
        assert_eq!(civil(20_791), "2026-12-04");
        assert_eq!(minute(1_700_000_000), "2023-11-14 22:13");
        assert_eq!(minute(86_399), "1970-01-01 23:59");
        assert_eq!(minute(951_782_400), "2000-02-29 00:00");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(1_796_397_705), "2026-12-04T15:21:45Z");
    }
}
