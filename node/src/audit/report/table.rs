//! A streamed table: rows go to a CSV file and to a JSON-lines spool as
//! they happen, so a table as long as the chain never sits in memory. Also
//! a CSV file alone, spools keyed per feeder, and the reader the page
//! uses for CSV files that hold chain text.

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
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

/// A CSV file written row by row, with no JSON spool beside it (the
/// report groups its rows in JSON some other way).
pub struct CsvStream {
    csv: BufWriter<File>,
}

impl CsvStream {
    /// Creates `<dir>/<name>.csv` with its header.
    pub fn create(dir: &Path, name: &str, header: &[&str]) -> std::io::Result<CsvStream> {
        let mut csv = BufWriter::new(File::create(dir.join(format!("{name}.csv")))?);
        writeln!(csv, "{}", header.join(","))?;
        Ok(CsvStream { csv })
    }

    /// Writes one row.
    pub fn row(&mut self, fields: &[String]) -> std::io::Result<()> {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(self.csv, "{}", line.join(","))
    }

    /// Flushes the file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.csv.flush()
    }
}

/// The most spool files a [`KeyedSpool`] keeps open.
const OPEN_MAX: usize = 64;

/// JSON-lines spools, one per key (a small number: what the state
/// bounds), for rows that `report.json` groups by key. At most
/// [`OPEN_MAX`] files are open at a time; others are reopened to append.
pub struct KeyedSpool {
    dir: PathBuf,
    open: BTreeMap<usize, BufWriter<File>>,
    order: VecDeque<usize>,
}

impl KeyedSpool {
    /// Creates the spool directory `dir` (removed by [`KeyedSpool::remove`]).
    pub fn create(dir: &Path) -> std::io::Result<KeyedSpool> {
        std::fs::create_dir_all(dir)?;
        Ok(KeyedSpool {
            dir: dir.to_path_buf(),
            open: BTreeMap::new(),
            order: VecDeque::new(),
        })
    }

    fn path(&self, key: usize) -> PathBuf {
        self.dir.join(format!("{key}.jsonl"))
    }

    /// Appends one JSON item to the key's spool.
    pub fn write(&mut self, key: usize, item: &impl Serialize) -> std::io::Result<()> {
        if !self.open.contains_key(&key) {
            while self.open.len() >= OPEN_MAX {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                if let Some(mut w) = self.open.remove(&old) {
                    w.flush()?;
                }
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(key))?;
            self.open.insert(key, BufWriter::new(f));
            self.order.push_back(key);
        }
        if let Some(w) = self.open.get_mut(&key) {
            serde_json::to_writer(&mut *w, item)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Flushes and closes every open spool.
    pub fn flush(&mut self) -> std::io::Result<()> {
        for (_, mut w) in std::mem::take(&mut self.open) {
            w.flush()?;
        }
        self.order.clear();
        Ok(())
    }

    /// The key's spool, if anything was written to it.
    pub fn spool(&self, key: usize) -> Option<PathBuf> {
        Some(self.path(key)).filter(|p| p.exists())
    }

    /// Removes the spool directory.
    pub fn remove(self) -> std::io::Result<()> {
        std::fs::remove_dir_all(&self.dir)
    }
}

/// Reads a CSV file written by the report row by row, header skipped,
/// quoted fields (commas, quotes, line breaks: chain text) undone.
pub fn read_csv(path: &Path, mut f: impl FnMut(&[String])) -> std::io::Result<()> {
    let mut r = BufReader::new(File::open(path)?);
    let (mut record, mut field, mut line) = (Vec::new(), String::new(), String::new());
    let (mut quoted, mut header) = (false, true);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\n' | '\r') => {}
                (false, c) => field.push(c),
            }
        }
        if !quoted {
            record.push(std::mem::take(&mut field));
            if !header {
                f(&record);
            }
            header = false;
            record.clear();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let tricky = [
            "plain".to_string(),
            "a, comma".into(),
            "\"quoted\" <b>text</b> & more".into(),
            "two\nlines\r\nand a \"\"".into(),
            String::new(),
        ];
        let mut s = CsvStream::create(dir.path(), "t", &["a", "b", "c", "d", "e"]).unwrap();
        s.row(&tricky).unwrap();
        s.row(&["1".into(), "2".into(), "3".into(), "4".into(), "5".into()])
            .unwrap();
        s.finish().unwrap();
        let mut rows = Vec::new();
        read_csv(&dir.path().join("t.csv"), |r| rows.push(r.to_vec())).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], tricky);
        assert_eq!(rows[1], ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn a_keyed_spool_keeps_each_keys_rows_in_order_past_its_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut sp = KeyedSpool::create(&dir.path().join("spool")).unwrap();
        let keys = OPEN_MAX * 3;
        for round in 0..3u64 {
            for k in 0..keys {
                sp.write(k, &(k, round)).unwrap();
            }
        }
        sp.flush().unwrap();
        for k in 0..keys {
            let text = std::fs::read_to_string(sp.spool(k).unwrap()).unwrap();
            assert_eq!(text, format!("[{k},0]\n[{k},1]\n[{k},2]\n"));
        }
        assert!(sp.spool(keys).is_none());
        sp.remove().unwrap();
        assert!(!dir.path().join("spool").exists());
    }
}
