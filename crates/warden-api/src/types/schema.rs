//! Schemas of the fields every route shares, written once with the
//! constraints the server enforces (`#[schema(schema_with = ...)]`), so the
//! document cannot promise less than the handlers check: a user name, an IP
//! address. Lengths in JSON Schema count characters, Warden's limits count
//! UTF-8 bytes: `maxLength` is the byte limit, which every accepted value
//! meets, and the description says bytes.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, Required, SchemaFormat};
use utoipa::IntoParams;
use warden_core::MAX_USER_LEN;

/// No control character (Unicode `Cc`, as `char::is_control`) and at least
/// one that is not white space (the name is trimmed).
const USER_PATTERN: &str =
    "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$";

fn user_object(nullable: bool) -> ObjectBuilder {
    let ty = if nullable {
        [Type::String, Type::Null].into_iter().collect()
    } else {
        Type::String.into()
    };
    ObjectBuilder::new()
        .schema_type::<utoipa::openapi::schema::SchemaType>(ty)
        .min_length(Some(1))
        .max_length(Some(MAX_USER_LEN))
        .pattern(Some(USER_PATTERN))
        .description(Some(format!(
            "Login name: trimmed and lower-cased; not blank, at most {MAX_USER_LEN} bytes of UTF-8, no control characters."
        )))
        .examples(["alice@example.com"])
}

/// A login name.
pub fn user() -> Schema {
    Schema::Object(user_object(false).build())
}

/// A login name, or null.
pub fn user_opt() -> Schema {
    Schema::Object(user_object(true).build())
}

fn ip_of(extra: Option<Type>) -> Schema {
    let format = |f: KnownFormat| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(f)))
            .build()
    };
    let mut any = AnyOfBuilder::new()
        .item(format(KnownFormat::Ipv4))
        .item(format(KnownFormat::Ipv6));
    if let Some(t) = extra {
        any = any.item(ObjectBuilder::new().schema_type(t).build());
    }
    Schema::AnyOf(
        any.description(Some(
            "Client address, IPv4 or IPv6 (IPv4-mapped IPv6 is normalised).",
        ))
        .examples(["113.88.1.10"])
        .build(),
    )
}

/// An IP address.
pub fn ip() -> Schema {
    ip_of(None)
}

/// An IP address, or null.
pub fn ip_opt() -> Schema {
    ip_of(Some(Type::Null))
}

/// A required path parameter with one of the schemas above (utoipa's
/// derive drops `required` when `schema_with` is used, and OpenAPI requires
/// path parameters to be required).
fn path_param(name: &str, schema: Schema) -> Vec<Parameter> {
    vec![ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(schema))
        .build()]
}

/// The `{user}` path parameter of the account and user routes.
pub struct UserPath;

impl IntoParams for UserPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        path_param("user", user())
    }
}

/// The `{ip}` path parameter of the address lookup.
pub struct IpPath;

impl IntoParams for IpPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        path_param("ip", ip())
    }
}
