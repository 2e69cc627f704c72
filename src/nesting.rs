//! A bound on how deeply code nests, checked on its tokens before anything recursive sees it.
//!
//! The parser, the analyzer and even dropping a syntax tree recurse once per level of nesting,
//! so a few kilobytes of `-` or `(` would overflow a thread's stack and abort the whole runner.
//! [`estimate`] walks the tokens once, iteratively, and gives an upper bound on the depth any of
//! them can reach; code above [`MAX_NESTING`] is never parsed here (CPython is asked instead,
//! for its own wording). [`ANALYSIS_STACK`] is the stack every thread that analyses code gets:
//! sized so that code at the bound is parsed, analysed and dropped with room to spare.

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{lexer, Mode};

/// The deepest code the analyzer accepts. CPython itself refuses 200 nested brackets and 100
/// indented blocks; longer operator chains (`a + b + …`) count too, and so do `elif`s.
pub const MAX_NESTING: usize = 1000;

/// Stack for the worker threads, which analyse code: 64 KiB per level at [`MAX_NESTING`].
/// Measured: every form of `fuzz_support::nesting_forms` at the bound is parsed, analysed and
/// dropped within 4 MiB in a debug build (2 MiB is not enough), so this leaves a wide margin;
/// it is reserved, not committed. (`exec` analyses on the main thread, whose 8 MiB suffice.)
pub const ANALYSIS_STACK: usize = 64 * 1024 * 1024;

/// An upper bound on the nesting depth of `code`'s syntax tree: per logical line, the open
/// brackets (f-strings included), plus every operator, keyword and bracket seen at any open
/// level (each can add a level: `-x`, `a.b`, `a + b`, `f(x)`, `lambda: x`); plus the indentation;
/// plus every `elif` in the code (an `elif` chain nests in the tree). Names, literals, commas
/// and colons add nothing, so long flat data (`[1, 2, 3, …]`) stays shallow.
pub fn estimate(code: &str) -> usize {
    let mut lexer = lexer::lex(code, Mode::Module);
    let mut brackets = 0usize;
    let mut operators = 0usize;
    let mut indent = 0usize;
    let mut elifs = 0usize;
    let mut deepest = 0usize;
    loop {
        let kind = lexer.next_token();
        match kind {
            TokenKind::EndOfFile => break,
            TokenKind::Indent => indent += 1,
            TokenKind::Dedent => indent = indent.saturating_sub(1),
            TokenKind::Newline => {
                // A logical line ends only outside brackets.
                brackets = 0;
                operators = 0;
            }
            TokenKind::Elif => elifs += 1,
            TokenKind::Lpar
            | TokenKind::Lsqb
            | TokenKind::Lbrace
            | TokenKind::FStringStart
            | TokenKind::TStringStart => {
                brackets += 1;
                operators += 1;
            }
            TokenKind::Rpar
            | TokenKind::Rsqb
            | TokenKind::Rbrace
            | TokenKind::FStringEnd
            | TokenKind::TStringEnd => brackets = brackets.saturating_sub(1),
            TokenKind::Comma
            | TokenKind::Colon
            | TokenKind::Semi
            | TokenKind::Equal
            | TokenKind::NonLogicalNewline
            | TokenKind::Comment
            | TokenKind::Name
            | TokenKind::Int
            | TokenKind::Float
            | TokenKind::Complex
            | TokenKind::String
            | TokenKind::FStringMiddle
            | TokenKind::TStringMiddle => {}
            _ => operators += 1,
        }
        deepest = deepest.max(indent + brackets + operators + elifs);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_data_is_shallow() {
        let list = format!(
            "x = [{}]",
            (0..100_000)
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(estimate(&list) < 5);
        let dict = format!(
            "x = {{{}}}",
            (0..10_000)
                .map(|n| format!("'k{n}': {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(estimate(&dict) < 5);
    }

    #[test]
    fn every_kind_of_nesting_counts() {
        let deep = 5000;
        for code in [
            format!("x = {}1{}", "(".repeat(deep), ")".repeat(deep)),
            format!("x = {}1", "-".repeat(deep)),
            format!("x = {}1", "not ".repeat(deep)),
            format!("x = a{}", ".b".repeat(deep)),
            format!("x = 1{}", " + 1".repeat(deep)),
            format!("x = {}1", "lambda: ".repeat(deep)),
            format!("x = f{}", "()".repeat(deep)),
            format!("if a:\n    pass\n{}", "elif a:\n    pass\n".repeat(deep)),
        ] {
            assert!(estimate(&code) >= deep, "{}", &code[..40]);
        }
    }

    #[test]
    fn everyday_code_is_far_below_the_bound() {
        let code = include_str!("../examples/snippet.py");
        assert!(estimate(code) < 40, "{}", estimate(code));
    }
}
