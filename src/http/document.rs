//! Cheap checks on a parsed GraphQL document, made before it is validated or executed.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};

/// What the handler needs to know about a document before running it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DocumentSummary {
    /// The type of the operation that would run, or `None` if it cannot be chosen (the
    /// executor then reports the error).
    pub operation: Option<OperationType>,
    /// Root fields of that operation, such as `submitLead`.
    pub root_fields: Vec<String>,
    /// Aliases in the whole document.
    pub aliases: usize,
    /// Field selections in the whole document, counting each repeat.
    pub fields: usize,
    /// Whether the document asks for `__schema` or `__type` anywhere.
    pub introspection: bool,
}

/// Summarizes `document` for the operation named `operation_name`.
pub fn summarize(document: &ExecutableDocument, operation_name: Option<&str>) -> DocumentSummary {
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
        summary.operation = Some(operation.ty);
        for selection in &operation.selection_set.node.items {
            if let Selection::Field(field) = &selection.node {
                summary.root_fields.push(field.node.name.node.to_string());
            }
        }
    }
    for (_, operation) in document.operations.iter() {
        count(&operation.node.selection_set.node, &mut summary);
    }
    for fragment in document.fragments.values() {
        count(&fragment.node.selection_set.node, &mut summary);
    }
    summary
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

    use super::*;

    #[test]
    fn counts_aliases_and_fields() {
        let document = parse_query("{ a: viewer { name } b: viewer { name role } }").unwrap();
        let summary = summarize(&document, None);
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
        let summary = summarize(&document, Some("B"));
        assert_eq!(summary.operation, Some(OperationType::Mutation));
        assert_eq!(summary.root_fields, vec!["linkKaruo".to_owned()]);
        assert_eq!(summarize(&document, None).operation, None);
    }

    #[test]
    fn finds_introspection_anywhere() {
        let document = parse_query(
            "{ viewer { name } ...F } fragment F on QueryRoot { __type(name: \"X\") { name } }",
        )
        .unwrap();
        assert!(summarize(&document, None).introspection);
        let plain = parse_query("{ __typename viewer { name } }").unwrap();
        assert!(!summarize(&plain, None).introspection);
    }

    #[test]
    fn counts_fields_inside_fragments() {
        let document = parse_query("{ ...F } fragment F on Query { viewer { name } }").unwrap();
        assert_eq!(summarize(&document, None).fields, 2);
    }
}
