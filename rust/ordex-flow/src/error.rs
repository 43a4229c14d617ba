//! The one error a flow can be refused with: which node (or edge) and what is wrong with it.

use std::fmt;

/// A flow that cannot be compiled. `node` names the node or edge concerned, `problem` is a short
/// stable code (`unknown_type`, `bad_param`, `cycle`, ...), `param` the parameter or port at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    pub node: Option<String>,
    pub problem: &'static str,
    pub param: Option<String>,
    pub message: String,
}

impl FlowError {
    pub fn document(message: impl Into<String>) -> Self {
        FlowError { node: None, problem: "bad_document", param: None, message: message.into() }
    }

    pub fn node(node: &str, problem: &'static str, message: impl fmt::Display) -> Self {
        FlowError { node: Some(node.to_owned()), problem, param: None, message: format!("Node '{node}': {message}") }
    }

    pub fn param(node: &str, param: &str, message: impl fmt::Display) -> Self {
        FlowError {
            node: Some(node.to_owned()),
            problem: "bad_param",
            param: Some(param.to_owned()),
            message: format!("Node '{node}': parameter '{param}' {message}"),
        }
    }

    pub fn edge(edge: &str, problem: &'static str, message: impl fmt::Display) -> Self {
        FlowError { node: Some(edge.to_owned()), problem, param: None, message: format!("Edge '{edge}': {message}") }
    }

    pub fn setting(name: &str, message: impl fmt::Display) -> Self {
        FlowError {
            node: None,
            problem: "bad_setting",
            param: Some(name.to_owned()),
            message: format!("Setting '{name}' {message}"),
        }
    }

    pub fn with_param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FlowError {}
