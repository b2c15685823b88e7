//! The matcher's rule evaluation (monitor/core/rules/matcher.py): a rule set's
//! evaluator trees and anchor index, handed over once per RuleSet, and one
//! call per item that says which rules fire, over the hits the scan already
//! holds. The Python evaluation is the reference (and the fallback where this
//! module is not built); a hypothesis test holds this one to it.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::Hits;

/// The fields' views (title, summary, content, feed) and the view of the
/// three text fields together.
const FIELDS: usize = 4;
const VIEWS: usize = 5;
const TEXT: usize = 4;
/// An any-of set longer than this many times an item's terms in its view is
/// looked through from the item's side.
const FROM_ITEM: usize = 4;

/// A node as Python hands it over: (kind, view, distance, tids, right tids,
/// children); see `_Eval.native` in matcher.py.
#[derive(FromPyObject)]
struct Raw(u8, usize, u32, Vec<u32>, Vec<u32>, Vec<Raw>);

enum Node {
    /// Any of these terms (sorted) in the view.
    Any(usize, Vec<u32>),
    All(Vec<Node>),
    Either(Vec<Node>),
    Not(Box<Node>),
    /// A left term and a right one (sorted sets) in one field of the view,
    /// at most `distance` words apart.
    Near(usize, u32, Vec<u32>, Vec<u32>),
}

fn node(raw: Raw, terms: usize) -> PyResult<Node> {
    let Raw(kind, view, distance, mut tids, mut right, children) = raw;
    if view >= VIEWS || tids.iter().chain(&right).any(|&t| t as usize >= terms) {
        return Err(PyValueError::new_err("view or term id out of range"));
    }
    tids.sort_unstable();
    right.sort_unstable();
    let children =
        || -> PyResult<Vec<Node>> { children.into_iter().map(|c| node(c, terms)).collect() };
    Ok(match kind {
        0 => Node::Any(view, tids),
        1 => Node::All(children()?),
        2 => Node::Either(children()?),
        3 => Node::Not(Box::new(
            children()?
                .pop()
                .ok_or_else(|| PyValueError::new_err("NOT without a child"))?,
        )),
        4 => Node::Near(view, distance, tids, right),
        _ => return Err(PyValueError::new_err("unknown node kind")),
    })
}

/// One item's terms: per view, a bit per term id and the sorted ids; per
/// field, its hits and stream.
struct Item<'a, 'py> {
    bits: Vec<u64>,
    words: usize,
    tids: [Vec<u32>; VIEWS],
    hits: [&'a [(u32, u32, u32)]; FIELDS],
    streams: &'a [Option<Bound<'py, PyString>>],
}

impl Item<'_, '_> {
    #[inline]
    fn has(&self, view: usize, tid: u32) -> bool {
        let t = tid as usize;
        self.bits[view * self.words + t / 64] >> (t % 64) & 1 == 1
    }

    fn any(&self, view: usize, tids: &[u32]) -> bool {
        let present = &self.tids[view];
        if tids.len() > FROM_ITEM * present.len() {
            present.iter().any(|t| tids.binary_search(t).is_ok())
        } else {
            tids.iter().any(|&t| self.has(view, t))
        }
    }

    /// Word ranges [first, end) of the hits of `tids` in `field`.
    fn ranges(&self, field: usize, tids: &[u32], lengths: &[u32]) -> PyResult<Vec<(u32, u32)>> {
        let mut picked: Vec<(u32, u32)> = self.hits[field]
            .iter()
            .filter(|h| tids.binary_search(&h.0).is_ok())
            .map(|h| (h.1, h.0))
            .collect();
        let Some(stream) = self.streams[field].as_ref().filter(|_| !picked.is_empty()) else {
            return Ok(Vec::new());
        };
        let stream = stream.to_str()?;
        picked.sort_unstable();
        // The spaces up to a hit's first character: one per word before it,
        // and the one in front (its own, or its word's); counted on from one
        // hit to the next, in characters of the stream.
        let (mut spaces, mut counted) = (0u32, 0usize);
        let ascii = stream.is_ascii();
        let mut chars = stream.chars();
        let mut found = Vec::with_capacity(picked.len());
        for (start, tid) in picked {
            let upto = start as usize + 1;
            if upto > counted {
                let more = if ascii {
                    stream
                        .as_bytes()
                        .get(counted..upto)
                        .map(|b| b.iter().filter(|&&c| c == b' ').count())
                } else {
                    chars
                        .by_ref()
                        .take(upto - counted)
                        .try_fold(0usize, |n, c| Some(n + usize::from(c == ' ')))
                };
                spaces +=
                    more.ok_or_else(|| PyValueError::new_err("a hit past its stream"))? as u32;
                counted = upto;
            }
            let first = spaces.saturating_sub(1);
            found.push((first, first + lengths[tid as usize]));
        }
        Ok(found)
    }
}

/// A rule set compiled for evaluation in one call per item.
#[pyclass(frozen, module = "monitor._native")]
pub struct Rules {
    trees: Vec<Node>,
    /// The rules each (view, term id) anchors first: those of key
    /// `view * terms + tid` are `first[at[key]..at[key + 1]]`.
    at: Vec<u32>,
    first: Vec<u32>,
    /// Per rule, its second anchors: a view and terms (none: no second).
    then: Vec<(usize, Vec<u32>)>,
    exact: Vec<bool>,
    always: Vec<u32>,
    /// Each term's length in words.
    lengths: Vec<u32>,
}

#[pymethods]
impl Rules {
    #[new]
    fn new(
        trees: Vec<Raw>,
        first: Vec<(usize, u32, Vec<u32>)>,
        then: Vec<(usize, Vec<u32>)>,
        exact: Vec<bool>,
        always: Vec<u32>,
        lengths: Vec<u32>,
    ) -> PyResult<Self> {
        let terms = lengths.len();
        let rules = trees.len();
        let trees = trees
            .into_iter()
            .map(|t| node(t, terms))
            .collect::<PyResult<Vec<_>>>()?;
        let bad_rule = |&r: &u32| r as usize >= rules;
        if then.len() != rules
            || exact.len() != rules
            || always.iter().any(bad_rule)
            || first
                .iter()
                .any(|(v, t, rs)| *v >= VIEWS || *t as usize >= terms || rs.iter().any(bad_rule))
            || then
                .iter()
                .any(|(v, ts)| *v >= VIEWS || ts.iter().any(|&t| t as usize >= terms))
        {
            return Err(PyValueError::new_err("an index out of range"));
        }
        let mut by_key: Vec<Vec<u32>> = vec![Vec::new(); VIEWS * terms];
        for (v, t, rs) in first {
            by_key[v * terms + t as usize].extend(rs);
        }
        let mut at = Vec::with_capacity(by_key.len() + 1);
        at.push(0u32);
        let mut first = Vec::new();
        for rs in by_key {
            first.extend(rs);
            at.push(first.len() as u32);
        }
        let then = then
            .into_iter()
            .map(|(v, mut ts)| {
                ts.sort_unstable();
                (v, ts)
            })
            .collect();
        Ok(Rules {
            trees,
            at,
            first,
            then,
            exact,
            always,
            lengths,
        })
    }

    /// The indexes of the rules that fire, in rule order, given each field's
    /// hits and stream (title, summary, content, feed; None where a field
    /// was not scanned or has no words).
    fn fire(
        &self,
        hits: Vec<Option<Bound<'_, Hits>>>,
        streams: Vec<Option<Bound<'_, PyString>>>,
    ) -> PyResult<Vec<u32>> {
        if hits.len() != FIELDS || streams.len() != FIELDS {
            return Err(PyValueError::new_err("four fields expected"));
        }
        let words = self.lengths.len().div_ceil(64);
        let mut item = Item {
            bits: vec![0u64; words * VIEWS],
            words,
            tids: Default::default(),
            hits: [&[]; FIELDS],
            streams: &streams,
        };
        for (f, found) in hits.iter().enumerate() {
            let Some(found) = found else { continue };
            let found = found.get().hits.as_slice();
            if found.iter().any(|h| h.0 as usize >= self.lengths.len()) {
                return Err(PyValueError::new_err("a term id out of range"));
            }
            item.hits[f] = found;
            for &(tid, _, _) in found {
                let t = tid as usize;
                item.bits[f * words + t / 64] |= 1 << (t % 64);
                if f < TEXT - 1 {
                    item.bits[TEXT * words + t / 64] |= 1 << (t % 64);
                }
            }
        }
        for (view, tids) in item.tids.iter_mut().enumerate() {
            let fields = if view == TEXT {
                0..TEXT - 1
            } else {
                view..view + 1
            };
            for f in fields {
                tids.extend(item.hits[f].iter().map(|h| h.0));
            }
            tids.sort_unstable();
            tids.dedup();
        }
        let terms = self.lengths.len();
        let mut candidates: Vec<u32> = Vec::new();
        for (view, tids) in item.tids.iter().enumerate() {
            for &tid in tids {
                let key = view * terms + tid as usize;
                let (from, to) = (self.at[key] as usize, self.at[key + 1] as usize);
                candidates.extend_from_slice(&self.first[from..to]);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut fired = Vec::new();
        for rule in candidates {
            let (view, second) = &self.then[rule as usize];
            if !second.is_empty() && !item.any(*view, second) {
                continue;
            }
            if self.exact[rule as usize] || self.test(&self.trees[rule as usize], &item)? {
                fired.push(rule);
            }
        }
        for &rule in &self.always {
            if self.test(&self.trees[rule as usize], &item)? {
                fired.push(rule);
            }
        }
        fired.sort_unstable();
        fired.dedup();
        Ok(fired)
    }
}

impl Rules {
    fn test(&self, node: &Node, item: &Item) -> PyResult<bool> {
        Ok(match node {
            Node::Any(view, tids) => item.any(*view, tids),
            Node::All(children) => {
                for c in children {
                    if !self.test(c, item)? {
                        return Ok(false);
                    }
                }
                true
            }
            Node::Either(children) => {
                for c in children {
                    if self.test(c, item)? {
                        return Ok(true);
                    }
                }
                false
            }
            Node::Not(child) => !self.test(child, item)?,
            Node::Near(view, distance, left, right) => {
                self.near(*view, *distance, left, right, item)?
            }
        })
    }

    /// A left and a right occurrence in one field, disjoint, the right
    /// starting at most `distance` words after the left ends or ending at
    /// most `distance` words before it starts.
    fn near(
        &self,
        view: usize,
        distance: u32,
        left: &[u32],
        right: &[u32],
        item: &Item,
    ) -> PyResult<bool> {
        if !item.any(view, left) || !item.any(view, right) {
            return Ok(false);
        }
        let fields = if view == TEXT {
            0..TEXT - 1
        } else {
            view..view + 1
        };
        for f in fields {
            if !item.any(f, left) || !item.any(f, right) {
                continue;
            }
            let lefts = item.ranges(f, left, &self.lengths)?;
            let rights = item.ranges(f, right, &self.lengths)?;
            for &(first, end) in &lefts {
                for &(r_first, r_end) in &rights {
                    if (r_first >= end && r_first <= end + distance)
                        || (r_end <= first && r_end + distance >= first)
                    {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }
}
