//! Typed models of a chart's files, independent of how they were read.

/// Chart.yaml on the target branch (`--changed`, or charts named explicitly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    /// What the chart was compared with (`origin/main`).
    pub base: String,
    /// `version` there; `None` when the chart is new on this branch.
    pub version: Option<String>,
}
