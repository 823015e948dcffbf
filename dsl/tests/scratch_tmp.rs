use doudi_dsl::parse::parse_file;
#[test]
fn scratch() {
    let n: usize = std::env::var("N").unwrap().parse().unwrap();
    let mb: usize = std::env::var("MB").unwrap().parse().unwrap();
    let t = std::thread::Builder::new().stack_size(mb<<20).spawn(move || {
        let text = format!("definition person.x: bool = {}a{}", "(".repeat(n), ")".repeat(n));
        let (_, d) = parse_file(0, &text);
        println!("n={n} mb={mb}: {:?}", d.first().map(|d| (&d.message, &d.notes)));
    }).unwrap();
    t.join().unwrap();
}
