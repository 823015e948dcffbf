//! The names of a loaded policy: every declaration and every use, across its layers, with the span
//! of the identifier. Built from the syntax trees alone, so it works on a policy with errors; names
//! are resolved the way the checker resolves them (an entity's own names, then parameters, then enum
//! values), close enough for an editor.

use doudi_dsl::ast::*;
use doudi_dsl::load::LoadedSources;
use std::collections::HashMap;

/// What a name refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// An input, definition, table or state of an entity (exceptions attach to one).
    Entity(EntityKind, String),
    Param(String),
    Enum(String),
    /// An enum's value: (enum, value).
    Variant(String, String),
    Extern(String),
}

impl Key {
    pub fn name(&self) -> &str {
        match self {
            Key::Entity(_, n) | Key::Param(n) | Key::Enum(n) | Key::Extern(n) => n,
            Key::Variant(_, v) => v,
        }
    }
}

/// The kind of a declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclKind {
    Input,
    Definition,
    Table,
    State,
    /// The text definition `NAME_reason` a state's transition table defines (declared by the state).
    StateReason,
    Parameter,
    /// `override parameter NAME`: replaces the values of a base parameter.
    Override,
    Enum,
    Variant,
    Extern,
    /// `exception ENTITY.NAME`: attached to the definition NAME.
    Exception,
}

/// Where an item is: (layer, file within the layer, item within the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRef {
    pub layer: usize,
    pub file: usize,
    pub item: usize,
}

/// A declaration: its key, the identifier's span and the item that declares it.
#[derive(Debug, Clone)]
pub struct Decl {
    pub key: Key,
    pub kind: DeclKind,
    pub span: Span,
    pub at: ItemRef,
}

/// One occurrence of a name (declarations included).
#[derive(Debug, Clone)]
pub struct Occurrence {
    pub key: Key,
    pub span: Span,
    /// Whether this occurrence declares the name (an `override` or an exception does not).
    pub decl: bool,
}

#[derive(Debug, Default)]
pub struct Index {
    /// Declarations in layer order (base first), then file and item order.
    pub decls: Vec<Decl>,
    pub occurrences: Vec<Occurrence>,
    /// Enum name → its values.
    enums: HashMap<String, Vec<String>>,
    /// Parameter → (its `by` enum, the enum of its values), as its declaration says.
    param_enums: HashMap<String, (Option<String>, Option<String>)>,
}

impl Index {
    pub fn build(loaded: &LoadedSources) -> Index {
        let mut ix = Index::default();
        for (li, layer) in loaded.layers.iter().enumerate() {
            for (fi, (_, file)) in layer.files.iter().enumerate() {
                for (ii, item) in file.items.iter().enumerate() {
                    let at = ItemRef {
                        layer: li,
                        file: fi,
                        item: ii,
                    };
                    ix.declare(item, at);
                }
            }
        }
        for layer in &loaded.layers {
            for (id, file) in &layer.files {
                let text = &loaded.sources.file(*id).text;
                for item in &file.items {
                    Uses { ix: &mut ix, text }.item(item);
                }
            }
        }
        ix.occurrences
            .sort_by_key(|o| (o.span.file, o.span.start, o.span.end));
        ix
    }

    fn add_decl(&mut self, key: Key, kind: DeclKind, span: Span, at: ItemRef) {
        let decl = !matches!(kind, DeclKind::Override | DeclKind::Exception);
        if kind != DeclKind::StateReason {
            self.occurrences.push(Occurrence {
                key: key.clone(),
                span,
                decl,
            });
        }
        self.decls.push(Decl {
            key,
            kind,
            span,
            at,
        });
    }

    fn declare(&mut self, item: &Item, at: ItemRef) {
        match item {
            Item::Enum(e) => {
                let values = e.variants.iter().map(|v| v.name.name.clone()).collect();
                self.enums.insert(e.name.name.clone(), values);
                self.add_decl(
                    Key::Enum(e.name.name.clone()),
                    DeclKind::Enum,
                    e.name.span,
                    at,
                );
                for v in &e.variants {
                    let key = Key::Variant(e.name.name.clone(), v.name.name.clone());
                    self.add_decl(key, DeclKind::Variant, v.name.span, at);
                }
            }
            Item::Input(d) => self.add_decl(
                Key::Entity(d.entity, d.name.name.clone()),
                DeclKind::Input,
                d.name.span,
                at,
            ),
            Item::Parameter(d) => {
                let kind = if d.is_override {
                    DeclKind::Override
                } else {
                    let by = d.by.as_ref().map(|b| b.name.clone());
                    let ty = d.ty.as_ref().and_then(Uses::enum_of).map(str::to_string);
                    self.param_enums
                        .entry(d.name.name.clone())
                        .or_insert((by, ty));
                    DeclKind::Parameter
                };
                self.add_decl(Key::Param(d.name.name.clone()), kind, d.name.span, at);
            }
            Item::Definition(d) => self.add_decl(
                Key::Entity(d.entity, d.name.name.clone()),
                DeclKind::Definition,
                d.name.span,
                at,
            ),
            Item::Table(d) => self.add_decl(
                Key::Entity(d.entity, d.name.name.clone()),
                DeclKind::Table,
                d.name.span,
                at,
            ),
            Item::State(d) => {
                self.add_decl(
                    Key::Entity(d.entity, d.name.name.clone()),
                    DeclKind::State,
                    d.name.span,
                    at,
                );
                if matches!(d.body, StateBody::Transitions(_)) {
                    let key = Key::Entity(d.entity, format!("{}_reason", d.name.name));
                    self.add_decl(key, DeclKind::StateReason, d.name.span, at);
                }
            }
            Item::Exception(d) => self.add_decl(
                Key::Entity(d.entity, d.name.name.clone()),
                DeclKind::Exception,
                d.name.span,
                at,
            ),
            Item::Extern(d) => self.add_decl(
                Key::Extern(d.name.name.clone()),
                DeclKind::Extern,
                d.name.span,
                at,
            ),
            Item::Policy { .. } | Item::Extends { .. } | Item::Calendar(_) => {}
        }
    }

    /// Whether something declares `key` (overrides and exceptions do not).
    pub fn is_declared(&self, key: &Key) -> bool {
        self.decls
            .iter()
            .any(|d| &d.key == key && is_declaration(d.kind))
    }

    /// The declarations of `key` (not its overrides or exceptions), base layer first.
    pub fn declarations<'a>(&'a self, key: &'a Key) -> impl Iterator<Item = &'a Decl> + 'a {
        self.decls
            .iter()
            .filter(move |d| &d.key == key && is_declaration(d.kind))
    }

    /// Everything that declares, overrides or attaches to `key`.
    pub fn all_decls<'a>(&'a self, key: &'a Key) -> impl Iterator<Item = &'a Decl> + 'a {
        self.decls.iter().filter(move |d| &d.key == key)
    }

    /// The enum that has the value `name`: `preferred` when it has it, else the first declared.
    fn variant(&self, preferred: Option<&str>, name: &str) -> Option<Key> {
        if let Some(e) = preferred {
            if self
                .enums
                .get(e)
                .is_some_and(|vs| vs.iter().any(|v| v == name))
            {
                return Some(Key::Variant(e.to_string(), name.to_string()));
            }
        }
        self.decls.iter().find_map(|d| match &d.key {
            Key::Variant(e, v) if v == name => Some(Key::Variant(e.clone(), v.clone())),
            _ => None,
        })
    }

    /// What a bare name means inside a rule of `scope`.
    fn resolve(&self, scope: EntityKind, name: &str) -> Option<Key> {
        let own = Key::Entity(scope, name.to_string());
        if self.is_declared(&own) {
            return Some(own);
        }
        let param = Key::Param(name.to_string());
        if self.is_declared(&param) {
            return Some(param);
        }
        self.variant(None, name)
    }

    /// The occurrence under byte `offset` of file `file` (an offset just after a name counts).
    pub fn at(&self, file: u32, offset: u32) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|o| o.span.file == file && o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| o.span.end - o.span.start)
    }

    /// Every occurrence of `key`.
    pub fn uses<'a>(&'a self, key: &'a Key) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences.iter().filter(move |o| &o.key == key)
    }
}

pub fn is_declaration(kind: DeclKind) -> bool {
    !matches!(kind, DeclKind::Override | DeclKind::Exception)
}

/// The walk over rules that records the uses of names.
struct Uses<'a> {
    ix: &'a mut Index,
    text: &'a str,
}

impl Uses<'_> {
    fn add(&mut self, key: Key, span: Span) {
        self.ix.occurrences.push(Occurrence {
            key,
            span,
            decl: false,
        });
    }

    fn ty(&mut self, t: &TypeExpr) {
        if let TypeExpr::Named(id) = t {
            self.add(Key::Enum(id.name.clone()), id.span);
        }
    }

    fn enum_of(t: &TypeExpr) -> Option<&str> {
        match t {
            TypeExpr::Named(id) => Some(&id.name),
            _ => None,
        }
    }

    fn literal(&mut self, l: &Spanned<Literal>, enum_name: Option<&str>) {
        if let Literal::Name(n) = &l.node {
            if let Some(k) = self.ix.variant(enum_name, n) {
                self.add(k, l.span);
            }
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Input(d) => {
                self.ty(&d.ty);
                if let Some(def) = &d.default {
                    self.literal(def, Self::enum_of(&d.ty));
                }
            }
            Item::Parameter(d) => self.parameter(d),
            Item::Definition(d) => {
                self.ty(&d.ty);
                self.expr(&d.body, d.entity);
            }
            Item::Exception(d) => {
                self.expr(&d.when, d.entity);
                self.expr(&d.body, d.entity);
            }
            Item::Table(d) => {
                self.ty(&d.ty);
                for c in &d.columns {
                    self.expr(c, d.entity);
                }
                for row in &d.rows {
                    for cell in &row.cells {
                        for t in &cell.tests {
                            match t {
                                CellTest::Equals(e) | CellTest::Compare(_, e) => {
                                    self.expr(e, d.entity)
                                }
                                CellTest::Range(a, b) => {
                                    self.expr(a, d.entity);
                                    self.expr(b, d.entity);
                                }
                            }
                        }
                    }
                    self.expr(&row.result, d.entity);
                }
                if let Some(o) = &d.otherwise {
                    self.expr(o, d.entity);
                }
            }
            Item::Extern(d) => {
                for (_, t) in &d.params {
                    self.ty(t);
                }
                self.ty(&d.ret);
            }
            Item::State(d) => self.state(d),
            Item::Enum(_) | Item::Policy { .. } | Item::Extends { .. } | Item::Calendar(_) => {}
        }
    }

    fn parameter(&mut self, d: &ParamDecl) {
        if let Some(t) = &d.ty {
            self.ty(t);
        }
        if let Some(by) = &d.by {
            self.add(Key::Enum(by.name.clone()), by.span);
        }
        // An override repeats neither the type nor `by`: they are the base's.
        let (by, ty_enum) = self
            .ix
            .param_enums
            .get(&d.name.name)
            .cloned()
            .unwrap_or_default();
        for c in &d.clauses {
            match &c.value {
                ParamValue::Scalar(l) => self.literal(l, ty_enum.as_deref()),
                ParamValue::Table(rows, _) => {
                    for (k, v) in rows {
                        if let Some(key) = self.ix.variant(by.as_deref(), &k.name) {
                            self.add(key, k.span);
                        }
                        self.literal(v, ty_enum.as_deref());
                    }
                }
            }
        }
    }

    fn state(&mut self, d: &StateDecl) {
        self.ty(&d.ty);
        self.expr(&d.initially, d.entity);
        let e = Self::enum_of(&d.ty).map(str::to_string);
        match &d.body {
            StateBody::Expr(x) => self.expr(x, d.entity),
            StateBody::Transitions(rows) => {
                for r in rows {
                    for f in &r.from {
                        if let Some(k) = self.ix.variant(e.as_deref(), &f.name) {
                            self.add(k, f.span);
                        }
                    }
                    self.expr(&r.when, d.entity);
                    if let Some(k) = self.ix.variant(e.as_deref(), &r.to.name) {
                        self.add(k, r.to.span);
                    }
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr, scope: EntityKind) {
        match &e.kind {
            ExprKind::Lit(_) => {}
            ExprKind::Name(n) => {
                if let Some(k) = self.ix.resolve(scope, n) {
                    let span = self.narrow(e.span, n);
                    self.add(k, span);
                }
            }
            ExprKind::HouseholdField(id) => {
                self.add(Key::Entity(EntityKind::Household, id.name.clone()), id.span)
            }
            ExprKind::Index(a, b) => {
                self.expr(a, scope);
                self.expr(b, scope);
            }
            ExprKind::Unary(_, a) => self.expr(a, scope),
            ExprKind::Binary(_, a, b) => {
                self.expr(a, scope);
                self.expr(b, scope);
            }
            ExprKind::In(a, vs) => {
                self.expr(a, scope);
                for v in vs {
                    self.expr(v, scope);
                }
            }
            ExprKind::If(c, t, f) => {
                self.expr(c, scope);
                self.expr(t, scope);
                self.expr(f, scope);
            }
            ExprKind::Call(id, args) => {
                let ext = Key::Extern(id.name.clone());
                if self.ix.is_declared(&ext) {
                    self.add(ext, id.span);
                }
                for a in args {
                    self.expr(a, scope);
                }
            }
            ExprKind::Agg {
                body,
                collection,
                filter,
                ..
            } => {
                let inner = match collection.node {
                    Collection::Members | Collection::Persons => EntityKind::Person,
                    Collection::Households => EntityKind::Household,
                };
                if let Some(b) = body {
                    self.expr(b, inner);
                }
                if let Some(f) = filter {
                    self.expr(f, inner);
                }
            }
        }
    }

    /// The span of the name itself inside `span` (a parenthesised name's span covers the brackets).
    fn narrow(&self, span: Span, name: &str) -> Span {
        let (s, e) = (span.start as usize, span.end as usize);
        match self.text.get(s..e).and_then(|t| t.find(name)) {
            Some(i) => Span::new(span.file, s + i, s + i + name.len()),
            None => span,
        }
    }
}
