//! The conformance suite: the behaviour every backend of the store must
//! show, written once against the [`Store`](warden_store::Store) and
//! [`AccountStore`](warden_store::AccountStore) traits (a
//! [`Backend`]) and run once per backend.
//!
//! - A case is a `pub async fn <name><F: Fixture>(fixture: &F)` in
//!   `store.rs` (events, profiles, corrections), `writer.rs` (the batch
//!   writer over the backend) or `accounts.rs` (accounts and credentials);
//!   `data.rs` holds the rows they write. Every case is listed once in
//!   [`conformance_tests!`]: a case missing from the list is dead code,
//!   which `cargo clippy -- -D warnings` refuses.
//! - A [`Fixture`] makes fresh, migrated, empty databases of one backend,
//!   each isolated from every other test (tests run in parallel processes),
//!   and does the few things a case needs behind the store's back: a second
//!   handle on the same database, a portable raw statement, a refused
//!   insert.
//! - A runner expands `conformance_tests!(<fixture expression>)` in a module
//!   of its own: one `#[tokio::test]` per case, so nextest lists and runs
//!   each case by name (`sqlite::conformance::<case>`), in parallel.
//!
//! # Plugging in a backend
//!
//! For PostgreSQL, say: add `tests/postgres/mod.rs` (declared in
//! `tests/store.rs`) with a `PgFixture` implementing [`Fixture`] (a
//! database or schema of its own per fixture value, dropped with it; never
//! a fixed shared one) and the runner line
//!
//! ```ignore
//! mod conformance {
//!     crate::conformance::conformance_tests!(super::PgFixture::new().await);
//! }
//! ```
//!
//! The backend must pass every case unchanged. What only one backend has
//! (files and directories, pragmas, WAL, its own committer, its migrations
//! table, rows damaged through its column types) is tested next to its
//! fixture (`tests/sqlite/`), not here.

pub mod accounts;
pub mod alerts;
pub mod answers;
pub mod audit;
pub mod data;
pub mod deliveries;
pub mod incidents;
pub mod operations;
pub mod policies;
pub mod reports;
pub mod sessions;
pub mod store;
pub mod writer;

use warden_store::{Backend, StoreError};

/// One backend under test: makes its databases and reaches behind the
/// store's back where a case needs to. One fixture value serves one test
/// (the runner makes a new one per case); whatever it creates must not be
/// seen by any other test and should disappear with it.
pub trait Fixture {
    /// The backend: both [`Store`](warden_store::Store) and
    /// [`AccountStore`](warden_store::AccountStore).
    type B: Backend;

    /// Whether [`Store::sync_appender`](warden_store::Store::sync_appender)
    /// gives the group-commit thread a committer of its own (SQLite's
    /// file store does; a backend without one is driven through
    /// `Store::append` on the runtime).
    const SYNC_APPENDER: bool;

    /// A new, empty, migrated database that no other test sees.
    async fn fresh(&self) -> Self::B;

    /// Another handle on the database of `backend`, with connections of its
    /// own, as a second process would open it (not migrated). Works after
    /// [`close`](Fixture::close) too.
    async fn reopen(&self, backend: &Self::B) -> Self::B;

    /// Closes every connection of this handle; the data stays.
    async fn close(&self, backend: &Self::B);

    /// Runs `sql` on a connection of its own to `backend`'s database, behind
    /// the store's back. Cases pass only portable statements.
    async fn exec(&self, backend: &Self::B, sql: &str);

    /// From now on every `INSERT` into `table` fails, and the error's text
    /// contains `refused` (a trigger in SQLite and PostgreSQL alike).
    async fn refuse_inserts(&self, backend: &Self::B, table: &str);

    /// Undoes [`refuse_inserts`](Fixture::refuse_inserts) for `table`.
    async fn allow_inserts(&self, backend: &Self::B, table: &str);

    /// Whether `cause` is what the batch writer reports as the cause of a
    /// group commit whose statements failed (SQLite: its appender's
    /// `StoreError::Sqlite { op: "append", .. }`).
    fn is_append_failure(&self, cause: &StoreError) -> bool;
}

/// Expands to one `#[tokio::test]` per conformance case, each running the
/// case with a fixture made by `$fixture` (evaluated inside the test, so it
/// may `.await`). Use it in a module of its own per backend.
macro_rules! conformance_tests {
    ($fixture:expr) => {
        $crate::conformance::conformance_tests! { @cases $fixture;
            // -------------------------------------------- events & profiles
            [] store::migrating_again_keeps_the_data;
            [] store::history_is_newest_first_pages_with_before_and_keeps_users_apart;
            [] store::cursor_paging_never_skips_events_sharing_a_timestamp;
            [] store::history_limit_is_capped;
            [] store::every_field_round_trips;
            [] store::event_ids_from_the_caller_are_ignored;
            [] store::prune_deletes_only_old_events_and_counts_them;
            [] store::prune_of_many_rows_works_across_chunks;
            [] store::profiles_upsert_last_in_batch_wins_and_survive_reopen;
            [] store::a_failure_late_in_a_batch_rolls_back_its_events_and_the_store_recovers;
            // -------------------------------------------------- corrections
            [] store::corrections_round_trip_every_field;
            [] store::correction_networks_are_stored_canonically;
            // ------------------------------------------------- batch writer
            [flavor = "multi_thread", worker_threads = 4]
                writer::batch_writer_acknowledges_concurrent_writes_and_groups_them;
            [flavor = "multi_thread", worker_threads = 2]
                writer::close_drains_queued_writes_and_refuses_new_ones;
            [flavor = "multi_thread", worker_threads = 2] writer::a_full_queue_ends_the_linger;
            [] writer::flush_waits_for_earlier_writes;
            [flavor = "multi_thread", worker_threads = 2]
                writer::snapshots_record_the_last_event_before_them_and_a_complete_flush_moves_the_mark;
            [flavor = "multi_thread", worker_threads = 2]
                writer::a_failed_batch_reports_the_error_to_every_caller;
            // ------------------------------------------------------- alerts
            [] alerts::alerts_round_trip_every_field;
            [] answers::source_blocks_are_kept_once_per_account_and_network;
            [] answers::a_queued_correction_round_trips_pages_and_is_decided_once;
            [] answers::who_else_logs_in_from_an_address_and_what_a_user_answered_before;
            [flavor = "multi_thread", worker_threads = 4]
                alerts::an_answer_is_taken_once_even_by_racing_requests;
            // --------------------------------------------------- deliveries
            [] deliveries::fan_out_writes_deliveries_with_the_mark_and_a_stale_mark_writes_nothing;
            [flavor = "multi_thread", worker_threads = 4]
                deliveries::racing_fan_outs_write_each_alert_once;
            [] deliveries::deliveries_are_due_sent_retried_and_given_up_conditionally;
            [] deliveries::templates_round_trip_replace_and_reset;
            [] deliveries::a_resend_request_is_fanned_out_once_and_a_newer_request_waits;
            [] alerts::the_alert_worker_reads_every_outcome_after_its_mark;
            [] alerts::alerts_folds_and_the_mark_commit_together_once;
            [] alerts::a_failed_alert_batch_moves_no_mark;
            [] alerts::admins_filter_page_acknowledge_close_and_resend_alerts;
            [] alerts::alerts_past_the_retention_are_pruned_unless_referred_to;
            // ------------------------------------------------------ reports
            [] reports::report_aggregations_count_the_period_group_and_bucket;
            [] reports::location_alerts_are_counted_by_week_and_answer;
            [] reports::adoption_counts_confirmed_totp_and_live_codes;
            // ----------------------------------------------------- policies
            [] policies::policy_versions_round_trip_every_field_and_follow_the_newest;
            [] policies::a_users_groups_are_replaced_whole_and_accounts_name_their_org;
            [] policies::logins_since_page_back_by_id_within_the_window;
            // ------------------------------------------- sessions & devices
            [] sessions::sessions_are_refreshed_by_device_keep_their_state_and_are_trimmed;
            [] sessions::pending_devices_are_bounded_and_state_changes_are_conditional;
            [] sessions::old_sessions_are_pruned_unless_trusted;
            // ------------------------------------------- sensitive operations
            [] operations::operations_round_trip_with_the_alert_they_raised;
            [] operations::a_report_sent_twice_is_stored_once;
            [] operations::a_failed_operation_leaves_no_alert;
            [] operations::operations_list_by_user_kind_grade_and_time_newest_first_in_pages;
            [] operations::operations_past_the_retention_are_pruned_and_outlive_their_alert;
            // ------------------------------------------------------ audit log
            [] audit::audit_records_round_trip_and_verify;
            [] audit::an_audit_append_must_follow_the_head;
            [] audit::audit_lists_filter_and_page_newest_first;
            [] audit::audit_pruning_goes_through_a_checkpoint_which_stays_the_head;
            // ------------------------------------------------------ incidents
            [] incidents::incidents_round_trip_with_steps_affected_triggers_and_review;
            [] incidents::an_open_incident_of_the_user_takes_new_triggers_instead_of_a_second_one;
            [] incidents::status_changes_are_conditional_and_closing_needs_the_review;
            [] incidents::a_step_completes_once_and_overdue_steps_are_alerted_once;
            [] incidents::incident_lists_filter_and_page_newest_first;
            // ----------------------------------------------------- accounts
            [] accounts::orgs_round_trip_upsert_and_list_by_name;
            [] accounts::accounts_round_trip_every_field_and_replace_changes_every_field;
            [] accounts::accounts_list_by_name_after_a_cursor_within_an_org_and_capped;
            [] accounts::creating_an_existing_account_conflicts_and_replacing_a_missing_one_is_not_found;
            [] accounts::a_write_without_an_account_acts_on_the_user_its_events_name;
            [] accounts::bulk_import_is_all_or_nothing_and_names_the_first_existing_user;
            [] accounts::an_account_write_is_rolled_back_whole_when_its_last_part_fails;
            [] accounts::password_history_keeps_only_the_newest_entries;
            [] accounts::app_passwords_round_trip_and_are_found_by_digest;
            [] accounts::revoking_one_code_needs_a_live_code_of_that_user;
            [] accounts::revoking_all_codes_and_sessions_touches_only_live_ones_of_that_user;
            [] accounts::totp_round_trips_and_steps_are_used_once_in_increasing_order;
            [flavor = "multi_thread", worker_threads = 8]
                accounts::of_concurrent_logins_with_the_same_step_exactly_one_wins;
            [] accounts::recovery_codes_are_single_use_and_replaced_whole;
            [] accounts::sessions_round_trip_by_digest;
            [] accounts::security_events_round_trip_newest_first_and_capped;
            [] accounts::deleting_an_account_removes_its_credentials_and_keeps_its_history;
            [] accounts::two_factor_users_are_the_confirmed_enrolments_in_the_range;
            [] accounts::totp_users_are_every_sealed_secret_and_meta_values_round_trip;
            [] accounts::accounts_survive_reopening_and_migrating_again;
        }
    };
    (@cases $fixture:expr; $( [$($runtime:tt)*] $module:ident :: $case:ident; )*) => {
        $(
            #[tokio::test($($runtime)*)]
            async fn $case() {
                let fixture = $fixture;
                $crate::conformance::$module::$case(&fixture).await;
            }
        )*
    };
}

pub(crate) use conformance_tests;
