//! Plain types and rules: parsing of input values, no I/O and no web framework.

pub mod cadence;
pub mod calendar;
pub mod feedback;
pub mod health;
pub mod loyalty;
pub mod needs;
pub mod pagination;
pub mod parse;
pub mod rfm;
pub mod segment_rule;
pub mod surveys;
pub mod text;

use crate::error::{AppError, AppResult, FieldError};

/// Collects field errors while an input is parsed, so a client learns about
/// every bad field at once.
#[derive(Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    /// Records the error of a failed parse under `path`; returns the value on success.
    pub fn check<T>(&mut self, path: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.push(FieldError::new(path, message));
                None
            }
        }
    }

    /// Parses an optional value, keeping `None` as `None`.
    pub fn opt<T, U>(&mut self, path: &str, value: Option<T>, parse: impl FnOnce(T) -> Result<U, String>) -> Option<U> {
        value.and_then(|v| self.check(path, parse(v)))
    }

    /// Adds an error directly.
    pub fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    /// Ends the check.
    ///
    /// # Errors
    /// `Validation` listing every recorded field error.
    pub fn finish(self) -> AppResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}
