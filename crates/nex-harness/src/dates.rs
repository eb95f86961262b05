//! Calendar dates of Unix times, in UTC, without a time-zone database: what
//! findings and lock entries print (`2026-12-04`, `2026-12-04 15:21`).

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (proleptic Gregorian; days to
/// civil date after Howard Hinnant's algorithm).
pub fn civil(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM` of seconds since the epoch.
pub fn minute(secs: u64) -> String {
    let (hh, mm) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    format!("{} {hh:02}:{mm:02}", civil(secs / 86_400))
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
    }
}
