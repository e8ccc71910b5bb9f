//! The [`TemplateStore`] trait: the admins' versions of the notification
//! templates, one per template name and language (the built-in one is used
//! where there is none).

use std::future::Future;

use warden_core::{Lang, Timestamp};

use crate::error::StoreError;

/// An admin's version of one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    /// The template's name (`user_email`, `admin_chat`...).
    pub name: String,
    pub lang: Lang,
    /// The template source (validated by the service before saving).
    pub body: String,
    pub updated_at: Timestamp,
    /// Who saved it (the API key's actor).
    pub updated_by: String,
}

/// Persistence for edited templates.
pub trait TemplateStore: Send + Sync + 'static {
    /// The stored version of `name` in `lang`, if an admin saved one.
    fn template(
        &self,
        name: &str,
        lang: Lang,
    ) -> impl Future<Output = Result<Option<StoredTemplate>, StoreError>> + Send;

    /// Every stored template, by name then language.
    fn templates(&self) -> impl Future<Output = Result<Vec<StoredTemplate>, StoreError>> + Send;

    /// Inserts or replaces the stored version of `t.name` in `t.lang`.
    fn put_template(
        &self,
        t: &StoredTemplate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the stored version (back to the built-in one); `false` when
    /// there was none.
    fn delete_template(
        &self,
        name: &str,
        lang: Lang,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
