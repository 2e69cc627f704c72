//! The static security analysis of user code, before any process runs it.
//!
//! It parses the code with RustPython's parser (`ruff_python_parser`, set to the interpreter's own
//! Python version) and walks the tree looking for what n8n's analyzer forbids (see
//! `security_rules`): disallowed imports, blocked names and attributes, name mangling, dynamic
//! `__import__`, string literals naming blocked things or holding format templates that reach
//! them, bare `format` methods, dangerous match patterns. Nodes are visited in the order CPython's
//! `ast.NodeVisitor` visits them (each node before its children, children in `_fields` order), so
//! the violations come out in the same order as n8n's, each as `Line <n>: <message>`.

use std::collections::HashSet;

use ruff_python_ast::{
    Arguments, Comprehension, ExceptHandler, Expr, FStringPart, InterpolatedStringElement,
    InterpolatedStringElements, Mod, Parameter, Parameters, Pattern, PythonVersion, Stmt,
    TypeParam, TypeParams,
};
use ruff_python_parser::{Mode, ParseOptions};
use ruff_text_size::{Ranged, TextSize};

use crate::format_template;
use crate::nesting;
use crate::security_rules::{self as rules, ImportPolicy};

/// Code the parser could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    /// 1-based line of the first error.
    pub line: usize,
    /// The parser's own description (not CPython's wording).
    pub message: String,
}

/// Analyses `code`; `Ok` holds the violations (empty when the code is clean).
pub fn analyze(
    code: &str,
    policy: &ImportPolicy,
    python: PythonVersion,
) -> Result<Vec<String>, ParseFailure> {
    // Nothing recursive may see code nested deeper than the analysis threads' stacks allow.
    let depth = nesting::estimate(code);
    if depth > nesting::MAX_NESTING {
        return Err(ParseFailure {
            line: 1,
            message: format!(
                "it nests more than {} levels deep (about {depth})",
                nesting::MAX_NESTING
            ),
        });
    }
    let options = ParseOptions::from(Mode::Module).with_target_version(python);
    let parsed = ruff_python_parser::parse_unchecked(code, options);
    let lines = LineIndex::new(code);
    if let Some(error) = parsed.errors().first() {
        return Err(ParseFailure {
            line: lines.line_of(error.location.start()),
            message: error.error.to_string(),
        });
    }
    if let Some(error) = parsed.unsupported_syntax_errors().first() {
        return Err(ParseFailure {
            line: lines.line_of(error.range.start()),
            message: error.to_string(),
        });
    }
    let Mod::Module(module) = parsed.syntax() else {
        unreachable!("parsed in module mode")
    };
    let mut visitor = Visitor {
        policy,
        source: code,
        lines,
        checked_modules: HashSet::new(),
        violations: Vec::new(),
    };
    visitor.body(&module.body);
    Ok(visitor.violations)
}

/// Byte offset -> 1-based line number, counting line ends as CPython's tokenizer does.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(source: &str) -> LineIndex {
        let bytes = source.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex { starts }
    }

    fn line_of(&self, offset: TextSize) -> usize {
        let offset = offset.to_usize();
        self.starts.partition_point(|&start| start <= offset)
    }
}

struct Visitor<'a> {
    policy: &'a ImportPolicy,
    source: &'a str,
    lines: LineIndex,
    /// Modules already judged in this analysis: each is reported once.
    checked_modules: HashSet<String>,
    violations: Vec<String>,
}

impl Visitor<'_> {
    fn add(&mut self, at: TextSize, message: String) {
        let line = self.lines.line_of(at);
        self.violations.push(format!("Line {line}: {message}"));
    }

    fn check_import(&mut self, module: &str, at: TextSize) {
        if module.starts_with('.') {
            self.add(at, rules::RELATIVE_IMPORT.to_owned());
            return;
        }
        let key = self.policy.dedupe_key(module).to_owned();
        if !self.checked_modules.insert(key) {
            return;
        }
        if let Err(message) = self.policy.check(module) {
            self.add(at, message);
        }
    }

    /// The checks every string constant gets: an exact blocked name or attribute, else a format
    /// template reaching one.
    fn check_string(&mut self, value: &str, at: TextSize) {
        if rules::is_blocked_name(value) {
            self.add(at, rules::blocked_name(value));
        } else if rules::is_blocked_attribute(value) {
            self.add(at, rules::blocked_attribute(value));
        } else {
            for token in format_template::blocked_tokens(value) {
                self.add(at, rules::blocked_string_pattern(&token));
            }
        }
    }

    fn check_alias_name(&mut self, name: &str, at: TextSize) -> bool {
        if rules::is_blocked_name(name) {
            self.add(at, rules::blocked_name(name));
            true
        } else if rules::is_blocked_attribute(name) {
            self.add(at, rules::blocked_attribute(name));
            true
        } else {
            false
        }
    }

    fn body(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.stmt(stmt);
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        let at = stmt.start();
        match stmt {
            Stmt::FunctionDef(def) => {
                // CPython's line for a def is the `def` line, not the first decorator's.
                if rules::is_blocked_name(def.name.as_str()) {
                    self.add(def.name.start(), rules::function_name(def.name.as_str()));
                }
                self.parameters(&def.parameters);
                self.body(&def.body);
                for decorator in &def.decorator_list {
                    self.expr(&decorator.expression);
                }
                self.opt_expr(def.returns.as_deref());
                self.type_params(def.type_params.as_deref());
            }
            Stmt::ClassDef(class) => {
                if rules::is_blocked_name(class.name.as_str()) {
                    self.add(class.name.start(), rules::class_name(class.name.as_str()));
                }
                if let Some(arguments) = &class.arguments {
                    self.arguments(arguments);
                }
                self.body(&class.body);
                for decorator in &class.decorator_list {
                    self.expr(&decorator.expression);
                }
                self.type_params(class.type_params.as_deref());
            }
            Stmt::Return(ret) => self.opt_expr(ret.value.as_deref()),
            Stmt::Delete(del) => self.exprs(&del.targets),
            Stmt::TypeAlias(alias) => {
                self.expr(&alias.name);
                self.type_params(alias.type_params.as_deref());
                self.expr(&alias.value);
            }
            Stmt::Assign(assign) => {
                self.exprs(&assign.targets);
                self.expr(&assign.value);
            }
            Stmt::AugAssign(assign) => {
                self.expr(&assign.target);
                self.expr(&assign.value);
            }
            Stmt::AnnAssign(assign) => {
                self.expr(&assign.target);
                self.expr(&assign.annotation);
                self.opt_expr(assign.value.as_deref());
            }
            Stmt::For(for_) => {
                self.expr(&for_.target);
                self.expr(&for_.iter);
                self.body(&for_.body);
                self.body(&for_.orelse);
            }
            Stmt::While(while_) => {
                self.expr(&while_.test);
                self.body(&while_.body);
                self.body(&while_.orelse);
            }
            Stmt::If(if_) => {
                self.expr(&if_.test);
                self.body(&if_.body);
                for clause in &if_.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.expr(test);
                    }
                    self.body(&clause.body);
                }
            }
            Stmt::With(with) => {
                for item in &with.items {
                    self.expr(&item.context_expr);
                    self.opt_expr(item.optional_vars.as_deref());
                }
                self.body(&with.body);
            }
            Stmt::Match(match_) => {
                self.expr(&match_.subject);
                for case in &match_.cases {
                    self.pattern(&case.pattern);
                    self.opt_expr(case.guard.as_deref());
                    self.body(&case.body);
                }
            }
            Stmt::Raise(raise) => {
                self.opt_expr(raise.exc.as_deref());
                self.opt_expr(raise.cause.as_deref());
            }
            Stmt::Try(try_) => {
                self.body(&try_.body);
                for handler in &try_.handlers {
                    let ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(name) = &handler.name {
                        if rules::is_blocked_name(name.as_str()) {
                            self.add(handler.start(), rules::blocked_name(name.as_str()));
                        }
                    }
                    self.opt_expr(handler.type_.as_deref());
                    self.body(&handler.body);
                }
                self.body(&try_.orelse);
                self.body(&try_.finalbody);
            }
            Stmt::Assert(assert) => {
                self.expr(&assert.test);
                self.opt_expr(assert.msg.as_deref());
            }
            Stmt::Import(import) => {
                for alias in &import.names {
                    self.check_import(alias.name.as_str(), at);
                    if let Some(asname) = &alias.asname {
                        self.check_alias_name(asname.as_str(), at);
                    }
                }
            }
            Stmt::ImportFrom(import) => {
                if import.level > 0 {
                    self.add(at, rules::RELATIVE_IMPORT.to_owned());
                } else if let Some(module) = &import.module {
                    self.check_import(module.as_str(), at);
                }
                for alias in &import.names {
                    let flagged = match &alias.asname {
                        Some(asname) => self.check_alias_name(asname.as_str(), at),
                        None => false,
                    };
                    if !flagged {
                        self.check_alias_name(alias.name.as_str(), at);
                    }
                }
            }
            Stmt::Global(global) => {
                for name in &global.names {
                    if rules::is_blocked_name(name.as_str()) {
                        self.add(at, rules::global_declaration(name.as_str()));
                    }
                }
            }
            Stmt::Nonlocal(_) | Stmt::Pass(_) | Stmt::Break(_) | Stmt::Continue(_) => {}
            Stmt::Expr(expr) => self.expr(&expr.value),
            // Jupyter escapes only parse in notebook mode, never here.
            Stmt::IpyEscapeCommand(_) => {}
        }
    }

    fn type_params(&mut self, params: Option<&TypeParams>) {
        let Some(params) = params else { return };
        for param in &params.type_params {
            match param {
                TypeParam::TypeVar(var) => {
                    self.opt_expr(var.bound.as_deref());
                    self.opt_expr(var.default.as_deref());
                }
                TypeParam::ParamSpec(spec) => self.opt_expr(spec.default.as_deref()),
                TypeParam::TypeVarTuple(tuple) => self.opt_expr(tuple.default.as_deref()),
            }
        }
    }

    /// CPython's `arguments` fields: posonlyargs, args, vararg, kwonlyargs, kw_defaults, kwarg,
    /// defaults.
    fn parameters(&mut self, params: &Parameters) {
        for p in params.posonlyargs.iter().chain(&params.args) {
            self.parameter(&p.parameter);
        }
        if let Some(vararg) = &params.vararg {
            self.parameter(vararg);
        }
        for p in &params.kwonlyargs {
            self.parameter(&p.parameter);
        }
        for p in &params.kwonlyargs {
            self.opt_expr(p.default.as_deref());
        }
        if let Some(kwarg) = &params.kwarg {
            self.parameter(kwarg);
        }
        for p in params.posonlyargs.iter().chain(&params.args) {
            self.opt_expr(p.default.as_deref());
        }
    }

    fn parameter(&mut self, param: &Parameter) {
        if rules::is_blocked_name(param.name.as_str()) {
            self.add(param.start(), rules::parameter_name(param.name.as_str()));
        }
        self.opt_expr(param.annotation.as_deref());
    }

    fn arguments(&mut self, arguments: &Arguments) {
        self.exprs(&arguments.args);
        for keyword in &arguments.keywords {
            self.expr(&keyword.value);
        }
    }

    fn comprehensions<'c>(&mut self, generators: impl IntoIterator<Item = &'c Comprehension>) {
        for generator in generators {
            self.expr(&generator.target);
            self.expr(&generator.iter);
            self.exprs(&generator.ifs);
        }
    }

    fn pattern(&mut self, pattern: &Pattern) {
        match pattern {
            Pattern::MatchValue(value) => self.expr(&value.value),
            Pattern::MatchSingleton(_) | Pattern::MatchStar(_) => {}
            Pattern::MatchSequence(seq) => {
                for p in &seq.patterns {
                    self.pattern(p);
                }
            }
            Pattern::MatchMapping(mapping) => {
                self.exprs(&mapping.keys);
                for p in &mapping.patterns {
                    self.pattern(p);
                }
            }
            Pattern::MatchClass(class) => {
                let at = class.start();
                if !class.arguments.patterns.is_empty() {
                    self.add(at, rules::POSITIONAL_MATCH.to_owned());
                }
                for keyword in &class.arguments.keywords {
                    if rules::is_refused_match_attribute(keyword.attr.as_str()) {
                        self.add(at, rules::match_attribute(keyword.attr.as_str()));
                    }
                }
                self.expr(&class.cls);
                for p in &class.arguments.patterns {
                    self.pattern(p);
                }
                for keyword in &class.arguments.keywords {
                    self.pattern(&keyword.pattern);
                }
            }
            Pattern::MatchAs(as_) => {
                if let Some(p) = &as_.pattern {
                    self.pattern(p);
                }
            }
            Pattern::MatchOr(or) => {
                for p in &or.patterns {
                    self.pattern(p);
                }
            }
        }
    }

    fn exprs(&mut self, exprs: &[Expr]) {
        for expr in exprs {
            self.expr(expr);
        }
    }

    fn opt_expr(&mut self, expr: Option<&Expr>) {
        if let Some(expr) = expr {
            self.expr(expr);
        }
    }

    fn expr(&mut self, expr: &Expr) {
        let at = expr.start();
        match expr {
            Expr::BoolOp(op) => self.exprs(&op.values),
            Expr::Named(named) => {
                self.expr(&named.target);
                self.expr(&named.value);
            }
            Expr::BinOp(bin) => {
                if bin.op == ruff_python_ast::Operator::Add {
                    if let Some(folded) = fold_string_concat(expr) {
                        self.check_string(&folded, at);
                    }
                }
                self.expr(&bin.left);
                self.expr(&bin.right);
            }
            Expr::UnaryOp(op) => self.expr(&op.operand),
            Expr::Lambda(lambda) => {
                if let Some(params) = &lambda.parameters {
                    self.parameters(params);
                }
                self.expr(&lambda.body);
            }
            Expr::If(if_) => {
                self.expr(&if_.test);
                self.expr(&if_.body);
                self.expr(&if_.orelse);
            }
            Expr::Dict(dict) => {
                // CPython's Dict has all keys, then all values.
                for item in &dict.items {
                    self.opt_expr(item.key.as_ref());
                }
                for item in &dict.items {
                    self.expr(&item.value);
                }
            }
            Expr::Set(set) => self.exprs(&set.elts),
            Expr::ListComp(comp) => {
                self.expr(&comp.elt);
                self.comprehensions(&comp.generators);
            }
            Expr::SetComp(comp) => {
                self.expr(&comp.elt);
                self.comprehensions(&comp.generators);
            }
            Expr::Generator(comp) => {
                self.expr(&comp.elt);
                self.comprehensions(&comp.generators);
            }
            Expr::DictComp(comp) => {
                self.expr(&comp.key);
                self.expr(&comp.value);
                self.comprehensions(comp.generators.iter());
            }
            Expr::Await(e) => self.expr(&e.value),
            Expr::Yield(e) => self.opt_expr(e.value.as_deref()),
            Expr::YieldFrom(e) => self.expr(&e.value),
            Expr::Compare(compare) => {
                self.expr(&compare.left);
                self.exprs(&compare.comparators);
            }
            Expr::Call(call) => {
                self.check_call(call);
                // A format method called directly is fine; only a bare extraction is flagged.
                match call.func.as_ref() {
                    Expr::Attribute(attr) => self.attribute(attr, true),
                    func => self.expr(func),
                }
                self.arguments(&call.arguments);
            }
            Expr::FString(fstring) => {
                let mut literal = Literal::default();
                for part in fstring.value.iter() {
                    match part {
                        FStringPart::Literal(lit) => literal.push(&lit.value, lit.start()),
                        FStringPart::FString(f) => {
                            self.interpolated(&f.elements, &mut literal);
                        }
                    }
                }
                self.flush(&mut literal);
            }
            Expr::TString(tstring) => {
                let mut literal = Literal::default();
                for t in tstring.value.iter() {
                    self.interpolated(&t.elements, &mut literal);
                }
                self.flush(&mut literal);
            }
            Expr::StringLiteral(string) => self.check_string(string.value.to_str(), at),
            Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_) => {}
            Expr::Attribute(attr) => self.attribute(attr, false),
            Expr::Subscript(sub) => {
                let on_builtins = match sub.value.as_ref() {
                    Expr::Name(name) => matches!(name.id.as_str(), "__builtins__" | "builtins"),
                    Expr::Attribute(attr) => {
                        matches!(attr.attr.as_str(), "__builtins__" | "builtins")
                    }
                    _ => false,
                };
                if on_builtins {
                    if let Expr::StringLiteral(key) = sub.slice.as_ref() {
                        let key = key.value.to_str();
                        if rules::is_blocked_attribute(key) {
                            self.add(at, rules::blocked_attribute(key));
                        }
                    }
                }
                self.expr(&sub.value);
                self.expr(&sub.slice);
            }
            Expr::Starred(starred) => self.expr(&starred.value),
            Expr::Name(name) => {
                if rules::is_blocked_name(name.id.as_str()) {
                    self.add(at, rules::blocked_name(name.id.as_str()));
                }
            }
            Expr::List(list) => self.exprs(&list.elts),
            Expr::Tuple(tuple) => self.exprs(&tuple.elts),
            Expr::Slice(slice) => {
                self.opt_expr(slice.lower.as_deref());
                self.opt_expr(slice.upper.as_deref());
                self.opt_expr(slice.step.as_deref());
            }
        }
    }

    fn attribute(&mut self, attr: &ruff_python_ast::ExprAttribute, called: bool) {
        let at = attr.start();
        let name = attr.attr.as_str();
        if rules::is_refused_attribute_read(name) {
            self.add(at, rules::blocked_attribute(name));
        }
        if rules::FORMAT_METHODS.contains(&name) && !called {
            self.add(at, rules::bare_format_method(name));
        }
        if is_name_mangled(name) {
            self.add(at, rules::NAME_MANGLED.to_owned());
        }
        self.expr(&attr.value);
    }

    /// `__import__(…)`, `builtins.__import__(…)`, `__builtins__.__import__(…)`.
    fn check_call(&mut self, call: &ruff_python_ast::ExprCall) {
        let is_import = match call.func.as_ref() {
            Expr::Name(name) => name.id.as_str() == "__import__",
            Expr::Attribute(attr) => {
                attr.attr.as_str() == "__import__"
                    && matches!(attr.value.as_ref(), Expr::Name(n)
                        if matches!(n.id.as_str(), "builtins" | "__builtins__"))
            }
            _ => false,
        };
        if !is_import {
            return;
        }
        match call.arguments.args.first() {
            Some(Expr::StringLiteral(module)) => {
                self.check_import(module.value.to_str(), call.start());
            }
            _ => self.add(call.start(), rules::DYNAMIC_IMPORT.to_owned()),
        }
    }

    /// The elements of one f-string (or t-string) part: literal text joins the running literal
    /// (CPython merges adjacent literal pieces into one constant); an interpolation ends it.
    fn interpolated(&mut self, elements: &InterpolatedStringElements, literal: &mut Literal) {
        for element in elements {
            match element {
                InterpolatedStringElement::Literal(lit) => literal.push(&lit.value, lit.start()),
                InterpolatedStringElement::Interpolation(interp) => {
                    if let Some(debug) = &interp.debug_text {
                        // `f"{x=}"` puts the text `x=` into the string as a constant.
                        let expression = &self.source[interp.expression.range()];
                        let text = format!("{}{expression}{}", debug.leading, debug.trailing);
                        literal.push(&text, interp.start());
                    }
                    self.flush(literal);
                    self.expr(&interp.expression);
                    if let Some(spec) = &interp.format_spec {
                        let mut spec_literal = Literal::default();
                        self.interpolated(&spec.elements, &mut spec_literal);
                        self.flush(&mut spec_literal);
                    }
                }
            }
        }
    }

    fn flush(&mut self, literal: &mut Literal) {
        if let Some((text, at)) = literal.take() {
            self.check_string(&text, at);
        }
    }
}

/// Literal text of an f-string collected across adjacent pieces, with where it started.
#[derive(Default)]
struct Literal {
    text: String,
    start: Option<TextSize>,
}

impl Literal {
    fn push(&mut self, text: &str, at: TextSize) {
        if text.is_empty() {
            return;
        }
        self.start.get_or_insert(at);
        self.text.push_str(text);
    }

    fn take(&mut self) -> Option<(String, TextSize)> {
        let start = self.start.take()?;
        Some((std::mem::take(&mut self.text), start))
    }
}

/// `_Cls__attr`: starts with `_`, contains `__`, and the part before the first `__` is a
/// non-empty name starting with `_`.
fn is_name_mangled(attr: &str) -> bool {
    if !attr.starts_with('_') {
        return false;
    }
    match attr.split_once("__") {
        Some((before, _)) => before.starts_with('_'),
        None => false,
    }
}

/// Folds `"a" + "b" + …` made only of string literals into one string.
fn fold_string_concat(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_owned()),
        Expr::BinOp(bin) if bin.op == ruff_python_ast::Operator::Add => {
            let mut left = fold_string_concat(&bin.left)?;
            left.push_str(&fold_string_concat(&bin.right)?);
            Some(left)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Allowlist;

    const PY: PythonVersion = PythonVersion::PY312;

    fn policy(stdlib: &str) -> ImportPolicy {
        let stdlib_names = [
            "os",
            "sys",
            "json",
            "re",
            "builtins",
            "collections",
            "importlib",
        ];
        ImportPolicy::new(
            stdlib_names.map(String::from),
            Allowlist::parse("S", stdlib).unwrap(),
            Allowlist::parse("E", "").unwrap(),
        )
    }

    fn violations(code: &str) -> Vec<String> {
        analyze(code, &policy("json"), PY).unwrap()
    }

    fn one(code: &str) -> String {
        let found = violations(code);
        assert_eq!(found.len(), 1, "{code:?}: {found:#?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn clean_code_has_no_violations() {
        let code =
            "import json\nout = [json.dumps(i) for i in _items]\nreturn [{'x': f'{len(out):>3}'}]";
        assert!(violations(code).is_empty());
    }

    #[test]
    fn disallowed_imports_name_the_module_and_the_allowlist() {
        assert_eq!(
            one("import os"),
            "Line 1: Import of standard library module 'os' is disallowed. Allowed stdlib modules: json"
        );
        assert_eq!(
            one("x = 1\nfrom requests import get"),
            "Line 2: Import of external package 'requests' is disallowed. Allowed external packages: none"
        );
    }

    #[test]
    fn each_module_is_reported_once() {
        assert_eq!(
            violations("import os\nimport os.path\nfrom os import sep").len(),
            1
        );
    }

    #[test]
    fn relative_imports_are_refused() {
        assert_eq!(
            one("from . import x"),
            "Line 1: Relative imports are disallowed."
        );
        assert_eq!(
            one("__import__('.x')"),
            "Line 1: Relative imports are disallowed."
        );
    }

    #[test]
    fn blocked_names_and_attributes_are_refused() {
        assert_eq!(
            one("x = __builtins__"),
            "Line 1: Access to name '__builtins__' is disallowed, because it can be used to bypass security restrictions."
        );
        assert_eq!(
            one("y = 1\nx = ().__class__"),
            "Line 2: Access to attribute '__class__' is disallowed, because it can be used to bypass security restrictions."
        );
        assert_eq!(one("e.obj").split(": ").nth(1).unwrap(), "Access to attribute 'obj' is disallowed, because it can be used to bypass security restrictions.");
    }

    #[test]
    fn violations_come_outer_node_first_like_cpython() {
        let found = violations("().__class__.__bases__");
        assert!(
            found[0].contains("'__bases__'") && found[1].contains("'__class__'"),
            "{found:#?}"
        );
    }

    #[test]
    fn name_mangling_is_refused_but_private_names_are_not() {
        assert!(one("x._Foo__secret")
            .ends_with("(pattern: _ClassName__attr) is disallowed for security reasons."));
        assert!(violations("x.__private\nx._private\nx.__len__()\nx.__init__").is_empty());
    }

    #[test]
    fn dynamic_import_calls_are_refused() {
        assert_eq!(
            one("m = 'os'\n__import__(m)"),
            "Line 2: Dynamic __import__() calls are not allowed for security reasons."
        );
        assert!(violations("__import__('json')").is_empty());
        assert!(one("__import__('os')").contains("'os' is disallowed"));
    }

    #[test]
    fn string_literals_naming_blocked_things_are_refused() {
        assert!(one("getattr(x, '__class__')").contains("attribute '__class__'"));
        assert!(one("k = '__glob' + 'als__'").contains("'__globals__'"));
        assert!(violations("k = 'a' + '__cl' + 'ass__'").is_empty());
        assert!(violations("f'__glob{x}als__'").is_empty());
    }

    #[test]
    fn format_templates_reaching_blocked_attributes_are_refused() {
        assert_eq!(
            one("'{0.__class__}'.format(1)"),
            "Line 1: String pattern accessing '__class__' is disallowed, because it can be used to bypass security restrictions."
        );
        assert!(one("'{0:{1.__globals__}}'.format(1, f)").contains("'__globals__'"));
        assert!(violations("'{0.__init__}'.format(1)").is_empty());
        assert!(one("f'{{0.__class__}}'.format(1)").contains("'__class__'"));
    }

    #[test]
    fn f_string_literal_pieces_are_merged_like_cpython() {
        assert!(one("f'__cla' 'ss__'").contains("'__class__'"));
    }

    #[test]
    fn bare_format_methods_are_refused_but_calls_are_not() {
        assert_eq!(
            one("f = 'x'.format"),
            "Line 1: Extracting 'format' as a bound method is disallowed; call it directly on its receiver instead."
        );
        assert!(violations("'{}'.format(1)\n'{a}'.format_map({'a': 1})").is_empty());
    }

    #[test]
    fn class_patterns_extracting_format_methods_are_refused() {
        assert_eq!(
            one("match t:\n    case str(format=f): pass"),
            "Line 2: Match pattern extracting attribute 'format' is disallowed, because it can be used to bypass security restrictions."
        );
        assert!(one("match t:\n    case str(format_map=f): pass").contains("'format_map'"));
    }

    #[test]
    fn mro_is_refused_as_an_attribute_but_not_as_a_word() {
        assert!(one("str.mro()[-1]").contains("Access to attribute 'mro'"));
        assert!(one("match t:\n    case str(mro=m): pass").contains("attribute 'mro'"));
        assert!(violations("x = {'mro': 1}['mro']").is_empty());
    }

    #[test]
    fn typing_origins_are_refused_as_attributes_but_not_as_words() {
        assert!(one("typing.Type.__origin__").contains("Access to attribute '__origin__'"));
        assert!(one("typing.Type[int].__mro_entries__(())").contains("'__mro_entries__'"));
        assert!(one("match t:\n    case C(__origin__=o): pass").contains("'__origin__'"));
        assert!(violations("x = {'__origin__': 1}['__origin__']").is_empty());
    }

    #[test]
    fn subscripts_of_builtins_with_blocked_keys_are_refused() {
        let found = analyze(
            "import builtins\nbuiltins['__import__']",
            &policy("builtins"),
            PY,
        )
        .unwrap();
        assert_eq!(found.len(), 2, "{found:#?}"); // the subscript and the string literal itself
        assert!(found[0].contains("attribute '__import__'"));
    }

    #[test]
    fn definitions_and_declarations_of_blocked_names_are_refused() {
        assert!(one("def __name__(): pass").starts_with("Line 1: Function named '__name__'"));
        assert!(
            one("@dec\n\ndef __spec__(): pass").starts_with("Line 3: Function named '__spec__'")
        );
        assert!(one("async def __loader__(): pass").contains("Function named '__loader__'"));
        assert!(one("class __spec__: pass").contains("Class named '__spec__'"));
        assert!(one("def f(__name__): pass").contains("Parameter named '__name__'"));
        assert!(one("lambda __spec__: 1").contains("Parameter named '__spec__'"));
        assert!(one("def f():\n    global __loader__")
            .starts_with("Line 2: Global declaration of '__loader__'"));
        assert!(one("try:\n    pass\nexcept E as __name__:\n    pass")
            .starts_with("Line 3: Access to name '__name__'"));
    }

    #[test]
    fn import_aliases_of_blocked_names_are_refused() {
        assert!(one("import json as __name__").contains("name '__name__'"));
        assert!(one("from json import loads as __spec__").contains("name '__spec__'"));
        assert!(one("from json import __loader__").contains("name '__loader__'"));
    }

    #[test]
    fn match_class_patterns_are_checked() {
        let code = "match x:\n    case E(a):\n        pass\n    case E(obj=o):\n        pass";
        let found = violations(code);
        assert_eq!(
            found[0],
            "Line 2: Positional match patterns are disallowed for security reasons."
        );
        assert!(found[1].starts_with("Line 4: Match pattern extracting attribute 'obj'"));
        assert!(violations("match x:\n    case {'a': 1} | [1, 2]:\n        pass").is_empty());
    }

    #[test]
    fn top_level_return_and_python_3_12_f_strings_parse() {
        assert!(violations(r#"return [{'a': f"{_items[0]["json"]["n"]}"}]"#).is_empty());
    }

    #[test]
    fn syntax_too_new_for_the_interpreter_is_a_parse_failure() {
        let code = r#"x = f"{_items[0]["json"]}""#;
        assert!(analyze(code, &policy(""), PythonVersion::PY311).is_err());
        assert!(analyze(code, &policy(""), PythonVersion::PY312).is_ok());
    }

    #[test]
    fn a_syntax_error_reports_its_line() {
        let failure = analyze("x = 1\nif x\n    pass", &policy(""), PY).unwrap_err();
        assert_eq!(failure.line, 2);
    }

    #[test]
    fn all_violations_are_reported_together_in_order() {
        let found = violations("import os\nx = ().__class__\ny = __builtins__");
        assert_eq!(found.len(), 3);
        assert!(
            found[0].starts_with("Line 1")
                && found[1].starts_with("Line 2")
                && found[2].starts_with("Line 3")
        );
    }
}
