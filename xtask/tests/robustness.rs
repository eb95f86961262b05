//! The fuzz targets' entry points (`nex_harness::robustness`) on stable: every seed
//! (the real charts' values and schemas, the hardening corpus, the regression
//! inputs in tests/fixtures/fuzz-regressions) and a bounded number of
//! deterministic mutations of them. A panic fails the test and prints the input.

use nex_harness::robustness::{Rng, docs_markers, manifest_splitter, mutate, values_validator, yaml_loader};
use std::path::{Path, PathBuf};

/// Mutations per seed; small enough to keep `cargo test` quick.
const ROUNDS: usize = 12;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn files_named(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && wanted(&e.file_name().to_string_lossy()))
        .map(|e| e.into_path())
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() < 64 * 1024))
        .collect();
    out.sort();
    out
}

fn yaml_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for dir in [root().join("charts"), root().join("xtask/tests/fixtures/hardening")] {
        // Values, ci and Chart.yaml files: what the loader reads (templates are Go text).
        for f in files_named(&dir, &|n| n == "Chart.yaml" || n.ends_with("values.yaml")) {
            seeds.push(std::fs::read(f).unwrap());
        }
    }
    seeds.extend(regressions("yaml"));
    seeds
}

fn regressions(kind: &str) -> Vec<Vec<u8>> {
    files_named(&root().join("xtask/tests/fixtures/fuzz-regressions").join(kind), &|_| true)
        .into_iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect()
}

fn run(name: &str, input: &[u8], f: fn(&[u8])) {
    if std::panic::catch_unwind(|| f(input)).is_err() {
        panic!("{name} panicked on input {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn yaml_loader_survives_mutated_inputs() {
    let seeds = yaml_seeds();
    assert!(seeds.len() >= 20, "only {} seeds", seeds.len());
    let mut rng = Rng::new(0x5eed_0001);
    for seed in &seeds {
        run("yaml_loader", seed, yaml_loader);
        for _ in 0..ROUNDS {
            run("yaml_loader", &mutate(&mut rng, seed), yaml_loader);
        }
    }
}

#[test]
fn values_validator_survives_mutated_inputs() {
    // Seeds: each application chart's schema with its values and first ci file.
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for schema in files_named(&root().join("charts"), &|n| n == "values.schema.json")
        .into_iter()
        .chain(files_named(&root().join("xtask/tests/fixtures/hardening"), &|n| n == "values.schema.json"))
    {
        let dir = schema.parent().unwrap();
        let values = std::fs::read_to_string(dir.join("values.yaml")).unwrap_or_default();
        let ci = files_named(&dir.join("ci"), &|n| n.ends_with("-values.yaml"));
        let ci = ci.first().map(|f| std::fs::read_to_string(f).unwrap_or_default()).unwrap_or_default();
        let schema = std::fs::read_to_string(&schema).unwrap_or_default();
        seeds.push(format!("{schema}\0{values}\0{ci}").into_bytes());
    }
    seeds.extend(regressions("values"));
    assert!(seeds.len() >= 10, "only {} seeds", seeds.len());
    let mut rng = Rng::new(0x5eed_0002);
    for seed in &seeds {
        run("values_validator", seed, values_validator);
        // Mutate one part at a time, so most inputs keep a usable schema.
        let parts: Vec<&[u8]> = seed.split(|b| *b == 0).collect();
        for round in 0..ROUNDS / 2 {
            let which = round % parts.len();
            let mut pieces: Vec<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
            pieces[which] = mutate(&mut rng, parts[which]);
            run("values_validator", &pieces.join(&0u8), values_validator);
        }
    }
}

#[test]
fn docs_markers_survive_mutated_inputs() {
    // Seeds: every README with a forged description beside it, plus marker soup.
    use nex_harness::docs::{CATALOG_END, CATALOG_START, MANUAL_END, MANUAL_START};
    let forged = format!("| x | {CATALOG_END} |\n{MANUAL_START}\n{MANUAL_END}\n{CATALOG_START}\n");
    let mut seeds: Vec<Vec<u8>> = files_named(&root(), &|n| n == "README.md")
        .into_iter()
        .filter(|p| !p.starts_with(root().join("target")))
        .map(|f| format!("{}\0{forged}", std::fs::read_to_string(f).unwrap()).into_bytes())
        .collect();
    for soup in [
        format!("{CATALOG_START}\n{CATALOG_END}\n{CATALOG_END}\n\0{forged}"),
        format!("a\n{MANUAL_START}\nb\n{MANUAL_END}\nc {MANUAL_START}\n\0x"),
        format!("{CATALOG_END}\r\n{CATALOG_START}\r\n\0"),
    ] {
        seeds.push(soup.into_bytes());
    }
    seeds.extend(regressions("docs"));
    assert!(seeds.len() >= 10, "only {} seeds", seeds.len());
    let mut rng = Rng::new(0x5eed_0003);
    for seed in &seeds {
        run("docs_markers", seed, docs_markers);
        for _ in 0..ROUNDS {
            run("docs_markers", &mutate(&mut rng, seed), docs_markers);
        }
    }
}

#[test]
fn manifest_splitter_survives_mutated_inputs() {
    // Seeds: the real charts' rendered snapshots, and a List stream.
    let mut seeds: Vec<Vec<u8>> = files_named(&root().join("charts"), &|n| n.ends_with(".snap"))
        .into_iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    seeds.push(b"---\n# Source: a/templates/l.yaml\nkind: List\nitems:\n  - {kind: PodList, items: [{kind: Pod, metadata: {name: p}}]}\n  - null\n---\nkind: A\n".to_vec());
    seeds.extend(regressions("manifest"));
    assert!(seeds.len() >= 10, "only {} seeds", seeds.len());
    let mut rng = Rng::new(0x5eed_0004);
    for seed in &seeds {
        run("manifest_splitter", seed, manifest_splitter);
        for _ in 0..ROUNDS {
            run("manifest_splitter", &mutate(&mut rng, seed), manifest_splitter);
        }
    }
}
