//! The release path: reproducible chart archives, the HTTP repository index,
//! OCI publishing, chart-testing on kind, and the git hook.

pub mod archive;
pub mod cluster;
pub mod ct;
pub mod hooks;
pub mod image_owner;
pub mod index;
pub mod package;
pub mod provenance;
pub mod publish;
pub mod published_deps;
