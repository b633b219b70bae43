//! A small, synchronous Docker Engine API client used by the in-sandbox agent to probe a dockerd.
//!
//! The module owns three things: a minimal HTTP/1.1 client over a unix socket ([`http`]), the few
//! Engine API calls the agent needs ([`api`]), and an in-memory `docker save` tarball builder for a
//! single static binary ([`image`]), so a probe never needs a registry. It must not spawn or supervise
//! daemons (that is `process/`), classify failures (that is `classify`), or ever pull an image.

pub mod api;
pub mod http;
pub mod image;
