//! Deterministic mutations for the smoke test: a seed's bytes flipped, cut, repeated,
//! spliced with another seed or given a byte JSON, TOML, base64url and forms care
//! about. No coverage feedback (that is libFuzzer's job): the point is that every run
//! of the ordinary test suite feeds each target inputs just off its seeds, the same ones
//! every time, so a failure reproduces.

/// A small xorshift generator: fixed seed, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % n.max(1) as u64).unwrap_or(0)
    }
}

/// Bytes parsers of these formats treat specially.
const INTERESTING: &[&[u8]] = &[
    b"\"", b"\\", b"{", b"}", b"[", b"]", b":", b",", b"=", b"&", b"%", b"+", b".", b"-", b"\x00",
    b"\xff", b"\xc3", b"\n", b"'''", b"\\u0000", b"\\ud800", b"1e999", b"null", b"%FF", b"==",
    b"[[", b"]]", b"#",
];

/// One mutation of `input`, drawing on `others` for splices.
pub fn mutate(rng: &mut Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = out.len();
        match rng.below(7) {
            // Flip a bit.
            0 if len > 0 => {
                let at = rng.below(len);
                out[at] ^= 1 << rng.below(8);
            }
            // Cut the tail or a range.
            1 if len > 0 => {
                let from = rng.below(len);
                let to = (from + 1 + rng.below(16)).min(len);
                out.drain(from..to);
            }
            2 if len > 0 => out.truncate(rng.below(len)),
            // Repeat a range.
            3 if len > 0 => {
                let from = rng.below(len);
                let to = (from + 1 + rng.below(32)).min(len);
                let piece = out[from..to].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, piece);
            }
            // Insert an interesting token.
            4 => {
                let token = INTERESTING[rng.below(INTERESTING.len())];
                let at = rng.below(len + 1);
                out.splice(at..at, token.iter().copied());
            }
            // Splice in part of another seed.
            5 if !others.is_empty() => {
                let other = &others[rng.below(others.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let to = (from + 1 + rng.below(64)).min(other.len());
                    let at = rng.below(len + 1);
                    out.splice(at..at, other[from..to].iter().copied());
                }
            }
            // Overwrite a byte.
            _ if len > 0 => {
                let at = rng.below(len);
                out[at] = u8::try_from(rng.below(256)).unwrap_or(0);
            }
            _ => out.push(u8::try_from(rng.below(256)).unwrap_or(0)),
        }
    }
    out
}
