//! The mail servers' adapters, together: Dovecot's auth policy (an HTTP
//! route), the Postfix policy delegation server (its own TCP protocol), and
//! the checkpassword interface's protocol (fd 3 in, exit codes and reply
//! environment out) that `warden checkpassword` speaks. Each parses its
//! protocol, calls the pipeline and words the answer.

pub mod checkpassword;
pub mod dovecot;
pub mod postfix;
