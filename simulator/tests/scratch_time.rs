#[test]
fn time_1m() {
    let (spec, _) = doudi_simulator::spec::PopulationSpec::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/populations/jian.toml")).unwrap();
    let out = std::path::Path::new("/tmp/jian1m");
    let t = std::time::Instant::now();
    let r = doudi_simulator::population::generate(&spec, 1_000_000, 1, out).unwrap();
    println!("{r}\nwall {:.2}s", t.elapsed().as_secs_f64());
}
