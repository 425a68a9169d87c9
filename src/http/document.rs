//! Cheap checks on a parsed GraphQL document, made before it is validated or executed, and a
//! cache of parsed documents.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use async_graphql::{
    parser::types::{
        Directive, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
    Positioned, Value,
};

/// What the handler needs to know about a document before running it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DocumentSummary {
    /// The type of the operation that would run, or `None` if it cannot be chosen (the
    /// executor then reports the error).
    pub operation: Option<OperationType>,
    /// Root fields of that operation, such as `submitLead`, in the order first selected, each
    /// with the number of times it is selected: an aliased field selected three times counts
    /// three. Fields that fragments select at the root are included, and fields that `@skip`
    /// or `@include` turn off with the request's variables are not.
    pub root_fields: Vec<(String, u64)>,
    /// A fragment that a spread names but the document does not define. Validation rejects
    /// such a document, but only after walking every expansion of the spreads around it.
    pub unknown_fragment: Option<String>,
    /// Variables of that operation with a non-null type and no default, with their types.
    /// A request that leaves one out fails before execution.
    pub required_variables: Vec<(String, String)>,
    /// Aliases in the whole document.
    pub aliases: usize,
    /// Field selections in the whole document, counting each repeat.
    pub fields: usize,
    /// Whether the document asks for `__schema` or `__type` anywhere.
    pub introspection: bool,
    /// Field selections of the chosen operation once every fragment spread is expanded, capped
    /// at [`EXPANSION_CAP`]. Fragments that spread each other can make a small document expand
    /// exponentially, which would cost the validator seconds before any limit applies.
    pub expanded_fields: u64,
}

/// Parsed documents by their text.
///
/// Clients send the same few documents over and over (the console's screens, an integrator's
/// `submitLead`), and parsing is about a tenth of the cost of a small query, where copying a
/// parsed document costs a fraction of that. The cache contains at most `capacity` documents of
/// at most [`MAX_CACHED_BYTES`] each and drops the oldest first, so a client that sends a
/// new document every time costs memory within that bound and nothing else.
pub struct DocumentCache {
    capacity: usize,
    entries: Mutex<CacheEntries>,
}

#[derive(Default)]
struct CacheEntries {
    documents: HashMap<String, ExecutableDocument>,
    /// Texts in the order they were added, oldest first.
    order: VecDeque<String>,
}

/// The largest document text the cache keeps.
pub const MAX_CACHED_BYTES: usize = 8 * 1024;

impl DocumentCache {
    pub fn new(capacity: usize) -> Self {
        DocumentCache {
            capacity,
            entries: Mutex::default(),
        }
    }

    /// Returns a copy of the parsed document of `text`, if it is cached.
    pub fn get(&self, text: &str) -> Option<ExecutableDocument> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        entries.documents.get(text).cloned()
    }

    /// Keeps the parsed document of `text`, forgetting the oldest one when full.
    pub fn insert(&self, text: &str, document: &ExecutableDocument) {
        if self.capacity == 0 || text.len() > MAX_CACHED_BYTES {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if entries.documents.contains_key(text) {
            return;
        }
        while entries.documents.len() >= self.capacity {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.documents.remove(&oldest);
        }
        entries.order.push_back(text.to_owned());
        entries.documents.insert(text.to_owned(), document.clone());
    }

    pub fn len(&self) -> usize {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        entries.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The largest expanded size [`summarize`] computes; anything bigger is reported as this.
pub const EXPANSION_CAP: u64 = 1 << 40;

/// Root field names with how many times each is selected.
type RootCounts = Vec<(String, u64)>;

fn add_count(counts: &mut RootCounts, name: &str, times: u64) {
    match counts.iter_mut().find(|(known, _)| known == name) {
        Some((_, total)) => *total = total.saturating_add(times),
        None => counts.push((name.to_owned(), times)),
    }
}

/// The Boolean variables of a request, with the operation's defaults for those it leaves out.
pub type Flags = HashMap<String, bool>;

/// Returns whether `@skip` or `@include` turn a selection off. A condition that is neither a
/// Boolean literal nor a known Boolean variable keeps the selection, and validation rejects it
/// later.
fn turned_off(directives: &[Positioned<Directive>], flags: &Flags) -> bool {
    directives.iter().any(|directive| {
        let condition = directive
            .node
            .get_argument("if")
            .and_then(|value| {
                value
                    .node
                    .clone()
                    .into_const_with(|name| {
                        flags
                            .get(name.as_str())
                            .map(|flag| Value::Boolean(*flag))
                            .ok_or(())
                    })
                    .ok()
            })
            .and_then(|value| match value {
                Value::Boolean(flag) => Some(flag),
                _ => None,
            });
        matches!(
            (directive.node.name.node.as_str(), condition),
            ("skip", Some(true)) | ("include", Some(false))
        )
    })
}

/// Counts the fields of a root selection set, through inline fragments and fragment spreads.
/// Each fragment is counted once and remembered in `memo`, so fragments that spread each other
/// many times cost time in proportion to the document, not to its expansion. `visiting` lists
/// the fragments being counted, so that a cycle stops here (and is reported elsewhere).
fn root_counts<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    flags: &Flags,
    memo: &mut HashMap<&'a str, RootCounts>,
    visiting: &mut Vec<&'a str>,
) -> RootCounts {
    let mut counts = RootCounts::new();
    for selection in &set.items {
        if turned_off(selection.node.directives(), flags) {
            continue;
        }
        match &selection.node {
            Selection::Field(field) => add_count(&mut counts, field.node.name.node.as_str(), 1),
            Selection::InlineFragment(fragment) => {
                let inner = root_counts(
                    &fragment.node.selection_set.node,
                    document,
                    flags,
                    memo,
                    visiting,
                );
                for (name, times) in inner {
                    add_count(&mut counts, &name, times);
                }
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if visiting.contains(&name) {
                    continue;
                }
                let Some((key, fragment)) = document
                    .fragments
                    .get_key_value(&spread.node.fragment_name.node)
                else {
                    continue;
                };
                if !memo.contains_key(name) {
                    visiting.push(name);
                    let inner = root_counts(
                        &fragment.node.selection_set.node,
                        document,
                        flags,
                        memo,
                        visiting,
                    );
                    visiting.pop();
                    memo.insert(key.as_str(), inner);
                }
                for (field, times) in &memo[name] {
                    add_count(&mut counts, field, *times);
                }
            }
        }
    }
    counts
}

/// Finds a fragment spread in `set` whose fragment the document does not define.
fn unknown_spread<'a>(set: &'a SelectionSet, document: &ExecutableDocument) -> Option<&'a str> {
    set.items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => unknown_spread(&field.node.selection_set.node, document),
            Selection::InlineFragment(fragment) => {
                unknown_spread(&fragment.node.selection_set.node, document)
            }
            Selection::FragmentSpread(spread) => (!document
                .fragments
                .contains_key(&spread.node.fragment_name.node))
            .then(|| spread.node.fragment_name.node.as_str()),
        })
}

/// Summarizes `document` for the operation named `operation_name`, with the request's Boolean
/// variables in `flags` for `@skip` and `@include`.
pub fn summarize(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    flags: &Flags,
) -> DocumentSummary {
    let mut summary = DocumentSummary::default();
    let chosen = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|op| &op.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    if let Some(operation) = chosen {
        let mut sizes = HashMap::new();
        summary.expanded_fields = expanded(
            &operation.selection_set.node,
            document,
            &mut sizes,
            &mut Vec::new(),
        );
        summary.operation = Some(operation.ty);
        summary.required_variables = operation
            .variable_definitions
            .iter()
            .filter(|v| !v.node.var_type.node.nullable && v.node.default_value.is_none())
            .map(|v| {
                (
                    v.node.name.node.to_string(),
                    v.node.var_type.node.to_string(),
                )
            })
            .collect();
        let mut flags = flags.clone();
        for definition in &operation.variable_definitions {
            if let Some(Value::Boolean(value)) = definition
                .node
                .default_value
                .as_ref()
                .map(|value| &value.node)
            {
                flags
                    .entry(definition.node.name.node.to_string())
                    .or_insert(*value);
            }
        }
        summary.root_fields = root_counts(
            &operation.selection_set.node,
            document,
            &flags,
            &mut HashMap::new(),
            &mut Vec::new(),
        );
    }
    summary.unknown_fragment = document
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node)
        .chain(
            document
                .fragments
                .values()
                .map(|f| &f.node.selection_set.node),
        )
        .find_map(|set| unknown_spread(set, document))
        .map(str::to_owned);
    for (_, operation) in document.operations.iter() {
        count(&operation.node.selection_set.node, &mut summary);
    }
    for fragment in document.fragments.values() {
        count(&fragment.node.selection_set.node, &mut summary);
    }
    summary
}

/// The number of fields `set` selects with fragments expanded, memoized per fragment so that
/// the cost is linear in the document. A fragment that spreads itself counts as empty here;
/// validation reports the cycle.
fn expanded<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    sizes: &mut HashMap<&'a str, u64>,
    visiting: &mut Vec<&'a str>,
) -> u64 {
    let mut total: u64 = 0;
    for selection in &set.items {
        let size = match &selection.node {
            Selection::Field(field) => 1u64.saturating_add(expanded(
                &field.node.selection_set.node,
                document,
                sizes,
                visiting,
            )),
            Selection::InlineFragment(fragment) => {
                expanded(&fragment.node.selection_set.node, document, sizes, visiting)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if let Some(size) = sizes.get(name) {
                    *size
                } else if visiting.contains(&name) {
                    0
                } else if let Some((key, fragment)) = document
                    .fragments
                    .get_key_value(&spread.node.fragment_name.node)
                {
                    visiting.push(name);
                    let size =
                        expanded(&fragment.node.selection_set.node, document, sizes, visiting);
                    visiting.pop();
                    sizes.insert(key.as_str(), size);
                    size
                } else {
                    0
                }
            }
        };
        total = total.saturating_add(size).min(EXPANSION_CAP);
    }
    total
}

fn count(set: &SelectionSet, summary: &mut DocumentSummary) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                summary.fields += 1;
                let name = field.node.name.node.as_str();
                if name == "__schema" || name == "__type" {
                    summary.introspection = true;
                }
                if field.node.alias.is_some() {
                    summary.aliases += 1;
                }
                count(&field.node.selection_set.node, summary);
            }
            Selection::InlineFragment(fragment) => {
                count(&fragment.node.selection_set.node, summary)
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    #[test]
    fn cache_returns_the_document_it_was_given() {
        let cache = DocumentCache::new(4);
        let text = "{ viewer { name } }";
        assert!(cache.get(text).is_none());
        let parsed = parse_query(text).unwrap();
        cache.insert(text, &parsed);
        let cached = cache.get(text).expect("cached");
        assert_eq!(
            summarize(&cached, None, &Flags::new()),
            summarize(&parsed, None, &Flags::new())
        );
    }

    #[test]
    fn cache_forgets_the_oldest_document_when_full() {
        let cache = DocumentCache::new(2);
        for text in ["{ a }", "{ b }", "{ c }"] {
            cache.insert(text, &parse_query(text).unwrap());
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get("{ a }").is_none());
        assert!(cache.get("{ b }").is_some());
        assert!(cache.get("{ c }").is_some());
    }

    #[test]
    fn cache_skips_long_documents() {
        let cache = DocumentCache::new(2);
        let text = format!("{{ a }} # {}", "x".repeat(MAX_CACHED_BYTES));
        cache.insert(&text, &parse_query(&text).unwrap());
        assert!(cache.is_empty());
    }

    use super::*;

    #[test]
    fn counts_aliases_and_fields() {
        let document = parse_query("{ a: viewer { name } b: viewer { name role } }").unwrap();
        let summary = summarize(&document, None, &Flags::new());
        assert_eq!(summary.aliases, 2);
        assert_eq!(summary.fields, 5);
        assert_eq!(summary.operation, Some(OperationType::Query));
    }

    #[test]
    fn picks_the_named_operation() {
        let document = parse_query(
            "query A { viewer { name } } mutation B { linkKaruo(memberId: 1) { lead { id } } }",
        )
        .unwrap();
        let summary = summarize(&document, Some("B"), &Flags::new());
        assert_eq!(summary.operation, Some(OperationType::Mutation));
        assert_eq!(summary.root_fields, vec![("linkKaruo".to_owned(), 1)]);
        assert_eq!(summarize(&document, None, &Flags::new()).operation, None);
    }

    #[test]
    fn counts_aliased_root_fields_through_fragments() {
        let document = parse_query(
            "mutation { a: linkKaruo(memberId: 1) { id } ...F ... on MutationRoot { c: linkKaruo(memberId: 3) { id } } }
             fragment F on MutationRoot { b: linkKaruo(memberId: 2) { id } ...G }
             fragment G on MutationRoot { ...F }",
        )
        .unwrap();
        let summary = summarize(&document, None, &Flags::new());
        assert_eq!(summary.root_fields, vec![("linkKaruo".to_owned(), 3)]);
    }

    #[test]
    fn skips_root_fields_turned_off_by_directives() {
        let document = parse_query(
            "mutation($on: Boolean!, $off: Boolean = false) {
               a: linkKaruo(memberId: 1) @include(if: $on) { id }
               b: linkKaruo(memberId: 2) @skip(if: true) { id }
               c: linkKaruo(memberId: 3) @include(if: $off) { id }
               ...F @skip(if: $on)
               ... @include(if: $on) { d: linkKaruo(memberId: 4) { id } }
             }
             fragment F on MutationRoot { e: linkKaruo(memberId: 5) { id } }",
        )
        .unwrap();
        let on = Flags::from([("on".to_owned(), true)]);
        let summary = summarize(&document, None, &on);
        assert_eq!(summary.root_fields, vec![("linkKaruo".to_owned(), 2)]);

        let off = Flags::from([("on".to_owned(), false)]);
        let summary = summarize(&document, None, &off);
        assert_eq!(summary.root_fields, vec![("linkKaruo".to_owned(), 1)]);

        // A variable the request left out keeps its field counted.
        let summary = summarize(&document, None, &Flags::new());
        assert_eq!(summary.root_fields, vec![("linkKaruo".to_owned(), 3)]);
    }

    #[test]
    fn counts_doubling_fragments_without_expanding_them() {
        // Each fragment spreads the next twice: 2^40 selections of linkKaruo.
        let mut text = String::from("mutation { ...F0 }");
        for n in 0..40 {
            text.push_str(&format!(
                " fragment F{n} on MutationRoot {{ ...F{m} ...F{m} }}",
                m = n + 1
            ));
        }
        text.push_str(" fragment F40 on MutationRoot { linkKaruo(memberId: 1) { id } }");
        let document = parse_query(&text).unwrap();
        let summary = summarize(&document, None, &Flags::new());
        assert_eq!(summary.root_fields, vec![("linkKaruo".to_owned(), 1 << 40)]);
    }

    #[test]
    fn names_a_spread_of_an_undefined_fragment() {
        let document = parse_query(
            "{ ...A } fragment A on QueryRoot { ...B ...B } fragment B on QueryRoot { ...Missing }",
        )
        .unwrap();
        assert_eq!(
            summarize(&document, None, &Flags::new())
                .unknown_fragment
                .as_deref(),
            Some("Missing")
        );
        let defined = parse_query("{ ...A } fragment A on QueryRoot { viewer { name } }").unwrap();
        assert_eq!(
            summarize(&defined, None, &Flags::new()).unknown_fragment,
            None
        );
    }

    #[test]
    fn root_fields_of_unknown_operation_are_empty() {
        let document =
            parse_query("query A { viewer { name } } query B { viewer { name } }").unwrap();
        let summary = summarize(&document, Some("C"), &Flags::new());
        assert_eq!(summary.operation, None);
        assert!(summary.root_fields.is_empty());
    }

    #[test]
    fn finds_introspection_anywhere() {
        let document = parse_query(
            "{ viewer { name } ...F } fragment F on QueryRoot { __type(name: \"X\") { name } }",
        )
        .unwrap();
        assert!(summarize(&document, None, &Flags::new()).introspection);
        let plain = parse_query("{ __typename viewer { name } }").unwrap();
        assert!(!summarize(&plain, None, &Flags::new()).introspection);
    }

    #[test]
    fn expands_fragments_once_each() {
        let mut document = String::from("{ ...F20 } fragment F0 on Viewer { name }");
        for level in 1..=20 {
            document.push_str(&format!(
                " fragment F{level} on Viewer {{ ...F{} ...F{} }}",
                level - 1,
                level - 1
            ));
        }
        let parsed = parse_query(&document).unwrap();
        let started = std::time::Instant::now();
        let summary = summarize(&parsed, None, &Flags::new());
        assert_eq!(summary.expanded_fields, 1 << 20);
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn self_spreading_fragment_does_not_loop() {
        let parsed = parse_query("{ ...A } fragment A on Viewer { name ...A }").unwrap();
        assert_eq!(summarize(&parsed, None, &Flags::new()).expanded_fields, 1);
    }

    #[test]
    fn counts_fields_inside_fragments() {
        let document = parse_query("{ ...F } fragment F on Query { viewer { name } }").unwrap();
        assert_eq!(summarize(&document, None, &Flags::new()).fields, 2);
    }
}
