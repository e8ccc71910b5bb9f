//! Turning SQLite rows back into values. Every column is checked; a value
//! that does not decode becomes [`StoreError::Corrupt`] naming the table, the
//! row and the column.

use std::net::IpAddr;

use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{Decode, Row, Type};
use warden_core::{Coords, Country, GeoCorrection, Location, Name, Timestamp, VerifyReason};

use crate::codec::{parse_flag, parse_outcome, parse_reasons, BadValue};
use crate::error::{CorruptionSource, StoreError};
use crate::model::{LoginEvent, ProfileSnapshot};

/// Reads columns of one row, attributing failures to the row.
struct Cols<'r> {
    row: &'r SqliteRow,
    table: &'static str,
    key: String,
}

impl<'r> Cols<'r> {
    fn new(row: &'r SqliteRow, table: &'static str) -> Self {
        Cols {
            row,
            table,
            key: "?".to_string(),
        }
    }

    fn corrupt(&self, column: &'static str, source: impl Into<CorruptionSource>) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            key: self.key.clone(),
            column,
            source: source.into(),
        }
    }

    /// The raw column value, type-checked by the driver.
    fn get<T>(&self, column: &'static str) -> Result<T, StoreError>
    where
        T: Decode<'r, Sqlite> + Type<Sqlite>,
    {
        self.row
            .try_get::<T, _>(column)
            .map_err(|e| self.corrupt(column, e))
    }

    /// The column value run through `parse`.
    fn parse<S, T, E>(
        &self,
        column: &'static str,
        parse: impl FnOnce(S) -> Result<T, E>,
    ) -> Result<T, StoreError>
    where
        S: Decode<'r, Sqlite> + Type<Sqlite>,
        E: Into<CorruptionSource>,
    {
        let raw = self.get::<S>(column)?;
        parse(raw).map_err(|e| self.corrupt(column, e))
    }

    /// A nullable column run through `parse` when not NULL.
    fn parse_opt<S, T, E>(
        &self,
        column: &'static str,
        parse: impl FnOnce(S) -> Result<T, E>,
    ) -> Result<Option<T>, StoreError>
    where
        S: Decode<'r, Sqlite> + Type<Sqlite>,
        E: Into<CorruptionSource>,
    {
        match self.get::<Option<S>>(column)? {
            Some(raw) => parse(raw).map(Some).map_err(|e| self.corrupt(column, e)),
            None => Ok(None),
        }
    }

    fn name(&self, column: &'static str) -> Result<Option<Name>, StoreError> {
        Ok(self.get::<Option<String>>(column)?.map(Name::from))
    }
}

fn country(text: String) -> Result<Country, warden_core::InvalidCountry> {
    Country::new(&text)
}

/// Decodes one `login_events` row (columns as in `sql::event_columns!`).
pub(crate) fn login_event(row: &SqliteRow) -> Result<LoginEvent, StoreError> {
    let mut cols = Cols::new(row, "login_events");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(LoginEvent {
        id: Some(id),
        ts: Timestamp(cols.get("ts")?),
        user: cols.get("user_name")?,
        ip: cols.parse("ip", |s: String| s.parse::<IpAddr>())?,
        protocol: cols.parse("protocol", |s: String| s.parse())?,
        outcome: cols.parse("outcome", |s: String| parse_outcome(&s))?,
        device: cols.get("device")?,
        user_agent: cols.get("user_agent")?,
        country: cols.parse_opt("country", country)?,
        region: cols.get("region")?,
        city: cols.get("city")?,
        asn: cols.parse_opt("asn", |v: i64| u32::try_from(v))?,
        decision: cols.parse("decision", |s: String| s.parse())?,
        risk: cols.get::<f64>("risk")? as f32,
        level: cols.parse("risk_level", |s: String| s.parse())?,
        alert: cols.parse("alert", parse_flag)?,
        reasons: cols.parse("reasons", |s: String| parse_reasons(&s))?,
        auth_reason: cols.parse_opt("auth_reason", |s: String| s.parse::<VerifyReason>())?,
    })
}

/// Decodes one `profiles` row.
pub(crate) fn profile(row: &SqliteRow) -> Result<ProfileSnapshot, StoreError> {
    let mut cols = Cols::new(row, "profiles");
    let user: String = cols.get("user_name")?;
    cols.key.clone_from(&user);
    Ok(ProfileSnapshot {
        blob: cols.get("snapshot")?,
        updated_at: Timestamp(cols.get("updated_at")?),
        through_event: cols.get("through_event")?,
        user,
    })
}

/// Decodes one `geo_corrections` row.
pub(crate) fn correction(row: &SqliteRow) -> Result<GeoCorrection, StoreError> {
    let mut cols = Cols::new(row, "geo_corrections");
    let network_text: String = cols.get("network")?;
    cols.key.clone_from(&network_text);
    let network = network_text
        .parse::<ipnet::IpNet>()
        .map_err(|e| cols.corrupt("network", e))?;

    let lat: Option<f64> = cols.get("lat")?;
    let lon: Option<f64> = cols.get("lon")?;
    let coords = match (lat, lon) {
        (Some(lat), Some(lon)) => Some(Coords {
            lat: lat as f32,
            lon: lon as f32,
        }),
        (None, None) => None,
        (lat, lon) => {
            let found = format!("lat {lat:?}, lon {lon:?}");
            return Err(cols.corrupt(
                if lat.is_none() { "lat" } else { "lon" },
                BadValue {
                    expected: "lat and lon both set or both NULL",
                    found,
                },
            ));
        }
    };

    let location = Location {
        country: cols.parse_opt("country", country)?,
        region: cols.name("region")?,
        city: cols.name("city")?,
        city_zh: cols.name("city_zh")?,
        region_zh: cols.name("region_zh")?,
        coords,
        accuracy_km: cols.parse_opt("accuracy_km", |v: i64| u16::try_from(v))?,
        time_zone: cols.name("time_zone")?,
    };
    Ok(GeoCorrection {
        network,
        location,
        note: cols.get("note")?,
        created_at: Timestamp(cols.get("created_at")?),
    })
}

// ------------------------------------------------------ accounts' tables

use warden_core::{Account, AppPassword, Org, SecurityEvent, TotpEnrolment, WebSession};

use crate::codec::{parse_digest, parse_protocols, parse_wire_name, step_from_db};

fn ip(text: String) -> Result<IpAddr, std::net::AddrParseError> {
    text.parse()
}

fn wire<T: std::str::FromStr + std::fmt::Display>(text: String) -> Result<T, BadValue> {
    parse_wire_name(&text)
}

impl Cols<'_> {
    fn time(&self, column: &'static str) -> Result<Timestamp, StoreError> {
        self.get(column).map(Timestamp)
    }

    fn time_opt(&self, column: &'static str) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.get::<Option<i64>>(column)?.map(Timestamp))
    }
}

/// Decodes one `orgs` row (columns as in `sql_accounts::org_columns!`).
pub(crate) fn org(row: &SqliteRow) -> Result<Org, StoreError> {
    let mut cols = Cols::new(row, "orgs");
    let name: String = cols.get("name")?;
    cols.key.clone_from(&name);
    Ok(Org {
        name: Name::from(name),
        display_name: cols.get("display_name")?,
        two_factor: cols.parse("two_factor", wire)?,
        app_passwords_required: cols.parse("app_passwords_required", parse_flag)?,
        created_at: cols.time("created_at")?,
        updated_at: cols.time("updated_at")?,
    })
}

/// Decodes one `accounts` row (columns as in
/// `sql_accounts::account_columns!`).
pub(crate) fn account(row: &SqliteRow) -> Result<Account, StoreError> {
    let mut cols = Cols::new(row, "accounts");
    let user: String = cols.get("user_name")?;
    cols.key.clone_from(&user);
    Ok(Account {
        user: Name::from(user),
        org: Name::from(cols.get::<String>("org")?),
        display_name: cols.get("display_name")?,
        email: cols.get("email")?,
        phone: cols.get("phone")?,
        role: cols.parse("role", wire)?,
        status: cols.parse("status", wire)?,
        status_reason: cols.get("status_reason")?,
        password_hash: cols.get("password_hash")?,
        password_changed_at: cols.time_opt("password_changed_at")?,
        must_change_password: cols.parse("must_change_password", parse_flag)?,
        two_factor_changed_at: cols.time_opt("two_factor_changed_at")?,
        lang: cols.parse_opt("lang", wire)?,
        created_at: cols.time("created_at")?,
        updated_at: cols.time("updated_at")?,
    })
}

/// Decodes one `password_history` row: the hash.
pub(crate) fn password_hash(row: &SqliteRow) -> Result<String, StoreError> {
    let mut cols = Cols::new(row, "password_history");
    cols.key = cols.get("user_name")?;
    cols.get("hash")
}

/// Decodes one `app_passwords` row (columns as in
/// `sql_accounts::app_password_columns!`).
pub(crate) fn app_password(row: &SqliteRow) -> Result<AppPassword, StoreError> {
    let mut cols = Cols::new(row, "app_passwords");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(AppPassword {
        id,
        user: Name::from(cols.get::<String>("user_name")?),
        name: cols.get("name")?,
        digest: cols.parse("digest", parse_digest)?,
        protocols: cols.parse("protocols", parse_protocols)?,
        created_at: cols.time("created_at")?,
        last_used_at: cols.time_opt("last_used_at")?,
        last_used_ip: cols.parse_opt("last_used_ip", ip)?,
        expires_at: cols.time_opt("expires_at")?,
        revoked_at: cols.time_opt("revoked_at")?,
    })
}

/// Decodes one `totp` row (columns as in `sql_accounts::totp_columns!`).
pub(crate) fn totp(row: &SqliteRow) -> Result<TotpEnrolment, StoreError> {
    let mut cols = Cols::new(row, "totp");
    let user: String = cols.get("user_name")?;
    cols.key.clone_from(&user);
    Ok(TotpEnrolment {
        user: Name::from(user),
        sealed_secret: cols.get("sealed_secret")?,
        created_at: cols.time("created_at")?,
        confirmed_at: cols.time_opt("confirmed_at")?,
        last_step: cols.parse_opt("last_step", step_from_db)?,
    })
}

/// Decodes one `web_sessions` row (columns as in
/// `sql_accounts::session_columns!`). The row is named by its user: the
/// digest identifies a live token and stays out of error messages.
pub(crate) fn web_session(row: &SqliteRow) -> Result<WebSession, StoreError> {
    let mut cols = Cols::new(row, "web_sessions");
    let user: String = cols.get("user_name")?;
    cols.key.clone_from(&user);
    Ok(WebSession {
        digest: cols.parse("digest", parse_digest)?,
        user: Name::from(user),
        created_at: cols.time("created_at")?,
        expires_at: cols.time("expires_at")?,
        ip: cols.parse("ip", ip)?,
        user_agent: cols.get("user_agent")?,
        revoked_at: cols.time_opt("revoked_at")?,
    })
}

/// Decodes one `security_events` row (columns as in
/// `sql_accounts::security_event_columns!`).
pub(crate) fn security_event(row: &SqliteRow) -> Result<SecurityEvent, StoreError> {
    let mut cols = Cols::new(row, "security_events");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(SecurityEvent {
        id,
        ts: cols.time("ts")?,
        user: Name::from(cols.get::<String>("user_name")?),
        kind: cols.parse("kind", wire)?,
        actor: cols.get("actor")?,
        ip: cols.parse_opt("ip", ip)?,
        detail: cols.get("detail")?,
    })
}

/// Decodes one `alerts` row (columns as in `sql_alerts::alert_columns!`).
pub(crate) fn alert(row: &SqliteRow) -> Result<warden_core::Alert, StoreError> {
    let mut cols = Cols::new(row, "alerts");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(warden_core::Alert {
        id,
        kind: cols.parse("kind", wire)?,
        grade: cols.parse("grade", wire)?,
        state: cols.parse("state", wire)?,
        user: cols.name("user_name")?,
        created_at: cols.time("created_at")?,
        ts: cols.time("ts")?,
        last_ts: cols.time("last_ts")?,
        count: cols.parse("count", |v: i64| u32::try_from(v))?,
        dedupe_key: cols.get("dedupe_key")?,
        notify_user: cols.parse("notify_user", parse_flag)?,
        notify_admins: cols.parse("notify_admins", parse_flag)?,
        ip: cols.parse_opt("ip", ip)?,
        country: cols.parse_opt("country", country)?,
        region: cols.get("region")?,
        city: cols.get("city")?,
        asn: cols.parse_opt("asn", |v: i64| u32::try_from(v))?,
        isp: cols.get("isp")?,
        device: cols.get("device")?,
        client: cols.get("client")?,
        protocol: cols.parse_opt("protocol", |s: String| s.parse())?,
        decision: cols.parse_opt("decision", |s: String| s.parse())?,
        succeeded: cols.parse("succeeded", parse_flag)?,
        reasons: cols.parse("reasons", |s: String| parse_reasons(&s))?,
        event_id: cols.get("event_id")?,
        answer: cols.parse_opt("answer", wire)?,
        answered_at: cols.time_opt("answered_at")?,
        answered_ip: cols.parse_opt("answered_ip", ip)?,
        note: cols.get("note")?,
    })
}

/// Decodes one `deliveries` row (columns as in `sql_notify`).
pub(crate) fn delivery(row: &SqliteRow) -> Result<warden_core::Delivery, StoreError> {
    let mut cols = Cols::new(row, "deliveries");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(warden_core::Delivery {
        id,
        alert_id: cols.get("alert_id")?,
        audience: cols.parse("audience", wire)?,
        channel: cols.get("channel")?,
        recipient: cols.get("recipient")?,
        state: cols.parse("state", wire)?,
        attempts: cols.parse("attempts", |v: i64| u32::try_from(v))?,
        next_at: cols.time("next_at")?,
        last_error: cols.get("last_error")?,
        created_at: cols.time("created_at")?,
        sent_at: cols.time_opt("sent_at")?,
    })
}

/// Decodes one `alert_templates` row.
pub(crate) fn template(row: &SqliteRow) -> Result<crate::templates::StoredTemplate, StoreError> {
    let mut cols = Cols::new(row, "alert_templates");
    let name: String = cols.get("name")?;
    cols.key.clone_from(&name);
    Ok(crate::templates::StoredTemplate {
        name,
        lang: cols.parse("lang", wire)?,
        body: cols.get("body")?,
        updated_at: cols.time("updated_at")?,
        updated_by: cols.get("updated_by")?,
    })
}

/// Decodes one `source_blocks` row.
pub(crate) fn source_block(row: &SqliteRow) -> Result<warden_core::SourceBlock, StoreError> {
    let mut cols = Cols::new(row, "source_blocks");
    let user: String = cols.get("user_name")?;
    cols.key.clone_from(&user);
    Ok(warden_core::SourceBlock {
        user: Name::from(user),
        network: cols.parse("network", |s: String| s.parse::<ipnet::IpNet>())?,
        alert_id: cols.get("alert_id")?,
        created_at: cols.time("created_at")?,
    })
}

/// Decodes one `correction_requests` row (columns as in
/// `sql_answers::correction_columns!`).
pub(crate) fn queued_correction(
    row: &SqliteRow,
) -> Result<warden_core::QueuedCorrection, StoreError> {
    let mut cols = Cols::new(row, "correction_requests");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(warden_core::QueuedCorrection {
        id,
        alert_id: cols.get("alert_id")?,
        user: Name::from(cols.get::<String>("user_name")?),
        ip: cols.parse("ip", ip)?,
        country: cols.parse_opt("country", country)?,
        region: cols.get("region")?,
        city: cols.get("city")?,
        comment: cols.get("comment")?,
        state: cols.parse("state", wire)?,
        created_at: cols.time("created_at")?,
        decided_at: cols.time_opt("decided_at")?,
        decided_by: cols.get("decided_by")?,
    })
}

/// Decodes one `policy_versions` row (columns as in
/// `sql_policies::policy_columns!`).
pub(crate) fn policy_version(
    row: &SqliteRow,
) -> Result<warden_core::scoped::PolicyVersion, StoreError> {
    use super::policies::{hours_of, rules_of};
    let mut cols = Cols::new(row, "policy_versions");
    let scope: String = cols.get("scope")?;
    let target: String = cols.get("target")?;
    let version: i64 = cols.get("version")?;
    cols.key = format!("{scope} {target} v{version}");
    let mut rules = rules_of(
        cols.get("allowlist")?,
        cols.get("geo_allow")?,
        cols.get("geo_block")?,
        cols.get("protocols")?,
    )
    .map_err(|e| cols.corrupt("allowlist, geo_allow, geo_block or protocols", e))?;
    rules.tls_required = cols.parse_opt("tls_required", parse_flag)?;
    rules.hours = hours_of(
        cols.get("hours_days")?,
        cols.get("hours_from")?,
        cols.get("hours_to")?,
        cols.get("hours_offset")?,
    )
    .map_err(|e| cols.corrupt("hours_days", e))?;
    rules.login_protection = cols.parse_opt("login_protection", wire)?;
    rules.new_device_approval = cols.parse_opt("new_device_approval", parse_flag)?;
    rules.step_up_minutes = cols.parse_opt("step_up_minutes", |v: i64| u32::try_from(v))?;
    Ok(warden_core::scoped::PolicyVersion {
        scope: wire(scope).map_err(|e| cols.corrupt("scope", e))?,
        target: Name::from(target),
        version: u32::try_from(version).map_err(|e| cols.corrupt("version", e))?,
        name: cols.get("name")?,
        mode: cols.parse("mode", wire)?,
        rules,
        removed: cols.parse("removed", parse_flag)?,
        actor: cols.get("actor")?,
        ip: cols.parse_opt("ip", ip)?,
        comment: cols.get("comment")?,
        created_at: cols.time("created_at")?,
        restored_from: cols.parse_opt("restored_from", |v: i64| u32::try_from(v))?,
    })
}

/// Decodes one `device_sessions` row (columns as in
/// `sql_sessions::session_columns!`).
pub(crate) fn device_session(row: &SqliteRow) -> Result<warden_core::DeviceSession, StoreError> {
    let mut cols = Cols::new(row, "device_sessions");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(warden_core::DeviceSession {
        id,
        user: Name::from(cols.get::<String>("user_name")?),
        device: cols.get("device")?,
        client: cols.get("client")?,
        os: cols.get("os")?,
        protocol: cols.parse("protocol", |s: String| s.parse())?,
        ip: cols.parse("ip", ip)?,
        country: cols.parse_opt("country", country)?,
        city: cols.get("city")?,
        first_seen: cols.time("first_seen")?,
        last_seen: cols.time("last_seen")?,
        state: cols.parse("state", wire)?,
        state_at: cols.time("state_at")?,
        state_by: cols.get("state_by")?,
        trusted_until: cols.time_opt("trusted_until")?,
    })
}

/// Decodes one `sensitive_operations` row (columns as in
/// `sql_operations::operation_columns!`).
pub(crate) fn operation(row: &SqliteRow) -> Result<warden_core::Operation, StoreError> {
    let mut cols = Cols::new(row, "sensitive_operations");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(warden_core::Operation {
        id,
        user: Name::from(cols.get::<String>("user_name")?),
        kind: cols.parse("kind", wire)?,
        ts: cols.time("ts")?,
        received_at: cols.time("received_at")?,
        ip: cols.parse_opt("ip", ip)?,
        source: cols.get("source")?,
        report_id: cols.get("report_id")?,
        target: cols.get("target")?,
        external: cols.parse("external", parse_flag)?,
        detail: cols.get("detail")?,
        grade: cols.parse("grade", wire)?,
        reasons: cols.parse("reasons", |s: String| {
            s.split(',')
                .filter(|r| !r.is_empty())
                .map(parse_wire_name)
                .collect::<Result<Vec<_>, _>>()
        })?,
        login_event_id: cols.get("login_event_id")?,
        alert_id: cols.get("alert_id")?,
    })
}

/// One `audit_log` row. The hashes must parse; every other column is read
/// as it is, altered or not — the verifier tells.
pub(crate) fn audit_record(row: &SqliteRow) -> Result<warden_audit::AuditRecord, StoreError> {
    let mut cols = Cols::new(row, "audit_log");
    let seq: i64 = cols.get("seq")?;
    cols.key = seq.to_string();
    let digest = |s: String| warden_audit::Digest::from_hex(&s);
    Ok(warden_audit::AuditRecord {
        seq: seq as u64,
        prev: cols.parse("prev_hash", digest)?,
        hash: cols.parse("hash", digest)?,
        entry: warden_audit::AuditEntry {
            at: cols.time("at")?,
            kind: cols.get("kind")?,
            actor: cols.get("actor")?,
            user: cols.get("user_name")?,
            ip: cols.get("ip")?,
            subject: cols.get("subject")?,
            incident: cols.get("incident_id")?,
            detail: crate::codec::decode_audit_detail(&cols.get::<String>("detail")?),
        },
    })
}

/// One `audit_checkpoints` row.
pub(crate) fn checkpoint(row: &SqliteRow) -> Result<warden_audit::Checkpoint, StoreError> {
    let mut cols = Cols::new(row, "audit_checkpoints");
    let seq: i64 = cols.get("seq")?;
    cols.key = seq.to_string();
    Ok(warden_audit::Checkpoint {
        seq: seq as u64,
        hash: cols.parse("hash", |s: String| warden_audit::Digest::from_hex(&s))?,
        at: cols.time("at")?,
        signature: cols.parse("signature", |s: String| {
            warden_audit::Checkpoint::signature_from_hex(&s)
        })?,
    })
}

/// One `incidents` row (columns as in `sql_incidents::incident_columns!`).
pub(crate) fn incident(row: &SqliteRow) -> Result<warden_core::incident::Incident, StoreError> {
    use warden_core::incident::{Incident, Trigger};
    let mut cols = Cols::new(row, "incidents");
    let id: i64 = cols.get("id")?;
    cols.key = id.to_string();
    Ok(Incident {
        id,
        grade: cols.parse("grade", wire)?,
        status: cols.parse("status", wire)?,
        title: cols.get("title")?,
        opened_at: cols.time("opened_at")?,
        opened_by: cols.get("opened_by")?,
        trigger: Trigger {
            kind: cols.parse("trigger_kind", wire)?,
            ref_id: cols.get("trigger_ref")?,
            at: cols.time("opened_at")?,
        },
        user: cols.name("user_name")?,
        assignee: cols.get("assignee")?,
        first_risky_at: cols.time_opt("first_risky_at")?,
        contained_at: cols.time_opt("contained_at")?,
        eradicated_at: cols.time_opt("eradicated_at")?,
        recovered_at: cols.time_opt("recovered_at")?,
        closed_at: cols.time_opt("closed_at")?,
    })
}

/// The incident's grade and user of an overdue-step row.
pub(crate) fn incident_grade_user(
    row: &SqliteRow,
) -> Result<(warden_core::incident::IncidentGrade, Option<String>), StoreError> {
    let mut cols = Cols::new(row, "incidents");
    cols.key = cols.get::<i64>("incident_id")?.to_string();
    Ok((cols.parse("grade", wire)?, cols.get("user_name")?))
}

/// One `incident_affected` row.
pub(crate) fn incident_affected(
    id: i64,
    row: &SqliteRow,
) -> Result<warden_core::incident::Affected, StoreError> {
    let mut cols = Cols::new(row, "incident_affected");
    cols.key = id.to_string();
    Ok(warden_core::incident::Affected {
        kind: cols.parse("kind", wire)?,
        value: cols.get("value")?,
        added_at: cols.time("added_at")?,
        added_by: cols.get("added_by")?,
    })
}

/// One `incident_triggers` row.
pub(crate) fn incident_trigger(
    id: i64,
    row: &SqliteRow,
) -> Result<warden_core::incident::Trigger, StoreError> {
    let mut cols = Cols::new(row, "incident_triggers");
    cols.key = id.to_string();
    Ok(warden_core::incident::Trigger {
        kind: cols.parse("kind", wire)?,
        ref_id: cols.get("ref_id")?,
        at: cols.time("at")?,
    })
}

/// One `incident_steps` row (columns as in `sql_incidents::step_columns!`).
pub(crate) fn incident_step(
    row: &SqliteRow,
) -> Result<warden_core::incident::IncidentStep, StoreError> {
    use warden_core::incident::{ActionKind, IncidentStep, StepKind};
    let mut cols = Cols::new(row, "incident_steps");
    let id: i64 = cols.get("incident_id")?;
    let step: String = cols.get("step")?;
    cols.key = format!("{id}/{step}");
    let checklist: String = cols.get("checklist")?;
    let kind = cols.parse("kind", |k: String| -> Result<StepKind, BadValue> {
        match k.strip_prefix("action:") {
            Some(a) => parse_wire_name::<ActionKind>(a).map(StepKind::Action),
            None if k == "manual" => Ok(StepKind::Manual {
                checklist: checklist
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            }),
            None => parse_wire_name::<ActionKind>(&k).map(StepKind::Action),
        }
    })?;
    Ok(IncidentStep {
        step,
        position: cols.parse("position", |p: i64| u32::try_from(p))?,
        title_en: cols.get("title_en")?,
        title_zh: cols.get("title_zh")?,
        owner: cols.get("owner")?,
        kind,
        due_at: cols.time("due_at")?,
        done_at: cols.time_opt("done_at")?,
        done_by: cols.get("done_by")?,
        note: cols.get("note")?,
        result: cols.get("result")?,
        overdue_alerted_at: cols.time_opt("overdue_alerted_at")?,
    })
}
