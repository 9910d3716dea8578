//! The outbound-network policy: which addresses a request to a caller-named URL may reach.
//!
//! # The threat
//! Callers name the URLs we fetch (a supplier file, a gRPC request, a guest module), and some
//! callers are hostile. Without a policy, a URL is a way into places only the host can reach
//! (server-side request forgery): its own loopback services, the cloud metadata service at
//! `169.254.169.254` (which hands out credentials), the private networks it sits in. Checking
//! the URL's host name is not enough: a name can resolve to a public address when checked
//! and to `127.0.0.1` a moment later when connecting (DNS rebinding), and an address has
//! many spellings (`2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`, `64:ff9b::7f00:1`).
//!
//! # The design
//! Only globally reachable unicast addresses are admitted, plus the networks an operator
//! names in the allow list ([`OutboundPolicy::from_allow_list`]). The check is made on the
//! addresses actually connected to, by the three doors a request can take:
//! - host names, at connect time: [`OutboundPolicy::resolver`] is the reqwest resolver, and it
//!   returns only admitted addresses, so there is no gap between check and use to rebind in;
//! - IP-literal hosts, which reqwest connects to without asking the resolver: callers must
//!   call [`OutboundPolicy::check_url`] before sending each request;
//! - redirects, which the client does not follow by itself: callers check each hop with
//!   [`OutboundPolicy::check_redirect`], which also refuses https → http and says when
//!   credentials must be dropped.
//!
//! [`OutboundPolicy::client_builder`] sets up reqwest accordingly (no proxy, no automatic
//! redirects, the policy's resolver). A refusal is a [`Refusal`] naming the [`Rule`] broken;
//! [`find_refusal`] digs it out of a reqwest error.

mod allow_list;
mod classify;
mod policy;
mod refusal;
mod resolver;
mod rule;

pub use allow_list::PolicyError;
pub use policy::{CrossOrigin, OutboundPolicy};
pub use refusal::{Refusal, find_refusal};
pub use rule::Rule;
