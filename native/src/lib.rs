//! The folded words of a text, as `monitor.core.text.tokenize` gives them,
//! for the texts whose every character `table.rs` (made from Python's own
//! unicodedata by native/gen_fold_table.py) says can be folded alone. For any
//! other text the functions return None and Python takes its own path.
//!
//! And the matcher's automaton, which scans those words where they are made,
//! without handing them to Python and back first; and the story signatures'
//! arithmetic (minhash.rs).

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyIterator, PyList, PySet, PyString};

mod eval;
mod minhash;
mod table;

const SEP: u32 = 0;
const WORD: u32 = 1;
const UNSPACED: u32 = 2;
const BAIL: u32 = 3;

/// A class and a folded form for every code point, in blocks of 256: an entry
/// is the class in its top two bits and, below, 1 + the index of its folded
/// form in `table::FOLDS`, or 0 when the character folds to itself.
struct Table {
    blocks: Vec<u16>,
    entries: Vec<u32>,
}

const BLOCK: usize = 256;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut blocks = Vec::with_capacity(0x110000 / BLOCK);
        let mut entries: Vec<u32> = Vec::new();
        let mut seen: HashMap<Vec<u32>, u16> = HashMap::new();
        let (mut run, mut fold) = (0usize, 0usize);
        let mut block = Vec::with_capacity(BLOCK);
        for cp in 0..0x110000u32 {
            while run + 1 < table::CLASSES.len() && table::CLASSES[run + 1].0 <= cp {
                run += 1;
            }
            let mut entry = (table::CLASSES[run].1 as u32) << 30;
            if fold < table::FOLDS.len() && table::FOLDS[fold].0 == cp {
                fold += 1;
                entry |= fold as u32; // 1 + its index
            }
            block.push(entry);
            if block.len() == BLOCK {
                let next = (entries.len() / BLOCK) as u16;
                let index = *seen.entry(block.clone()).or_insert_with(|| {
                    entries.extend_from_slice(&block);
                    next
                });
                blocks.push(index);
                block.clear();
            }
        }
        Table { blocks, entries }
    })
}

impl Table {
    #[inline]
    fn entry(&self, c: char) -> u32 {
        let cp = c as usize;
        self.entries[self.blocks[cp / BLOCK] as usize * BLOCK + cp % BLOCK]
    }
}

/// What a scan found: the stream " w1 w2 … wn " (just " " when no word) and,
/// when asked, each word's (start, end) in characters of the text.
struct Scan {
    stream: String,
    spans: Vec<(usize, usize)>,
}

struct Scanner {
    stream: String,
    spans: Option<Vec<(usize, usize)>>,
    /// Where the last word kept by the tokenizer ended (possessives included:
    /// tokenize() compares each word with the one before it, dropped or not).
    prev_end: Option<usize>,
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

impl Scanner {
    /// A word has been written to the stream from byte `mark` on; it spans
    /// characters `start..end` of the text, `before` being the character at
    /// `start - 1`. Keeps it (with a space after it), or takes it back when
    /// empty or a possessive s.
    #[inline]
    fn close(&mut self, mark: usize, start: usize, end: usize, before: char) {
        if self.stream.len() == mark {
            return; // folded to nothing: tokenize() drops it before anything else
        }
        let possessive = end - start == 1
            && &self.stream[mark..] == "s"
            && self.prev_end == Some(start.wrapping_sub(1))
            && is_apostrophe(before);
        self.prev_end = Some(end);
        if possessive {
            self.stream.truncate(mark);
            return;
        }
        self.stream.push(' ');
        if let Some(spans) = self.spans.as_mut() {
            spans.push((start, end));
        }
    }
}

/// The words of `text`, or None when some character must go to Python.
fn scan(text: &str, want_spans: bool) -> Option<Scan> {
    let table = table();
    let mut s = Scanner {
        stream: String::with_capacity(text.len() + 2),
        spans: want_spans.then(Vec::new),
        prev_end: None,
    };
    s.stream.push(' ');
    // The word being read: where it started in the stream and in the text, and
    // the character before it.
    let mut word: Option<(usize, usize, char)> = None;
    let mut prev = '\0';
    for (i, c) in text.chars().enumerate() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                if word.is_none() {
                    word = Some((s.stream.len(), i, prev));
                }
                s.stream.push(c.to_ascii_lowercase());
            } else if let Some((mark, start, before)) = word.take() {
                s.close(mark, start, i, before);
            }
            prev = c;
            continue;
        }
        let entry = table.entry(c);
        let fold = (entry & 0x3FFF_FFFF) as usize;
        match entry >> 30 {
            WORD => {
                if word.is_none() {
                    word = Some((s.stream.len(), i, prev));
                }
                push_fold(&mut s.stream, c, fold);
            }
            UNSPACED => {
                if let Some((mark, start, before)) = word.take() {
                    s.close(mark, start, i, before);
                }
                let mark = s.stream.len();
                push_fold(&mut s.stream, c, fold);
                s.close(mark, i, i + 1, prev);
            }
            SEP => {
                if let Some((mark, start, before)) = word.take() {
                    s.close(mark, start, i, before);
                }
            }
            _ => {
                debug_assert_eq!(entry >> 30, BAIL);
                return None;
            }
        }
        prev = c;
    }
    if let Some((mark, start, before)) = word.take() {
        s.close(mark, start, text.chars().count(), before);
    }
    Some(Scan {
        stream: s.stream,
        spans: s.spans.unwrap_or_default(),
    })
}

#[inline]
fn push_fold(stream: &mut String, c: char, fold: usize) {
    if fold == 0 {
        stream.push(c);
    } else {
        stream.push_str(table::FOLDS[fold - 1].1);
    }
}

/// " w1 w2 … wn ": the folded words of `text` with a space before and after
/// each, "" when it has none; None when Python must fold this text.
#[pyfunction]
fn stream(text: &Bound<'_, PyString>) -> Option<String> {
    let text = text.to_str().ok()?; // lone surrogates: Python's business
    let found = scan(text, false)?;
    Some(if found.stream.len() == 1 {
        String::new()
    } else {
        found.stream
    })
}

/// Each word's (start, end) in characters of `text`; None when Python must
/// tokenize this text.
#[pyfunction]
fn spans(text: &Bound<'_, PyString>) -> Option<Vec<(usize, usize)>> {
    let text = text.to_str().ok()?;
    Some(scan(text, true)?.spans)
}

/// Every term's key in one Aho-Corasick automaton (standard semantics, every
/// overlapping occurrence reported): what `ahocorasick_rs.AhoCorasick(keys)`
/// and its `find_matches_as_indexes(stream, True)` give, from the same crate.
#[pyclass(frozen, module = "monitor._native")]
struct Automaton {
    ac: AhoCorasick,
}

/// A field's hits: (term id, start, end in characters of the stream) in the
/// automaton's order, as a read-only sequence of tuples. Most items never
/// look at where their terms occur (only NEAR and an alert's spans do), so
/// the tuples are made when it is first iterated, and kept for the next time.
#[pyclass(frozen, sequence, module = "monitor._native")]
struct Hits {
    hits: Vec<(u32, u32, u32)>,
    tuples: PyOnceLock<Py<PyList>>,
}

#[pymethods]
impl Hits {
    fn __len__(&self) -> usize {
        self.hits.len()
    }

    fn __getitem__(&self, index: isize) -> PyResult<(u32, u32, u32)> {
        let at = if index < 0 {
            index + self.hits.len() as isize
        } else {
            index
        };
        usize::try_from(at)
            .ok()
            .and_then(|at| self.hits.get(at).copied())
            .ok_or_else(|| PyIndexError::new_err("hit index out of range"))
    }

    fn __contains__(&self, hit: &Bound<'_, PyAny>) -> bool {
        hit.extract::<(u32, u32, u32)>()
            .is_ok_and(|hit| self.hits.contains(&hit))
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        let tuples = self
            .tuples
            .get_or_try_init(py, || PyList::new(py, &self.hits).map(Bound::unbind))?;
        tuples.bind(py).try_iter()
    }

    fn __repr__(&self) -> String {
        format!("Hits({:?})", self.hits)
    }
}

/// A field's scan: the stream, its hits, and the set of their term ids.
type Scanned<'py> = (Bound<'py, PyString>, Bound<'py, Hits>, Bound<'py, PySet>);

#[pymethods]
impl Automaton {
    #[new]
    fn new(keys: Vec<String>) -> PyResult<Self> {
        if keys.iter().any(String::is_empty) {
            return Err(PyValueError::new_err("empty keys are not supported"));
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&keys)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Automaton { ac })
    }

    /// The scan of `text`'s words (see `stream`): None when Python must fold
    /// this text (then `scan_stream` over Python's stream), and an empty
    /// stream with no hits when it has no words.
    fn scan_text<'py>(&self, text: &Bound<'py, PyString>) -> PyResult<Option<Scanned<'py>>> {
        let py = text.py();
        let Ok(text) = text.to_str() else {
            return Ok(None);
        };
        let Some(found) = scan(text, false) else {
            return Ok(None);
        };
        let stream = if found.stream.len() == 1 {
            ""
        } else {
            found.stream.as_str()
        };
        let (hits, tids) = self.hits(py, stream)?;
        Ok(Some((PyString::new(py, stream), hits, tids)))
    }

    /// The hits in a stream made by Python, and the set of their term ids.
    fn scan_stream<'py>(
        &self,
        stream: &Bound<'py, PyString>,
    ) -> PyResult<(Bound<'py, Hits>, Bound<'py, PySet>)> {
        self.hits(stream.py(), stream.to_str()?)
    }
}

impl Automaton {
    fn hits<'py>(
        &self,
        py: Python<'py>,
        stream: &str,
    ) -> PyResult<(Bound<'py, Hits>, Bound<'py, PySet>)> {
        let mut hits: Vec<(u32, u32, u32)> = self
            .ac
            .find_overlapping_iter(stream)
            .map(|m| (m.pattern().as_u32(), m.start() as u32, m.end() as u32))
            .collect();
        if !stream.is_ascii() {
            // Byte offsets to character offsets.
            let mut at = vec![0u32; stream.len() + 1];
            let mut n = 0u32;
            for (i, c) in stream.char_indices() {
                at[i..i + c.len_utf8()].fill(n);
                n += 1;
            }
            at[stream.len()] = n;
            for hit in &mut hits {
                hit.1 = at[hit.1 as usize];
                hit.2 = at[hit.2 as usize];
            }
        }
        let mut tids: Vec<u32> = hits.iter().map(|h| h.0).collect();
        tids.sort_unstable();
        tids.dedup();
        let hits = Hits {
            hits,
            tuples: PyOnceLock::new(),
        };
        Ok((Bound::new(py, hits)?, PySet::new(py, tids)?))
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("UNIDATA_VERSION", table::UNIDATA_VERSION)?;
    m.add_function(wrap_pyfunction!(stream, m)?)?;
    m.add_function(wrap_pyfunction!(spans, m)?)?;
    m.add_function(wrap_pyfunction!(minhash::minhash, m)?)?;
    m.add_function(wrap_pyfunction!(minhash::agreement, m)?)?;
    m.add_function(wrap_pyfunction!(minhash::band_keys, m)?)?;
    m.add_class::<Automaton>()?;
    m.add_class::<Hits>()?;
    m.add_class::<eval::Rules>()?;
    Ok(())
}
