//! The image contract's model and adapters:
//!
//! - [`reference`] and [`lock`]: image references and `images.lock.yaml` (model, pure);
//! - [`registry`]: the adapter speaking the OCI distribution API;
//! - [`update`]: `--update`'s text edits and atomic writes.
//!
//! `cargo xtask images` (render → resolve → compare → report or write) is
//! [`crate::image_contract`]; the rules on rendered containers are `checks::image`,
//! which `cargo xtask lint` runs offline against the committed lock.

pub mod lock;
pub mod reference;
pub mod registry;
pub mod update;
