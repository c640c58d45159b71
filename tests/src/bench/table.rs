//! The one table `watt-bench` prints.

/// One line of the table.
pub struct Row {
    /// The row number of the issue (1 to 7).
    pub id: &'static str,
    /// What was measured.
    pub what: String,
    /// The figures.
    pub result: String,
    /// Signatures checked per second, where the row checks signatures.
    pub sigs_per_s: Option<f64>,
}

/// Formats `x` with thousands separators.
pub fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with one decimal.
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Mebibytes with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// The markdown table; the ratio column divides by `limit` (row 1, two
/// threads, batch).
pub fn render(rows: &[Row], limit: f64) -> String {
    let mut s = String::from(
        "| # | measured | result | signatures/s | ÷ limit (row 1, 2 threads, batch) |\n|---|---|---|---:|---:|\n",
    );
    for r in rows {
        let (sigs, ratio) = match r.sigs_per_s {
            Some(x) => (thousands(x), format!("{:.2}", x / limit)),
            None => ("-".into(), "-".into()),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.id, r.what, r.result, sigs, ratio
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(1_234_567.4), "1,234,567");
    }

    #[test]
    fn rows_without_signatures_have_no_ratio() {
        let t = render(
            &[Row {
                id: "6",
                what: "reads".into(),
                result: "1 req/s".into(),
                sigs_per_s: None,
            }],
            100.0,
        );
        assert!(t.ends_with("| 6 | reads | 1 req/s | - | - |\n"));
    }
}
