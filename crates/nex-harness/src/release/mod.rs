//! The release path: reproducible chart archives, the HTTP repository index,
//! OCI publishing, the repository settings a release needs (`doctor`),
//! chart-testing on kind, and the git hook.

// Chart archives are a base format (dependencies are packed with it too); kept under this name.
pub use crate::archive;
pub mod cluster;
pub mod ct;
pub mod doctor;
pub mod hooks;
pub mod image_owner;
pub mod index;
pub mod package;
pub mod provenance;
pub mod publish;
pub mod published_deps;
