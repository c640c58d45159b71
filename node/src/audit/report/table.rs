//! A streamed table: rows go to a CSV file and to a JSON-lines spool as
//! they happen, so a table as long as the chain never sits in memory.

use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// One streamed table.
pub struct Table {
    csv: BufWriter<File>,
    jsonl: BufWriter<File>,
    jsonl_path: PathBuf,
    /// Rows written.
    pub rows: u64,
}

impl Table {
    /// Creates `<dir>/<name>.csv` with its header and a spool beside it.
    pub fn create(dir: &Path, name: &str, header: &[&str]) -> std::io::Result<Table> {
        let mut csv = BufWriter::new(File::create(dir.join(format!("{name}.csv")))?);
        writeln!(csv, "{}", header.join(","))?;
        let jsonl_path = dir.join(format!(".{name}.jsonl"));
        let jsonl = BufWriter::new(File::create(&jsonl_path)?);
        Ok(Table {
            csv,
            jsonl,
            jsonl_path,
            rows: 0,
        })
    }

    /// Writes one CSV row.
    pub fn csv_row(&mut self, fields: &[String]) -> std::io::Result<()> {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(self.csv, "{}", line.join(","))
    }

    /// Writes one JSON item (one per event or record; a CSV row may be one
    /// of several for the same item).
    pub fn json_item(&mut self, item: &impl Serialize) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.jsonl, item)?;
        self.jsonl.write_all(b"\n")?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes both files; returns the spool's path.
    pub fn finish(mut self) -> std::io::Result<PathBuf> {
        self.csv.flush()?;
        self.jsonl.flush()?;
        Ok(self.jsonl_path)
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes a whole in-memory table (bounded by the state) as CSV.
pub fn write_csv(
    dir: &Path,
    name: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(dir.join(format!("{name}.csv")))?);
    writeln!(out, "{}", header.join(","))?;
    for r in rows {
        let line: Vec<String> = r.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()
}
