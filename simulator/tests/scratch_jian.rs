use doudi_simulator::population::generate;
use doudi_simulator::spec::PopulationSpec;
#[test]
fn jian_report() {
    let (spec, warnings) = PopulationSpec::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/populations/jian.toml")).unwrap();
    for w in &warnings { println!("{w}"); }
    let dir = tempfile::tempdir().unwrap();
    let n: usize = std::env::var("N").ok().and_then(|s| s.parse().ok()).unwrap_or(20000);
    let r = generate(&spec, n, 7, dir.path()).unwrap();
    println!("{r}");
    if let Ok(keep) = std::env::var("KEEP") { std::fs::copy(dir.path().join("households.csv"), format!("{keep}/households.csv")).unwrap(); std::fs::copy(dir.path().join("persons.csv"), format!("{keep}/persons.csv")).unwrap(); }
}
