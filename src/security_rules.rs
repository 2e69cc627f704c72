//! The sandbox's rules: which names and attributes user code may not touch, which modules it may
//! import, and the messages users see when it does. This is the single source of truth: the
//! static analyzer reads it here and the Python side receives it in the forkserver's
//! configuration, so the two can never disagree.

use std::collections::BTreeSet;

use crate::config::Allowlist;

/// Names user code may not reference, define or declare.
pub const BLOCKED_NAMES: [&str; 6] = [
    "__loader__",
    "__builtins__",
    "__globals__",
    "__spec__",
    "__name__",
    "__n8n_internal_safe_format__",
];

/// Attributes user code may not access (they lead to frames, globals, classes or the import
/// machinery).
pub const BLOCKED_ATTRIBUTES: [&str; 50] = [
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__traceback__",
    "tb_frame",
    "tb_next",
    "f_back",
    "f_globals",
    "f_locals",
    "f_code",
    "f_builtins",
    "__getattribute__",
    "__qualname__",
    "__module__",
    "gi_frame",
    "gi_code",
    "gi_yieldfrom",
    "cr_frame",
    "cr_code",
    "ag_frame",
    "ag_code",
    "obj",
    "__thisclass__",
    "__self_class__",
    "__objclass__",
    "__reduce__",
    "__reduce_ex__",
    "__prepare__",
    "__instancecheck__",
    "__subclasscheck__",
    "__match_args__",
    "__base__",
    "__class__",
    "__bases__",
    "__code__",
    "__closure__",
    "__loader__",
    "__cached__",
    "__dict__",
    "__import__",
    "__mro__",
    "__init_subclass__",
    "__getattr__",
    "__setattr__",
    "__delattr__",
    "__self__",
    "__func__",
    "__wrapped__",
    "__annotations__",
    "__spec__",
];

/// `str.format`-like methods whose templates can reach attributes (`_vformat` is
/// `string.Formatter`'s own, which formats a template just as well).
pub const FORMAT_METHODS: [&str; 5] = ["format", "format_map", "vformat", "get_field", "_vformat"];

/// Attributes refused beyond n8n's list, by attribute syntax and in class patterns only (not as
/// string literals, so data that happens to hold the word is not refused): they hand out the
/// denied `object` and `type` (`str.mro()`, `typing.Type.__origin__`, a generic alias's
/// `__mro_entries__`).
pub const INTROSPECTION_ATTRIBUTES: [&str; 3] = ["mro", "__origin__", "__mro_entries__"];

/// Whether reading this attribute by attribute syntax is refused.
pub fn is_refused_attribute_read(name: &str) -> bool {
    is_blocked_attribute(name) || INTROSPECTION_ATTRIBUTES.contains(&name)
}

/// Whether a class pattern may not extract this attribute: a blocked one, or a format method,
/// which a keyword pattern would hand out as a bound method the format guard never sees.
pub fn is_refused_match_attribute(name: &str) -> bool {
    is_refused_attribute_read(name) || FORMAT_METHODS.contains(&name)
}

pub fn is_blocked_name(name: &str) -> bool {
    BLOCKED_NAMES.contains(&name)
}

pub fn is_blocked_attribute(name: &str) -> bool {
    BLOCKED_ATTRIBUTES.contains(&name)
}

pub fn blocked_name(name: &str) -> String {
    format!("Access to name '{name}' is disallowed, because it can be used to bypass security restrictions.")
}

pub fn blocked_attribute(attr: &str) -> String {
    format!("Access to attribute '{attr}' is disallowed, because it can be used to bypass security restrictions.")
}

pub fn blocked_string_pattern(attr: &str) -> String {
    format!("String pattern accessing '{attr}' is disallowed, because it can be used to bypass security restrictions.")
}

pub const RELATIVE_IMPORT: &str = "Relative imports are disallowed.";
pub const DYNAMIC_IMPORT: &str = "Dynamic __import__() calls are not allowed for security reasons.";
pub const NAME_MANGLED: &str =
    "Access to name-mangled attributes (pattern: _ClassName__attr) is disallowed for security reasons.";
pub const POSITIONAL_MATCH: &str = "Positional match patterns are disallowed for security reasons.";

pub fn bare_format_method(attr: &str) -> String {
    format!("Extracting '{attr}' as a bound method is disallowed; call it directly on its receiver instead.")
}

pub fn match_attribute(attr: &str) -> String {
    format!("Match pattern extracting attribute '{attr}' is disallowed, because it can be used to bypass security restrictions.")
}

pub fn global_declaration(name: &str) -> String {
    format!("Global declaration of '{name}' is disallowed, because it can be used to bypass security restrictions.")
}

pub fn function_name(name: &str) -> String {
    format!("Function named '{name}' is disallowed, because it can be used to bypass security restrictions.")
}

pub fn class_name(name: &str) -> String {
    format!("Class named '{name}' is disallowed, because it can be used to bypass security restrictions.")
}

pub fn parameter_name(name: &str) -> String {
    format!("Parameter named '{name}' is disallowed, because it can be used to bypass security restrictions.")
}

/// Which modules user code may import.
#[derive(Debug, Clone)]
pub struct ImportPolicy {
    stdlib_names: BTreeSet<String>,
    stdlib_allow: Allowlist,
    external_allow: Allowlist,
}

impl ImportPolicy {
    /// `stdlib_names` is the interpreter's own `sys.stdlib_module_names`.
    pub fn new(
        stdlib_names: impl IntoIterator<Item = String>,
        stdlib_allow: Allowlist,
        external_allow: Allowlist,
    ) -> ImportPolicy {
        ImportPolicy {
            stdlib_names: stdlib_names.into_iter().collect(),
            stdlib_allow,
            external_allow,
        }
    }

    /// Both lists are `*`: n8n skips the static analysis entirely in that case.
    pub fn allows_everything(&self) -> bool {
        self.stdlib_allow == Allowlist::All && self.external_allow == Allowlist::All
    }

    /// Whether an import of `module` (a dotted absolute name) is allowed; if not, the message.
    ///
    /// A plain entry `a` allows `a` and every `a.*`. A dotted entry `a.b` allows `a.b` and
    /// `a.b.*` but not `a` (n8n accepts dotted entries but never matches them).
    pub fn check(&self, module: &str) -> Result<(), String> {
        let top = module.split('.').next().unwrap_or("");
        let is_stdlib = self.stdlib_names.contains(top);
        let list = if is_stdlib {
            &self.stdlib_allow
        } else {
            &self.external_allow
        };
        let allowed = match list {
            Allowlist::All => true,
            Allowlist::Only(entries) => entries.iter().any(|entry| {
                module == entry
                    || (module.len() > entry.len()
                        && module.starts_with(entry.as_str())
                        && module.as_bytes()[entry.len()] == b'.')
            }),
        };
        if allowed {
            return Ok(());
        }
        let listed = match list {
            Allowlist::Only(entries) if !entries.is_empty() => entries
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            _ => "none".to_owned(),
        };
        Err(if is_stdlib {
            format!("Import of standard library module '{module}' is disallowed. Allowed stdlib modules: {listed}")
        } else {
            format!("Import of external package '{module}' is disallowed. Allowed external packages: {listed}")
        })
    }

    /// The key under which an import's verdict is remembered within one analysis: the top-level
    /// name (as n8n does), unless a dotted entry makes the verdict depend on the full path.
    pub fn dedupe_key<'a>(&self, module: &'a str) -> &'a str {
        let top = module.split('.').next().unwrap_or("");
        let dotted_entry_for_top =
            [&self.stdlib_allow, &self.external_allow]
                .into_iter()
                .any(|list| match list {
                    Allowlist::All => false,
                    Allowlist::Only(entries) => entries
                        .iter()
                        .any(|e| e.contains('.') && e.split('.').next() == Some(top)),
                });
        if dotted_entry_for_top {
            module
        } else {
            top
        }
    }

    /// A fingerprint of the allowlists, part of the validation cache's key.
    pub fn fingerprint(&self) -> String {
        format!(
            "{:?}|{:?}",
            self.stdlib_allow.to_list(),
            self.external_allow.to_list()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(stdlib: &str, external: &str) -> ImportPolicy {
        ImportPolicy::new(
            ["os", "json", "re", "collections"].map(String::from),
            Allowlist::parse("S", stdlib).unwrap(),
            Allowlist::parse("E", external).unwrap(),
        )
    }

    #[test]
    fn the_lists_have_n8ns_sizes() {
        assert_eq!(BLOCKED_NAMES.len(), 6);
        assert_eq!(BLOCKED_ATTRIBUTES.len(), 50);
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let p = policy("", "");
        assert_eq!(
            p.check("os.path").unwrap_err(),
            "Import of standard library module 'os.path' is disallowed. Allowed stdlib modules: none"
        );
        assert_eq!(
            p.check("numpy").unwrap_err(),
            "Import of external package 'numpy' is disallowed. Allowed external packages: none"
        );
    }

    #[test]
    fn a_plain_entry_allows_its_submodules() {
        let p = policy("json, re", "numpy");
        assert!(p.check("json").is_ok());
        assert!(p.check("json.decoder").is_ok());
        assert!(p.check("numpy.linalg").is_ok());
        assert!(p.check("jsonx").is_err(), "prefix of a name is not a match");
        assert_eq!(
            p.check("os").unwrap_err(),
            "Import of standard library module 'os' is disallowed. Allowed stdlib modules: json, re"
        );
    }

    #[test]
    fn a_dotted_entry_allows_that_module_but_not_its_parent() {
        let p = policy("os.path", "");
        assert!(p.check("os.path").is_ok());
        assert!(p.check("os.path.x").is_ok());
        assert!(p.check("os").is_err());
        assert!(p.check("os.pathology").is_err());
        assert_eq!(p.dedupe_key("os.path"), "os.path");
        assert_eq!(p.dedupe_key("json.decoder"), "json");
    }

    #[test]
    fn wildcards_allow_their_category_only() {
        let p = policy("*", "");
        assert!(p.check("os").is_ok());
        assert!(p.check("numpy").is_err());
        assert!(!p.allows_everything());
        assert!(policy("*", "*").allows_everything());
    }
}
