//! A tiny deterministic mutation fuzzer for the tests (`tests/fuzz.rs` and unit tests).
//!
//! `cargo fuzz` needs a nightly toolchain, which this project's machines do not have; a seeded
//! xorshift generator with byte-level mutations of valid seeds finds the same class of bugs
//! (panics on malformed input) within a bounded, repeatable run. `FUZZ_ITERATIONS` raises the
//! count for a longer local run.

/// xorshift64*: fast, seedable, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Iterations per target: `FUZZ_ITERATIONS`, else `default`.
pub fn iterations(default: usize) -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One to four random edits of `seed`: flip, insert, delete, duplicate or splice in a token.
pub fn mutate(rng: &mut Rng, seed: &[u8], tokens: &[&[u8]]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = if data.is_empty() {
            0
        } else {
            rng.below(data.len() + 1)
        };
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next_u64() as u8),
            2 if at < data.len() => {
                let end = (at + 1 + rng.below(8)).min(data.len());
                data.drain(at..end);
            }
            3 if !data.is_empty() => {
                let from = rng.below(data.len());
                let end = (from + 1 + rng.below(16)).min(data.len());
                let piece = data[from..end].to_vec();
                data.splice(at..at, piece);
            }
            4 if !tokens.is_empty() => {
                let token = tokens[rng.below(tokens.len())];
                data.splice(at..at, token.iter().copied());
            }
            _ => data.truncate(at),
        }
    }
    data
}

/// A named way to nest code: the depth in, the code out.
pub type NestingForm = (&'static str, fn(usize) -> String);

/// Every way Python code nests, as a function from a depth to code nested that deep: brackets,
/// prefix operators, operator and postfix chains, nested calls, f-strings, lambdas, conditional
/// expressions, `elif` chains, indented blocks and match patterns.
pub fn nesting_forms() -> Vec<NestingForm> {
    fn wrap(open: &str, inner: &str, close: &str, n: usize) -> String {
        format!("x = {}{inner}{}\nreturn 1", open.repeat(n), close.repeat(n))
    }
    vec![
        ("parentheses", |n| wrap("(", "1", ")", n)),
        ("brackets", |n| wrap("[", "1", "]", n)),
        ("braces", |n| wrap("{", "1", "}", n)),
        ("dicts", |n| wrap("{'a': ", "1", "}", n)),
        ("calls", |n| wrap("f(", "1", ")", n)),
        ("minus", |n| wrap("-", "1", "", n)),
        ("plus", |n| wrap("+", "1", "", n)),
        ("invert", |n| wrap("~", "1", "", n)),
        ("not", |n| wrap("not ", "1", "", n)),
        ("await", |n| wrap("await ", "1", "", n)),
        ("lambda", |n| wrap("lambda: ", "1", "", n)),
        ("attributes", |n| wrap("", "b", ".a", n)),
        ("additions", |n| wrap("", "1", " + 1", n)),
        ("string concatenation", |n| wrap("", "'a'", " + 'a'", n)),
        ("powers", |n| wrap("", "1", " ** 1", n)),
        ("comparisons", |n| wrap("", "1", " < a", n)),
        ("and", |n| wrap("", "a", " and a", n)),
        ("conditionals", |n| wrap("", "1", " if a else 1", n)),
        ("call chains", |n| wrap("", "f", "()", n)),
        ("subscripts", |n| wrap("", "a", "[0]", n)),
        ("f-strings", |n| wrap("f'{", "1", "}'", n)),
        ("elif chain", |n| {
            format!(
                "if a:\n    pass\n{}return 1",
                "elif a:\n    pass\n".repeat(n)
            )
        }),
        ("blocks", |n| {
            // Indentation grows with the depth, so the code grows with its square: 3,000
            // levels are 4.5 MB already.
            let n = n.min(3_000);
            let mut code: String = (0..n)
                .map(|i| format!("{}if a:\n", " ".repeat(i)))
                .collect();
            code.push_str(&" ".repeat(n));
            code.push_str("pass\nreturn 1");
            code
        }),
        ("match patterns", |n| {
            format!(
                "match x:\n    case {}1{}:\n        pass\nreturn 1",
                "[".repeat(n),
                "]".repeat(n)
            )
        }),
    ]
}

/// Code nesting `depth` levels deep by a random mix of [`nesting_forms`]' prefixes and
/// suffixes, for fuzzing.
pub fn mixed_nesting(rng: &mut Rng, depth: usize) -> String {
    const PAIRS: &[(&str, &str)] = &[
        ("(", ")"),
        ("[", "]"),
        ("{", "}"),
        ("-", ""),
        ("not ", ""),
        ("lambda: ", ""),
        ("f(", ")"),
        ("", ".a"),
        ("", " + 1"),
        ("", "[0]"),
        ("", " if a else 1"),
    ];
    let mut open = String::new();
    let mut close = Vec::new();
    for _ in 0..depth {
        let (o, c) = PAIRS[rng.below(PAIRS.len())];
        open.push_str(o);
        close.push(c);
    }
    close.reverse();
    format!("x = {open}1{}\nreturn 1", close.concat())
}
