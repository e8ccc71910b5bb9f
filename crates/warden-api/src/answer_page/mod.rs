//! The "was this you?" page users reach from an alert: `GET
//! /answer/{token}` shows what happened (when, where, device, program,
//! protocol) and a form with the link's choice preselected; only `POST
//! /answer/{token}` acts (mail scanners follow links). Outside `/v1` and
//! without the API key: the signed token is the credential, and it is
//! also in the form (no cookies, so no cross-site request can answer
//! without the token).
//!
//! HTML without JavaScript, English or Chinese (`?lang=`, else the
//! browser's `Accept-Language`), rendered by minijinja with auto-escaping
//! (every value from the alert or the request is escaped). A forged or
//! malformed link is 404, an expired one 410, a second use 409, each a
//! page saying nothing changed. Bodies are bounded (`MAX_FORM_BYTES`),
//! tokens by [`warden_service::answers::MAX_TOKEN_LEN`], and the routes
//! pass the API's admission gate.

mod words;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use minijinja::Environment;
use serde::{Deserialize, Serialize};
use warden_core::{countries, Alert, Answer, Lang};
use warden_service::answers::{AnswerError, MAX_COMMENT_CHARS, MAX_TOKEN_LEN};
use warden_store::Backend;

use crate::state::AppState;
use words::{words, Words};

/// The largest form the page takes.
pub const MAX_FORM_BYTES: usize = 4096;

const TEMPLATE: &str = "answer.html";

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html`: every value is HTML-escaped unless marked safe (none is).
        env.add_template(TEMPLATE, include_str!("answer.html"))
            .expect("the answer page's template parses");
        env.set_fuel(Some(100_000));
        env
    })
}

/// `?choice=` and `?lang=` of the link.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    choice: Option<String>,
    lang: Option<String>,
}

/// The page's form.
#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    token: String,
    choice: String,
    lang: Option<String>,
    comment: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Serialize, Default)]
struct Page<'a> {
    t: Option<&'a Words>,
    mode: &'static str,
    lang_en: String,
    lang_zh: String,
    action: String,
    token: String,
    when: String,
    place: Option<String>,
    ip: Option<String>,
    isp: Option<String>,
    device: Option<String>,
    client: Option<String>,
    protocol: Option<String>,
    choices: Vec<Choice>,
    comment_max: usize,
    done: Vec<String>,
    heading: &'static str,
    message: &'static str,
}

fn lang_of(asked: Option<&str>, headers: &HeaderMap) -> Lang {
    match asked.map(str::trim) {
        Some(l) if l.eq_ignore_ascii_case("zh") || l.to_ascii_lowercase().starts_with("zh-") => {
            return Lang::Zh
        }
        Some(l) if l.eq_ignore_ascii_case("en") => return Lang::En,
        _ => {}
    }
    // The first language of the header that is one of ours.
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    for part in accept.split(',').take(16) {
        let tag = part.split(';').next().unwrap_or_default().trim();
        let tag = tag.to_ascii_lowercase();
        if tag == "zh" || tag.starts_with("zh-") {
            return Lang::Zh;
        }
        if tag == "en" || tag.starts_with("en-") {
            return Lang::En;
        }
    }
    Lang::En
}

/// A token as it may appear in the page: only what a genuine token holds.
fn clean_token(token: &str) -> Option<&str> {
    (token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.'))
    .then_some(token)
}

fn render(status: StatusCode, page: &Page<'_>) -> Response {
    let body = match env().get_template(TEMPLATE).and_then(|t| t.render(page)) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "the answer page did not render");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the page did not render").into_response();
        }
    };
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The token is in the address: never cached, never sent on as a
    // referrer; the page is never framed and runs no script.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn links(token: &str, choice: Option<Answer>) -> (String, String, String) {
    let base = format!("/answer/{token}");
    let c = choice
        .map(|c| format!("choice={}&", c.as_str()))
        .unwrap_or_default();
    (
        format!("{base}?{c}lang=en"),
        format!("{base}?{c}lang=zh"),
        base,
    )
}

fn refused(lang: Lang, token: Option<&str>, code: &str) -> Response {
    let status = match code {
        "link_expired" => StatusCode::GONE,
        "already_answered" => StatusCode::CONFLICT,
        "not_answerable" => StatusCode::UNPROCESSABLE_ENTITY,
        "bad_form" => StatusCode::BAD_REQUEST,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::NOT_FOUND,
    };
    let (heading, message) = words::refusal(lang, code);
    let (lang_en, lang_zh, _) = links(token.unwrap_or("-"), None);
    render(
        status,
        &Page {
            t: Some(words(lang)),
            mode: "error",
            lang_en,
            lang_zh,
            heading,
            message,
            ..Page::default()
        },
    )
}

fn answer_refused(lang: Lang, token: Option<&str>, e: &AnswerError) -> Response {
    match e {
        AnswerError::Service(err) => {
            tracing::warn!(error = %err, "answer page: the service failed");
            refused(lang, token, "unavailable")
        }
        e => refused(lang, token, e.code()),
    }
}

fn place(a: &Alert, lang: Lang) -> Option<String> {
    let country = a.country.map(|c| match lang {
        Lang::En => countries::name_en(c),
        Lang::Zh => countries::name_zh(c),
    });
    // "Lagos, Lagos": a region named as its city is said once.
    let region = a
        .region
        .as_deref()
        .filter(|r| a.city.as_deref() != Some(*r));
    let parts: Vec<String> = [a.city.as_deref(), region, country]
        .into_iter()
        .flatten()
        .map(|s| warden_core::text::one_line(s, 80))
        .filter(|s| !s.trim().is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The connection's peer address. Not `X-Client-IP`: anyone can reach
/// this page, so a header may not choose the address an answer records.
#[derive(Debug, Clone, Copy)]
pub struct Peer(Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| warden_core::normalize_ip(c.0.ip())),
        ))
    }
}

/// `GET /answer/{token}`: what happened and the form. Changes nothing.
pub async fn show<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(token): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
    Peer(peer): Peer,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or(PageQuery {
        choice: None,
        lang: None,
    });
    let lang = lang_of(q.lang.as_deref(), &headers);
    let Some(token) = clean_token(&token) else {
        return refused(lang, None, "link_malformed");
    };
    let alert = match state.service.alert_for_link(token, peer).await {
        Ok(a) => a,
        Err(e) => return answer_refused(lang, Some(token), &e),
    };
    let choice = q.choice.as_deref().and_then(|c| c.parse::<Answer>().ok());
    let (lang_en, lang_zh, action) = links(token, choice);
    let t = words(lang);
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(|s| warden_core::text::one_line(s, 120))
            .filter(|s| !s.trim().is_empty())
    };
    render(
        StatusCode::OK,
        &Page {
            t: Some(t),
            mode: "ask",
            lang_en,
            lang_zh,
            action,
            token: token.to_string(),
            when: warden_core::reason::local_time(alert.ts, state.service.utc_offset()),
            place: place(&alert, lang),
            ip: alert.ip.map(|ip| ip.to_string()),
            isp: clean(&alert.isp),
            device: clean(&alert.device),
            client: clean(&alert.client),
            protocol: alert.protocol.map(|p| p.as_str().to_uppercase()),
            choices: Answer::ALL
                .iter()
                .map(|&a| Choice {
                    value: a.as_str(),
                    label: words::choice(lang, a),
                    checked: Some(a) == choice,
                })
                .collect(),
            comment_max: MAX_COMMENT_CHARS,
            ..Page::default()
        },
    )
}

/// `POST /answer/{token}`: takes the answer (once) and says what it did.
pub async fn act<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Peer(peer): Peer,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let form = form.ok().map(|Form(f)| f);
    let lang = lang_of(form.as_ref().and_then(|f| f.lang.as_deref()), &headers);
    let Some(token) = clean_token(&token) else {
        return refused(lang, None, "link_malformed");
    };
    // The token of the form must be the address's: a page of another link
    // cannot answer this one.
    let Some(form) = form.filter(|f| f.token == token) else {
        return refused(lang, Some(token), "bad_form");
    };
    let Ok(choice) = form.choice.parse::<Answer>() else {
        return refused(lang, Some(token), "bad_form");
    };
    let answered = match state
        .service
        .answer_alert(token, choice, form.comment.as_deref(), peer)
        .await
    {
        Ok(a) => a,
        Err(e) => return answer_refused(lang, Some(token), &e),
    };
    let (lang_en, lang_zh, _) = links(token, None);
    render(
        StatusCode::OK,
        &Page {
            t: Some(words(lang)),
            mode: "done",
            lang_en,
            lang_zh,
            done: words::done(
                lang,
                &words::Done {
                    answer: answered.answer,
                    cut_off: answered.account_cut_off,
                    blocked: answered.blocked.map(|n| n.to_string()),
                    queued: answered.queued_correction.is_some(),
                },
            ),
            ..Page::default()
        },
    )
}
