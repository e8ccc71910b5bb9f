//! The binary search tree: one level per address bit, two records a node.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    Empty,
    Node(u32),
    /// Offset into the data section.
    Data(u32),
}

/// The tree under construction; node 0 is the root.
pub(super) struct Tree {
    nodes: Vec<[Child; 2]>,
}

impl Tree {
    pub(super) fn new() -> Self {
        Tree {
            nodes: vec![[Child::Empty; 2]],
        }
    }

    pub(super) fn node_count(&self) -> u32 {
        self.nodes.len() as u32
    }

    fn new_node(&mut self, children: [Child; 2]) -> u32 {
        self.nodes.push(children);
        (self.nodes.len() - 1) as u32
    }

    /// Points the network of `len` leading bits of `bits` (left-aligned in
    /// 128 bits) at `data`. Callers insert less specific networks first; a
    /// data record crossed on the way down is split so the rest of its
    /// network keeps its value.
    pub(super) fn insert(&mut self, bits: u128, len: u8, data: u32) {
        if len == 0 {
            self.nodes[0] = [Child::Data(data); 2];
            return;
        }
        let bit = |i: u8| ((bits >> (127 - u32::from(i))) & 1) as usize;
        let mut node = 0usize;
        for i in 0..len - 1 {
            let b = bit(i);
            node = match self.nodes[node][b] {
                Child::Node(n) => n as usize,
                Child::Empty => {
                    let n = self.new_node([Child::Empty; 2]);
                    self.nodes[node][b] = Child::Node(n);
                    n as usize
                }
                Child::Data(d) => {
                    let n = self.new_node([Child::Data(d); 2]);
                    self.nodes[node][b] = Child::Node(n);
                    n as usize
                }
            };
        }
        self.nodes[node][bit(len - 1)] = Child::Data(data);
    }

    /// The search tree section for `record_size` 24, 28 or 32.
    pub(super) fn serialise(&self, record_size: u16, node_count: u32) -> Vec<u8> {
        let value = |c: Child| -> u32 {
            match c {
                Child::Node(n) => n,
                Child::Empty => node_count,
                Child::Data(off) => node_count + 16 + off,
            }
        };
        let mut out = Vec::with_capacity(self.nodes.len() * usize::from(record_size) / 4);
        for [l, r] in &self.nodes {
            let (l, r) = (value(*l), value(*r));
            match record_size {
                24 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                28 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.push((((l >> 24) & 0x0f) << 4) as u8 | ((r >> 24) & 0x0f) as u8);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                _ => {
                    out.extend_from_slice(&l.to_be_bytes());
                    out.extend_from_slice(&r.to_be_bytes());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_network_splits_its_parent() {
        let mut t = Tree::new();
        // 0.0.0.0/1 → 7, then 0.0.0.0/2 → 9 (left-aligned).
        t.insert(0, 1, 7);
        t.insert(0, 2, 9);
        assert_eq!(t.node_count(), 2);
        assert_eq!(t.nodes[0], [Child::Node(1), Child::Empty]);
        assert_eq!(t.nodes[1], [Child::Data(9), Child::Data(7)]);
    }

    #[test]
    fn record_layouts() {
        let mut t = Tree::new();
        t.insert(1 << 127, 1, 0x0AB_CDEF);
        // 28-bit: left = empty (node_count 1), right = 1 + 16 + 0xABCDEF.
        let bytes = t.serialise(28, 1);
        let r = 1 + 16 + 0x0AB_CDEFu32;
        assert_eq!(bytes.len(), 7);
        assert_eq!(&bytes[..3], &[0, 0, 1]);
        assert_eq!(bytes[3], ((r >> 24) & 0x0f) as u8);
        assert_eq!(&bytes[4..], &r.to_be_bytes()[1..]);
        assert_eq!(t.serialise(24, 1).len(), 6);
        assert_eq!(t.serialise(32, 1).len(), 8);
    }
}
