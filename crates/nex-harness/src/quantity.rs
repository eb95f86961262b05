//! Kubernetes resource quantities (`500m`, `2`, `8Gi`, `1e3`), as the stack
//! budget reads them: CPU in millicores, memory in bytes.
//!
//! Only the forms Kubernetes accepts for requests and limits are read: a
//! decimal number with an optional binary (`Ki`…`Ei`) or decimal (`n`, `u`,
//! `m`, `k`, `M`…`E`) suffix, or a decimal exponent. Anything else is `None`.

/// A quantity as a number of base units (cores for CPU, bytes for memory).
pub fn parse(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let split =
        t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let base: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let v = base * factor;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// CPU in millicores (`500m` → 500, `2` → 2000).
pub fn cpu_millis(text: &str) -> Option<u64> {
    parse(text).map(|cores| (cores * 1000.0).ceil() as u64)
}

/// Memory in bytes (`8Gi` → 8 589 934 592).
pub fn bytes(text: &str) -> Option<u64> {
    parse(text).map(|b| b.ceil() as u64)
}

/// A JSON value written as a quantity: a string, or a bare number (YAML `cpu: 1`).
pub fn text_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Millicores for people: `1500m` → `1.5`.
pub fn show_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) { format!("{}", millis / 1000) } else { format!("{millis}m") }
}

/// Bytes for people, in the largest binary unit that keeps one decimal.
pub fn show_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["", "Ki", "Mi", "Gi", "Ti"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if (v - v.round()).abs() < 0.05 {
        format!("{}{}", v.round(), UNITS[unit])
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_kubernetes_accepts() {
        assert_eq!(cpu_millis("500m"), Some(500));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("0.25"), Some(250));
        assert_eq!(cpu_millis("100u"), Some(1));
        assert_eq!(bytes("8Gi"), Some(8 * 1024 * 1024 * 1024));
        assert_eq!(bytes("128Mi"), Some(128 * 1024 * 1024));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("1e3"), Some(1000));
        assert_eq!(bytes("64"), Some(64));
    }

    #[test]
    fn refuses_what_is_no_quantity() {
        for bad in ["", "Gi", "8GB", "-1", "1.2.3", "ten", "5x"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn shows_quantities_for_people() {
        assert_eq!(show_cpu(1500), "1500m");
        assert_eq!(show_cpu(2000), "2");
        assert_eq!(show_bytes(8 * 1024 * 1024 * 1024), "8Gi");
        assert_eq!(show_bytes(1536 * 1024 * 1024), "1.5Gi");
    }
}
