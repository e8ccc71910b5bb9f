//! "Was this you?": the links in a user's alert, what each answer does,
//! and the admins' queue of location complaints.
//!
//! - [`links`]: one signed, expiring token per alert; the page address.
//! - [`act`]: [`Service::answer_alert`](crate::Service::answer_alert) (a
//!   link's token) and [`Service::answer_alert_id`](crate::Service::answer_alert_id)
//!   (an admin or webmail for the user): "yes, it was me" confirms the
//!   login, "no, it wasn't me" revokes the account's sessions and codes,
//!   demands a new password, blocks the source and raises a critical alert,
//!   "the location is wrong" queues the address for the admins.
//! - [`blocks`]: the sources users disowned, refused for their account at
//!   every entry point (kept in memory, loaded from the store once).
//! - [`queue`]: the admins' list, accept (a geolocation correction) and
//!   reject of the queued complaints.
//! - [`review`]: the facts an admin reviewing an alert needs (usual places
//!   and networks, the network's kind, other users behind the address,
//!   earlier answers).
//!
//! The store takes an answer once
//! ([`warden_store::AlertStore::answer_alert`]): a second use, even racing,
//! changes nothing.

pub mod act;
pub mod blocks;
pub mod links;
pub mod queue;
pub mod review;

pub use act::{AnswerError, Answered, MAX_COMMENT_CHARS};
pub use blocks::SourceBlocks;
pub use links::{AnswerSettings, LinkError, DEFAULT_LINK_TTL_SECS, MAX_TOKEN_LEN};
pub use review::AlertReview;
