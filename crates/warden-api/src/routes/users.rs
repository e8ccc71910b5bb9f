//! A user's login history (from storage) and learned profile (from the
//! engine).

use std::sync::Arc;

use axum::extract::State;
use warden_core::profile::known;
use warden_core::{countries, Timestamp};
use warden_store::{Backend, Cursor, HistoryQuery, LoginEvent};

// `Path` is the API's own: its rejections are JSON errors.
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;
use crate::types::schema::UserPath;
use crate::types::{
    parse_ts, rfc3339, round4, AttributionDto, DecisionDto, EventDto, FailureReasonDto,
    HistoryParams, HistoryResponse, LastLoginDto, LevelDto, LocationDto, OutcomeDto,
    ProfileResponse, ProtocolDto, UsualCountryDto, UsualNetworkDto, UsualPlaceDto,
};

fn normalise_user(user: &str) -> Result<String, ApiError> {
    warden_core::normalize_user(user)
        .map(|u| u.to_string())
        .map_err(|e| ApiError::bad(e.to_string()))
}

/// A `next_cursor` value: `<unix seconds>.<event id>`.
fn parse_cursor(c: &str) -> Result<Cursor, ApiError> {
    c.split_once('.')
        .and_then(|(ts, id)| {
            Some(Cursor {
                ts: Timestamp(ts.parse().ok()?),
                id: id.parse().ok()?,
            })
        })
        .ok_or_else(|| ApiError::bad(format!("cursor: {c:?} is not a cursor from next_cursor")))
}

fn event_dto(e: LoginEvent) -> EventDto {
    use warden_core::{Outcome, Protocol};
    let protocol = match e.protocol {
        Protocol::Imap => ProtocolDto::Imap,
        Protocol::Pop3 => ProtocolDto::Pop3,
        Protocol::Smtp => ProtocolDto::Smtp,
        Protocol::Web => ProtocolDto::Web,
        Protocol::Im => ProtocolDto::Im,
        Protocol::Api => ProtocolDto::Api,
        Protocol::Dav => ProtocolDto::Dav,
    };
    let (outcome, failure_reason) = match e.outcome {
        Outcome::Success => (OutcomeDto::Success, None),
        Outcome::Failure(r) => (OutcomeDto::Failure, Some(FailureReasonDto::from(r))),
    };
    let verify_reason = crate::diagnose::verify_reason(&e).map(|r| r.as_str().to_string());
    let client = e
        .user_agent
        .as_deref()
        .and_then(warden_core::client::describe);
    EventDto {
        id: e.id,
        ts: rfc3339(e.ts),
        ip: e.ip.to_string(),
        protocol,
        outcome,
        failure_reason,
        verify_reason,
        device: e.device,
        client,
        user_agent: e.user_agent,
        country: e.country.map(|c| c.as_str().to_string()),
        region: e.region,
        city: e.city,
        asn: e.asn,
        decision: DecisionDto::from(e.decision),
        risk: round4(e.risk),
        level: LevelDto::from(e.level),
        alert: e.alert,
        reasons: e.reasons.iter().map(|r| r.as_str().to_string()).collect(),
    }
}

/// A user's login history, newest first.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/history",
    tag = "users",
    params(UserPath, HistoryParams),
    responses(
        (status = 200, description = "A page of events", body = HistoryResponse),
        (status = 400, description = "Invalid parameter", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn history<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<ApiJson<HistoryResponse>, ApiError> {
    let user = normalise_user(&user)?;
    let limit = params.limit.unwrap_or(50);
    if limit == 0 || limit > warden_store::MAX_HISTORY_LIMIT {
        return Err(ApiError::bad(format!(
            "limit must be within 1..={}",
            warden_store::MAX_HISTORY_LIMIT
        )));
    }
    let query = match (&params.cursor, &params.before) {
        (Some(_), Some(_)) => return Err(ApiError::bad("give either cursor or before, not both")),
        (Some(c), None) => HistoryQuery::after(parse_cursor(c)?, limit),
        (None, Some(b)) => HistoryQuery::before(parse_ts("before", b)?, limit),
        (None, None) => HistoryQuery::latest(limit),
    };
    let events = state.store.history(&user, query).await?;
    let next_cursor = (events.len() == limit as usize)
        .then(|| {
            events
                .last()
                .and_then(|e| e.id.map(|id| format!("{}.{id}", e.ts.secs())))
        })
        .flatten();
    Ok(ApiJson(HistoryResponse {
        user,
        events: events.into_iter().map(event_dto).collect(),
        next_cursor,
        attribution: AttributionDto::default(),
    }))
}

/// What Warden has learned about a user.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/profile",
    tag = "users",
    params(UserPath),
    responses(
        (status = 200, description = "The profile", body = ProfileResponse),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
        (status = 404, description = "No successful login recorded for this user", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn profile<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<ProfileResponse>, ApiError> {
    let user = normalise_user(&user)?;
    let now = state.now();
    let engine = state.engine.lock();
    let p = engine
        .profile(&user)
        .ok_or_else(|| ApiError::NotFound(format!("no profile for user {user:?}")))?;
    let policy = engine.policy();
    let l = &policy.learning;
    let catalog = engine.catalog();
    let at = |secs: u32| rfc3339(Timestamp(secs as i64));
    let usual_places = p
        .usual_places(now, l)
        .into_iter()
        .map(|sp| UsualPlaceDto {
            place: catalog
                .get(sp.seen.key)
                .map(LocationDto::from)
                .unwrap_or_default(),
            weight: round4(sp.seen.weight_at(now, l.half_life_days)),
            last_seen: at(sp.seen.last),
        })
        .collect();
    let countries = p
        .countries
        .iter()
        .filter(|c| known(&p.countries, c.key, now, l).is_some())
        .map(|c| UsualCountryDto {
            country: c.key.as_str().to_string(),
            name: countries::name_en(c.key).to_string(),
            name_zh: countries::name_zh(c.key).to_string(),
            weight: round4(c.weight_at(now, l.half_life_days)),
            last_seen: at(c.last),
        })
        .collect();
    let networks = p
        .asns
        .iter()
        .filter(|a| known(&p.asns, a.key, now, l).is_some())
        .map(|a| UsualNetworkDto {
            asn: a.key,
            weight: round4(a.weight_at(now, l.half_life_days)),
            last_seen: at(a.last),
        })
        .collect();
    let total: f32 = p.hours.iter().sum();
    let hours = p
        .hours
        .iter()
        .map(|h| if total > 0.0 { round4(h / total) } else { 0.0 })
        .collect();
    let ttl = policy.travel.session_ttl_secs;
    Ok(ApiJson(ProfileResponse {
        user: user.clone(),
        logins: p.logins,
        first_seen: at(p.first_seen),
        learning: p.logins < l.learning_logins,
        usual_places,
        countries,
        networks,
        devices: p
            .devices
            .iter()
            .filter(|d| known(&p.devices, d.key, now, l).is_some())
            .count(),
        clients: p
            .clients
            .iter()
            .filter(|c| known(&p.clients, c.key, now, l).is_some())
            .count(),
        hours,
        last_success: p.last_success.map(|ls| LastLoginDto {
            ts: at(ls.ts),
            place: catalog.get(ls.place).map(LocationDto::from),
        }),
        open_sessions: p
            .sessions
            .iter()
            .filter(|s| now.secs() - s.last as i64 <= ttl)
            .count(),
        attribution: AttributionDto::default(),
    }))
}

#[cfg(test)]
mod tests {
    use warden_core::{Decision, FailureReason, Level, Outcome, Protocol, ReasonCode};

    use super::*;

    fn event(outcome: Outcome, user_agent: Option<&str>) -> LoginEvent {
        LoginEvent {
            id: Some(7),
            ts: Timestamp(1_772_330_400),
            user: "bob@acme.test".into(),
            ip: "113.88.1.10".parse().unwrap(),
            protocol: Protocol::Smtp,
            outcome,
            device: None,
            user_agent: user_agent.map(str::to_string),
            country: None,
            region: None,
            city: None,
            asn: None,
            decision: Decision::Challenge,
            risk: 0.6,
            level: Level::Medium,
            alert: true,
            reasons: vec![ReasonCode::UnusualCountry],
            auth_reason: None,
        }
    }

    #[test]
    fn history_names_the_client_and_the_failure_as_diagnosis_does() {
        let ua = r#"("name" "Thunderbird" "version" "115.3")"#;
        let e = event(Outcome::Failure(FailureReason::ChallengeFailed), Some(ua));
        let v = serde_json::to_value(event_dto(e)).unwrap();
        assert_eq!(v["client"], "Thunderbird 115.3", "{v}");
        assert_eq!(v["user_agent"], ua, "{v}");
        assert_eq!(v["failure_reason"], "verification_required", "{v}");
        assert_eq!(v["verify_reason"], "verification_required", "{v}");

        // Warden's own credential check stored the reason: it wins.
        let mut e = event(Outcome::Failure(FailureReason::Other), None);
        e.auth_reason = Some(warden_core::VerifyReason::AppPasswordRequired);
        let v = serde_json::to_value(event_dto(e)).unwrap();
        assert_eq!(v["failure_reason"], "other", "{v}");
        assert_eq!(v["verify_reason"], "app_password_required", "{v}");
        assert_eq!(v["client"], serde_json::Value::Null, "{v}");

        let v =
            serde_json::to_value(event_dto(event(Outcome::Success, Some("curl/8.5.0")))).unwrap();
        assert_eq!(v["verify_reason"], serde_json::Value::Null, "{v}");
        assert_eq!(v["client"], "curl 8.5.0", "{v}");
    }
}
