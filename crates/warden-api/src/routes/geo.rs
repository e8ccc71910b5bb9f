//! IP lookups and the admins' geolocation corrections, which win over the
//! database from the moment they are stored.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use ipnet::IpNet;
use warden_core::{Coords, Country, GeoCorrection, Location};
use warden_store::Backend;

// `Path` is the API's own: its rejections are JSON errors.
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;
use crate::types::schema::IpPath;
use crate::types::{
    rfc3339, CorrectionDto, CorrectionRequest, CorrectionsResponse, DeleteCorrectionParams,
    IpInfoDto, LocationDto,
};

/// What Warden knows about an address.
#[utoipa::path(
    get,
    path = "/v1/geo/{ip}",
    tag = "geo",
    params(IpPath),
    responses(
        (status = 200, description = "Location and network", body = IpInfoDto),
        (status = 400, description = "Not an IP address", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn lookup<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(ip): Path<String>,
) -> Result<ApiJson<IpInfoDto>, ApiError> {
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| ApiError::bad(format!("{ip:?} is not an IPv4 or IPv6 address")))?;
    Ok(ApiJson(IpInfoDto::from(&state.intel.lookup(ip))))
}

fn to_dto(c: &GeoCorrection) -> CorrectionDto {
    let l = LocationDto::from(&c.location);
    CorrectionDto {
        network: c.network.to_string(),
        country: l.country.unwrap_or_default(),
        region: l.region,
        region_zh: l.region_zh,
        city: l.city,
        city_zh: l.city_zh,
        latitude: l.latitude,
        longitude: l.longitude,
        accuracy_km: l.accuracy_km,
        time_zone: l.time_zone,
        note: c.note.clone(),
        created_at: rfc3339(c.created_at),
    }
}

fn parse_net(v: &str) -> Result<IpNet, ApiError> {
    let v = v.trim();
    v.parse::<IpNet>()
        .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| {
            ApiError::bad(format!(
                "network: {v:?} is not a CIDR such as 113.88.0.0/16"
            ))
        })
}

/// The longest place name a correction may give.
const MAX_PLACE_CHARS: usize = 100;
/// The longest note.
const MAX_NOTE_CHARS: usize = 1000;

pub(crate) fn from_dto(
    d: CorrectionRequest,
    now: warden_core::Timestamp,
) -> Result<GeoCorrection, ApiError> {
    let network = parse_net(&d.network)?;
    let country = Country::new(&d.country).map_err(|e| ApiError::bad(format!("country: {e}")))?;
    let coords = match (d.latitude, d.longitude) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(ApiError::bad(
                    "latitude must be within ±90 and longitude within ±180",
                ));
            }
            Some(Coords { lat, lon })
        }
        (None, None) => None,
        _ => return Err(ApiError::bad("latitude and longitude go together")),
    };
    // The names reach the texts users see ("Login from Lagos, NG"): no
    // line breaks, NULs, bidirectional overrides or other hidden characters,
    // and a bounded length.
    let text = |field: &str, v: Option<String>, max: usize| -> Result<Option<String>, ApiError> {
        let Some(v) = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if warden_core::text::has_hidden(&v) {
            return Err(ApiError::bad(format!(
                "{field} must not contain control characters or invisible formatting characters"
            )));
        }
        if v.chars().count() > max {
            return Err(ApiError::bad(format!(
                "{field} is longer than {max} characters"
            )));
        }
        Ok(Some(v))
    };
    let name =
        |field: &str, v: Option<String>| text(field, v, MAX_PLACE_CHARS).map(|v| v.map(Into::into));
    Ok(GeoCorrection {
        network,
        location: Location {
            country: Some(country),
            region: name("region", d.region)?,
            region_zh: name("region_zh", d.region_zh)?,
            city: name("city", d.city)?,
            city_zh: name("city_zh", d.city_zh)?,
            coords,
            accuracy_km: d.accuracy_km,
            time_zone: name("time_zone", d.time_zone)?,
        },
        note: text("note", d.note, MAX_NOTE_CHARS)?,
        created_at: now,
    })
}

/// Every geolocation correction.
#[utoipa::path(
    get,
    path = "/v1/geo/corrections",
    tag = "geo",
    responses(
        (status = 200, description = "All corrections", body = CorrectionsResponse),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_corrections<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> Result<ApiJson<CorrectionsResponse>, ApiError> {
    let all = state.corrections().await?;
    Ok(ApiJson(CorrectionsResponse {
        corrections: all.iter().map(to_dto).collect(),
    }))
}

/// Adds or replaces the correction for a network; effective immediately.
#[utoipa::path(
    post,
    path = "/v1/geo/corrections",
    tag = "geo",
    request_body = CorrectionRequest,
    responses(
        (status = 200, description = "Stored; the answer holds the stored correction", body = CorrectionDto),
        (status = 400, description = "Invalid correction", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn put_correction<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(dto): ApiJson<CorrectionRequest>,
) -> Result<ApiJson<CorrectionDto>, ApiError> {
    let c = from_dto(dto, state.now())?;
    state.put_correction(&c).await?;
    Ok(ApiJson(to_dto(&c)))
}

/// Deletes the correction for a network.
#[utoipa::path(
    delete,
    path = "/v1/geo/corrections",
    tag = "geo",
    params(DeleteCorrectionParams),
    responses(
        (status = 200, description = "Deleted", body = CorrectionsResponse),
        (status = 400, description = "Not a CIDR", body = crate::error::ErrorBody),
        (status = 404, description = "No such correction", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_correction<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(p): ApiQuery<DeleteCorrectionParams>,
) -> Result<ApiJson<CorrectionsResponse>, ApiError> {
    let net = parse_net(&p.network)?;
    let all = state.delete_correction(&net).await?;
    Ok(ApiJson(CorrectionsResponse {
        corrections: all.iter().map(to_dto).collect(),
    }))
}
