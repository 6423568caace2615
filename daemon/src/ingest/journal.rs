//! The ingest journal: every accepted event, appended as NDJSON to hourly segment files in the
//! data dir before the request is answered. After a restart (even `kill -9`) the engine replays
//! the segments that still matter to rebuild its windows, open contacts and clocks; incidents
//! themselves come back from the store.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::config::Millis;

const HOUR: Millis = 3_600_000;

pub struct Journal {
    dir: PathBuf,
    current: Option<(i64, BufWriter<File>)>,
}

impl Journal {
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            current: None,
        })
    }

    fn segment_path(&self, hour: i64) -> PathBuf {
        self.dir.join(format!("{hour:010}.ndjson"))
    }

    /// Appends one event's text (a single line) to the segment for `now`'s hour.
    pub fn append(&mut self, now: Millis, line: &str) -> io::Result<()> {
        let hour = now.div_euclid(HOUR);
        if self.current.as_ref().is_none_or(|(h, _)| *h != hour) {
            self.flush()?;
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.segment_path(hour))?;
            self.current = Some((hour, BufWriter::with_capacity(256 << 10, f)));
        }
        let w = &mut self.current.as_mut().unwrap().1;
        if line.contains('\n') || line.contains('\r') {
            // A pretty-printed element of an array: JSON allows the line breaks only as white
            // space, so spaces keep it one line.
            w.write_all(line.replace(['\n', '\r'], " ").as_bytes())?;
        } else {
            w.write_all(line.as_bytes())?;
        }
        w.write_all(b"\n")
    }

    /// Hands what was appended to the operating system: after this, a killed process loses none
    /// of it.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some((_, w)) = &mut self.current {
            w.flush()?;
        }
        Ok(())
    }

    /// Segments that may hold events after `since`, oldest first.
    pub fn segments_since(&self, since: Millis) -> io::Result<Vec<PathBuf>> {
        let first = since.div_euclid(HOUR);
        let mut out: Vec<(i64, PathBuf)> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let p = e.path();
                let hour: i64 = p.file_stem()?.to_str()?.parse().ok()?;
                (p.extension()? == "ndjson" && hour >= first).then_some((hour, p))
            })
            .collect();
        out.sort();
        Ok(out.into_iter().map(|(_, p)| p).collect())
    }

    /// Deletes segments wholly older than `before`.
    pub fn prune(&mut self, before: Millis) -> io::Result<usize> {
        let keep_from = before.div_euclid(HOUR);
        let mut removed = 0;
        for e in fs::read_dir(&self.dir)?.filter_map(|e| e.ok()) {
            let p = e.path();
            let hour = p
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<i64>().ok());
            if let Some(h) = hour
                && h < keep_from
                && self.current.as_ref().is_none_or(|(c, _)| *c != h)
            {
                fs::remove_file(&p)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
