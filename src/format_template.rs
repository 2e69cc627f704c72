//! Finding blocked attributes reached through `str.format` templates, e.g. `'{0.__class__}'`.
//!
//! The parser follows CPython's own template parser (`string.Formatter().parse`, the C
//! `MarkupIterator`) so that a template is read exactly as `str.format` would read it: a template
//! CPython cannot parse is ignored (it could not be used either), and the fields of a nested format
//! spec (`'{0:{1.__class__}}'`) are scanned too.

use crate::security_rules::{is_blocked_attribute, is_blocked_name};

/// One replacement field of a template.
struct Field<'a> {
    name: &'a str,
    spec: &'a str,
}

/// The blocked attributes or names a template's fields reach, in order (with repeats).
pub fn blocked_tokens(template: &str) -> Vec<String> {
    let mut found = Vec::new();
    scan(template, &mut found, 0);
    found
}

fn scan(template: &str, found: &mut Vec<String>, depth: usize) {
    // CPython refuses specs nested this deep at format time; no need to look further.
    if depth > 32 {
        return;
    }
    let Some(fields) = parse(template) else {
        return;
    };
    for field in fields {
        for token in attribute_tokens(field.name).chain(subscript_tokens(field.name)) {
            if is_blocked_attribute(token) || is_blocked_name(token) {
                found.push(token.to_owned());
            }
        }
        if !field.spec.is_empty() {
            scan(field.spec, found, depth + 1);
        }
    }
}

/// Python's `\w` for one character (Unicode letters and digits, and `_`).
fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Every `.name` in a field name (the regex `\.(\w+)`).
fn attribute_tokens(field: &str) -> impl Iterator<Item = &str> {
    field.match_indices('.').filter_map(move |(dot, _)| {
        let rest = &field[dot + 1..];
        let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

/// Every `[name]`, `['name']` or `["name"]` in a field name (the regex `\[(['"]?)(\w+)\1\]`,
/// matched left to right without overlaps).
fn subscript_tokens(field: &str) -> impl Iterator<Item = &str> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(open) = field[at..].find('[') {
        let start = at + open + 1;
        let rest = &field[start..];
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
        let word_start = start + quote.map_or(0, char::len_utf8);
        let word_len = field[word_start..]
            .find(|c: char| !is_word(c))
            .unwrap_or(field.len() - word_start);
        let word_end = word_start + word_len;
        let closing = match quote {
            Some(q) => field[word_end..]
                .strip_prefix(q)
                .and_then(|r| r.strip_prefix(']')),
            None => field[word_end..].strip_prefix(']'),
        };
        match closing {
            Some(after) if word_len > 0 => {
                tokens.push(&field[word_start..word_end]);
                at = field.len() - after.len();
            }
            _ => at = start,
        }
    }
    tokens.into_iter()
}

/// The fields of a template, or None where CPython's parser raises.
fn parse(template: &str) -> Option<Vec<Field<'_>>> {
    let mut fields = Vec::new();
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Literal text up to the first brace that is not doubled.
        match bytes[i] {
            b'{' | b'}' => {
                let brace = bytes[i];
                let doubled = bytes.get(i + 1) == Some(&brace);
                if doubled {
                    i += 2;
                    continue;
                }
                if brace == b'}' {
                    return None; // Single '}' encountered in format string
                }
                if i + 1 >= bytes.len() {
                    return None; // Single '{' encountered in format string
                }
                let (field, next) = parse_field(template, i + 1)?;
                fields.push(field);
                i = next;
            }
            _ => i += 1,
        }
    }
    Some(fields)
}

/// Parses the field that starts at byte `start` (just after its `{`); returns it and the index
/// just past its closing `}`.
fn parse_field(template: &str, start: usize) -> Option<(Field<'_>, usize)> {
    let bytes = template.as_bytes();
    let mut i = start;
    let mut terminator = None;
    while i < bytes.len() {
        let c = bytes[i];
        i += 1;
        match c {
            b'{' => return None, // unexpected '{' in field name
            b'[' => {
                while i < bytes.len() && bytes[i] != b']' {
                    i += 1;
                }
            }
            b'}' | b':' | b'!' => {
                terminator = Some(c);
                break;
            }
            _ => {}
        }
    }
    let name_end = if terminator.is_some() { i - 1 } else { i };
    let name = &template[start..name_end];
    match terminator {
        None => None, // expected '}' before end of string
        Some(b'}') => Some((Field { name, spec: "" }, i)),
        Some(c) => {
            if c == b'!' {
                // A conversion character, then '}' or ':'.
                let conversion = template[i..].chars().next()?;
                i += conversion.len_utf8();
                match bytes.get(i) {
                    None => {}
                    Some(b'}') => return Some((Field { name, spec: "" }, i + 1)),
                    Some(b':') => i += 1,
                    Some(_) => return None, // expected ':' after conversion specifier
                }
            }
            // The format spec runs to the matching '}', counting nested braces.
            let spec_start = i;
            let mut depth = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some((
                                Field {
                                    name,
                                    spec: &template[spec_start..i],
                                },
                                i + 1,
                            ));
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None // unmatched '{' in format spec
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_and_item_access_to_blocked_names_is_found() {
        assert_eq!(blocked_tokens("{0.__class__}"), ["__class__"]);
        assert_eq!(
            blocked_tokens("{x.__init__.__globals__[os]}"),
            ["__globals__"]
        );
        assert_eq!(blocked_tokens("{0[__builtins__]}"), ["__builtins__"]);
        assert_eq!(blocked_tokens("{0['__loader__']}"), ["__loader__"]);
        assert_eq!(blocked_tokens("{0[\"__spec__\"]}"), ["__spec__"]);
        assert_eq!(blocked_tokens("a {0.__class__!r:>10} b"), ["__class__"]);
    }

    #[test]
    fn nested_specs_are_scanned() {
        assert_eq!(blocked_tokens("{0:{1.__class__}}"), ["__class__"]);
        assert_eq!(blocked_tokens("{0:{1:{2.__mro__}}}"), ["__mro__"]);
    }

    #[test]
    fn harmless_templates_pass() {
        assert!(blocked_tokens("{0.__init__}").is_empty());
        assert!(blocked_tokens("{name} is {age:>3}").is_empty());
        assert!(
            blocked_tokens("{{0.__class__}}").is_empty(),
            "escaped braces are literal text"
        );
        assert!(
            blocked_tokens("{0.__class__x}").is_empty(),
            "a longer word is another name"
        );
        assert!(blocked_tokens("no fields at all").is_empty());
    }

    /// Our parser against CPython's own `string.Formatter().parse` on random templates: both must
    /// agree on whether a template parses and on every field name and spec.
    #[test]
    fn the_parser_agrees_with_cpython_on_random_templates() {
        use crate::fuzz_support::{iterations, mutate, Rng};
        let seeds: [&[u8]; 5] = [
            b"{0.__class__}",
            b"a {x!r:>{w}} b",
            b"{{}} {0[k]}",
            b"{:{}{}}",
            b"{a.b[c]!s:x}",
        ];
        let tokens: [&[u8]; 9] = [b"{", b"}", b"[", b"]", b"!", b":", b".", b"r", b"\xc3\xa9"];
        let mut rng = Rng::new(0x5eed_0005);
        let templates: Vec<String> = (0..iterations(3_000))
            .map(|n| {
                let bytes = mutate(&mut rng, seeds[n % seeds.len()], &tokens);
                String::from_utf8_lossy(&bytes).into_owned()
            })
            .collect();
        let script = "import json, string, sys\nf = string.Formatter()\nout = []\nfor t in json.load(sys.stdin):\n    try:\n        out.append([[n, s] for _, n, s, _ in f.parse(t) if n is not None])\n    except (ValueError, IndexError):\n        out.append(None)\njson.dump(out, sys.stdout)";
        let python = std::env::var("N8N_RUNNERS_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = std::process::Command::new(python)
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let input = serde_json::to_vec(&templates).unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
        let output = child.wait_with_output().unwrap();
        let expected: Vec<Option<Vec<(String, String)>>> =
            serde_json::from_slice(&output.stdout).unwrap();
        for (template, expected) in templates.iter().zip(expected) {
            let ours = parse(template).map(|fields| {
                fields
                    .into_iter()
                    .map(|f| (f.name.to_owned(), f.spec.to_owned()))
                    .collect::<Vec<_>>()
            });
            assert_eq!(ours, expected, "template {template:?}");
        }
    }

    #[test]
    fn templates_cpython_cannot_parse_are_ignored() {
        assert!(blocked_tokens("{0.__class__").is_empty());
        assert!(blocked_tokens("} {0.__class__}").is_empty());
        assert!(blocked_tokens("{0.__class__} {").is_empty());
        assert!(blocked_tokens("{0!r x}").is_empty());
    }
}
