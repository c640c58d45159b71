//! One Parquet table written as day partitions: rows are buffered column by
//! column up to one row group, and only the current day's file is open.

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::{WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::TypePtr;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows buffered per table before a row group is written.
pub const ROW_GROUP_ROWS: usize = 65_536;
/// Or, for tables with long text (the events' JSON), this many bytes.
pub const ROW_GROUP_BYTES: usize = 8 << 20;

/// A column's Parquet type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `INT64 (INTEGER(64,true))`.
    Int,
    /// `INT64 (TIMESTAMP(MILLIS,true))`: unix milliseconds, UTC.
    Time,
    /// `BYTE_ARRAY (STRING)`: UTF-8.
    Text,
    /// `BOOLEAN`.
    Bool,
}

impl Kind {
    fn decl(self) -> &'static str {
        match self {
            Kind::Int => "INT64",
            Kind::Time => "INT64",
            Kind::Text => "BYTE_ARRAY",
            Kind::Bool => "BOOLEAN",
        }
    }
    fn annotation(self) -> &'static str {
        match self {
            Kind::Int => " (INTEGER(64,true))",
            Kind::Time => " (TIMESTAMP(MILLIS,true))",
            Kind::Text => " (STRING)",
            Kind::Bool => "",
        }
    }
}

/// A column: name, type and whether it may be null.
pub type Col = (&'static str, Kind, bool);

/// A value of a row.
pub enum V {
    /// An integer (`Kind::Int` or `Kind::Time`).
    I(i64),
    /// Text.
    T(String),
    /// A boolean.
    B(bool),
    /// Null (optional columns only).
    N,
}

impl V {
    /// An unsigned quantity; values above `i64::MAX` (never on a real
    /// chain) saturate.
    pub fn u(v: u64) -> V {
        V::I(i64::try_from(v).unwrap_or(i64::MAX))
    }
    /// Unix seconds as a timestamp (milliseconds).
    pub fn secs(s: u64) -> V {
        V::u(s.saturating_mul(1000))
    }
    /// An hour index as a timestamp.
    pub fn hour(h: u64) -> V {
        V::u(h.saturating_mul(3_600_000))
    }
    /// Text from anything displayable.
    pub fn t(s: impl ToString) -> V {
        V::T(s.to_string())
    }
}

#[derive(Default)]
struct Buf {
    ints: Vec<i64>,
    bytes: Vec<ByteArray>,
    bools: Vec<bool>,
    defs: Vec<i16>,
}

type Writer = SerializedFileWriter<BufWriter<File>>;

/// One table: `<root>/<name>/day=YYYY-MM-DD/part-00000.parquet`.
pub struct Table {
    name: &'static str,
    dir: PathBuf,
    cols: &'static [Col],
    schema: TypePtr,
    props: WriterPropertiesPtr,
    bufs: Vec<Buf>,
    rows: usize,
    bytes: usize,
    day: Option<String>,
    file: Option<Writer>,
}

fn err(table: &str, e: impl std::fmt::Display) -> super::super::AuditError {
    super::super::AuditError::Output(format!("parquet table {table}: {e}"))
}

/// The `message` schema text of a table.
pub fn schema_text(name: &str, cols: &[Col]) -> String {
    let mut s = format!("message {name} {{\n");
    for (c, kind, optional) in cols {
        s += &format!(
            "  {} {} {}{};\n",
            if *optional { "optional" } else { "required" },
            kind.decl(),
            c,
            kind.annotation()
        );
    }
    s + "}\n"
}

impl Table {
    /// A table under `root` (nothing is created before its first row).
    pub fn new(
        root: &Path,
        name: &'static str,
        cols: &'static [Col],
    ) -> Result<Table, super::super::AuditError> {
        let schema =
            Arc::new(parse_message_type(&schema_text(name, cols)).map_err(|e| err(name, e))?);
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_created_by(format!("watt audit {}", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        Ok(Table {
            name,
            dir: root.join(name),
            cols,
            schema,
            props,
            bufs: cols.iter().map(|_| Buf::default()).collect(),
            rows: 0,
            bytes: 0,
            day: None,
            file: None,
        })
    }

    /// Appends a row to the `day` partition (days only move forward).
    pub fn push(&mut self, day: &str, row: Vec<V>) -> Result<(), super::super::AuditError> {
        debug_assert_eq!(row.len(), self.cols.len(), "{}", self.name);
        if self.day.as_deref() != Some(day) {
            self.close_day()?;
            let dir = self.dir.join(format!("day={day}"));
            std::fs::create_dir_all(&dir).map_err(|e| err(self.name, e))?;
            let f = File::create(dir.join("part-00000.parquet")).map_err(|e| err(self.name, e))?;
            self.file = Some(
                SerializedFileWriter::new(
                    BufWriter::new(f),
                    self.schema.clone(),
                    self.props.clone(),
                )
                .map_err(|e| err(self.name, e))?,
            );
            self.day = Some(day.to_string());
        }
        for ((v, (col, kind, optional)), b) in row.into_iter().zip(self.cols).zip(&mut self.bufs) {
            match (v, kind) {
                (V::N, _) if *optional => {
                    b.defs.push(0);
                    continue;
                }
                (V::I(i), Kind::Int | Kind::Time) => {
                    b.ints.push(i);
                    self.bytes += 8;
                }
                (V::T(s), Kind::Text) => {
                    self.bytes += s.len() + 16;
                    b.bytes.push(ByteArray::from(s.into_bytes()));
                }
                (V::B(x), Kind::Bool) => {
                    b.bools.push(x);
                    self.bytes += 1;
                }
                _ => {
                    return Err(err(
                        self.name,
                        format!("column {col}: a value of another type"),
                    ))
                }
            }
            if *optional {
                b.defs.push(1);
            }
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP_ROWS || self.bytes >= ROW_GROUP_BYTES {
            self.flush_group()?;
        }
        Ok(())
    }

    fn flush_group(&mut self) -> Result<(), super::super::AuditError> {
        let (Some(file), true) = (self.file.as_mut(), self.rows > 0) else {
            return Ok(());
        };
        let name = self.name;
        let mut rg = file.next_row_group().map_err(|e| err(name, e))?;
        for ((_, kind, optional), b) in self.cols.iter().zip(&mut self.bufs) {
            let mut cw = rg
                .next_column()
                .map_err(|e| err(name, e))?
                .ok_or_else(|| err(name, "fewer columns than the schema"))?;
            let defs = optional.then_some(&b.defs[..]);
            match kind {
                Kind::Int | Kind::Time => cw
                    .typed::<Int64Type>()
                    .write_batch(&b.ints, defs, None)
                    .map(drop),
                Kind::Text => cw
                    .typed::<ByteArrayType>()
                    .write_batch(&b.bytes, defs, None)
                    .map(drop),
                Kind::Bool => cw
                    .typed::<BoolType>()
                    .write_batch(&b.bools, defs, None)
                    .map(drop),
            }
            .map_err(|e| err(name, e))?;
            cw.close().map_err(|e| err(name, e))?;
            b.ints.clear();
            b.bytes.clear();
            b.bools.clear();
            b.defs.clear();
        }
        rg.close().map_err(|e| err(name, e))?;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }

    /// Writes what is buffered and closes the current day's file.
    pub fn close_day(&mut self) -> Result<(), super::super::AuditError> {
        self.flush_group()?;
        if let Some(f) = self.file.take() {
            let mut w = f.into_inner().map_err(|e| err(self.name, e))?;
            std::io::Write::flush(&mut w).map_err(|e| err(self.name, e))?;
        }
        self.day = None;
        Ok(())
    }
}
