//! An app's name, checked once to be usable as the value of
//! [`APP_LABEL`](super::APP_LABEL), so labelling and pruning never meet a name
//! the API server would refuse.

use std::fmt;
use std::str::FromStr;

/// The longest label value the API server accepts.
const MAX_LABEL_VALUE: usize = 63;

/// An app's name: a valid, non-empty Kubernetes label value (at most 63
/// characters: letters, digits, `-`, `_` and `.`, starting and ending with a
/// letter or digit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct AppName(String);

/// A name that cannot be an app's label value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("app name {name:?} is not a valid value for label {label}: {problem}", label = super::APP_LABEL)]
pub struct AppNameError {
    /// The name as given.
    pub name: String,
    /// What is wrong with it.
    pub problem: AppNameProblem,
}

/// What makes a name an invalid label value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppNameProblem {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// Longer than 63 characters.
    #[error("it has {length} characters, at most {MAX_LABEL_VALUE} are allowed")]
    TooLong {
        /// Its length.
        length: usize,
    },
    /// A character other than letters, digits, `-`, `_` and `.`.
    #[error("{character:?} is not allowed (only letters, digits, '-', '_' and '.')")]
    Character {
        /// The first such character.
        character: char,
    },
    /// Starts or ends with `-`, `_` or `.`.
    #[error("it must start and end with a letter or digit")]
    Edge,
}

impl AppName {
    /// Checks a name.
    pub fn new(name: impl Into<String>) -> Result<Self, AppNameError> {
        let name = name.into();
        match problem(&name) {
            None => Ok(AppName(name)),
            Some(problem) => Err(AppNameError { name, problem }),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn problem(name: &str) -> Option<AppNameProblem> {
    if name.is_empty() {
        return Some(AppNameProblem::Empty);
    }
    if let Some(character) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(AppNameProblem::Character { character });
    }
    // ASCII from here on: bytes are characters.
    if name.len() > MAX_LABEL_VALUE {
        return Some(AppNameProblem::TooLong { length: name.len() });
    }
    let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric(name.chars().next()) || !alphanumeric(name.chars().last()) {
        return Some(AppNameProblem::Edge);
    }
    None
}

impl FromStr for AppName {
    type Err = AppNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        AppName::new(name)
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AppName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(name: &str) -> String {
        match AppName::new(name) {
            Ok(app) => panic!("{app} was accepted"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn label_values_are_accepted() {
        for name in ["shop", "a", "guestbook-ui", "team_a.web-2", &"x".repeat(63)] {
            assert_eq!(
                AppName::new(name).map(|app| app.to_string()),
                Ok(name.to_owned())
            );
        }
        assert_eq!(
            "shop".parse::<AppName>().map(|a| a.as_str().to_owned()),
            Ok("shop".into())
        );
    }

    #[test]
    fn names_the_api_server_would_refuse_are_errors_saying_why() {
        assert_eq!(
            refused(""),
            "app name \"\" is not a valid value for label kedge.dev/app: it is empty"
        );
        assert_eq!(
            refused("shop/web"),
            "app name \"shop/web\" is not a valid value for label kedge.dev/app: \
             '/' is not allowed (only letters, digits, '-', '_' and '.')"
        );
        assert!(refused("-shop").ends_with("it must start and end with a letter or digit"));
        assert!(refused("shop.").ends_with("it must start and end with a letter or digit"));
        assert!(refused("café").contains("'é' is not allowed"));
        assert!(refused(&"x".repeat(64)).ends_with("it has 64 characters, at most 63 are allowed"));
    }
}
