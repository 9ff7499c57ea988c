//! [`ContractError`]: a value that does not satisfy its data contract.

use core::fmt;

/// A value that does not satisfy its data contract: which contract, where in the value,
/// and serde's (or the range check's) message.
///
/// Displays as `"{schema}: {path}: {message}"`, or `"{schema}: {message}"` when the
/// problem is with the value as a whole (empty `path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// `SchemaType::NAME` of the contract, e.g. `"temperature"`.
    pub schema: String,
    /// Where in the value: `"celsius"`, dotted for nested fields (`"a.b"`), `"[0]"` for
    /// array elements, `""` for the value as a whole.
    pub path: String,
    /// What is wrong, in serde's words (e.g. ``"missing field `celsius`"``,
    /// `"invalid type: string \"hot\", expected f32"`).
    pub message: String,
}

impl ContractError {
    /// Builds an error from its three parts.
    pub fn new(
        schema: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            schema: schema.into(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.schema, self.message)
        } else {
            write!(f, "{}: {}: {}", self.schema, self.path, self.message)
        }
    }
}

impl std::error::Error for ContractError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_path_when_present() {
        let e = ContractError::new("temperature", "celsius", "missing field `celsius`");
        assert_eq!(
            e.to_string(),
            "temperature: celsius: missing field `celsius`"
        );
    }

    #[test]
    fn display_omits_empty_path() {
        let e = ContractError::new("humidity", "", "expected value at line 1 column 1");
        assert_eq!(e.to_string(), "humidity: expected value at line 1 column 1");
    }

    #[test]
    fn is_a_std_error() {
        let e: Box<dyn std::error::Error> = Box::new(ContractError::new("x", "", "m"));
        assert_eq!(e.to_string(), "x: m");
    }
}
